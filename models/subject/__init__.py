"""Subject-level early warning: online models over each subject's credit transitions.

Every re-scoring of a subject becomes a feature vector
(:mod:`creditbrain.models.features`); :class:`EarlyWarning` scores it with an
online anomaly detector (half-space trees, scores ranked into [0, 1]) and a
predictor of a red event within 90 days (logistic regression taught with labels
that mature 90 days of event time later, :class:`DelayedLabels`), then learns from
it. Its outputs feed the rules ``anomalous_deterioration`` and
``predicted_serious_default``; :mod:`creditbrain.models.checkpoint` saves and
restores it, :mod:`creditbrain.models.evaluate` measures it against the rules.
"""

from __future__ import annotations

from .delayed import DelayedLabels
from .early_warning import EarlyWarning, Opinion
from .rank import ScoreRank

__all__ = ["DelayedLabels", "EarlyWarning", "Opinion", "ScoreRank"]
