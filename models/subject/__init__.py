"""Subject-level early warning: online models over each subject's credit transitions.

Every re-scoring of a subject becomes a feature vector
(:mod:`creditbrain.models.features`); :class:`EarlyWarning` scores it with two
logistic regressions taught online with labels that mature later in event time
(:class:`DelayedLabels`): the probability of a red event within 270 days (the
deterioration score, for ``anomalous_deterioration``) and within 90 days (for
``predicted_serious_default``), then learns from it.
:mod:`creditbrain.models.checkpoint` saves and restores it,
:mod:`creditbrain.engine.evaluation` measures it against the rules.
"""

from __future__ import annotations

from .delayed import DelayedLabels
from .early_warning import EarlyWarning, Opinion

__all__ = ["DelayedLabels", "EarlyWarning", "Opinion"]
