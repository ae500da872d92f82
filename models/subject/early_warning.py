"""The facade the stream calls once per re-scoring: features, learn, score, in one call.

:class:`EarlyWarning` holds the two online models of a worker:

* an anomaly detector, :class:`~river.anomaly.HalfSpaceTrees` on the features of
  :mod:`creditbrain.models.features` (already in [0, 1], so no scaler), one per
  sector group, whose raw score is ranked against the scores it gave before
  (:class:`.ScoreRank`): the output feeds ``anomalous_deterioration``;
* a predictor of "a red event within 90 days", a logistic regression taught with
  delayed labels (:class:`.DelayedLabels`): its probability feeds
  ``predicted_serious_default``.

Each transition is scored before it is learned, so a score never saw its own
point. Until a model has learned enough it says nothing (``None``), which the
rules read as "no opinion". Per-subject feature states (the score history) live in
a mapping the caller provides: in the worker a table with a changelog, beside the
subject's :class:`~creditbrain.schemas.state.EntityState`. The models themselves
are checkpointed with :mod:`creditbrain.models.checkpoint`.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from river import anomaly, linear_model, optim

from creditbrain.models.features import (
    FEATURE_NAMES,
    SECTOR_GROUPS,
    FeatureState,
    is_red,
    subject_features,
)
from creditbrain.schemas.state import EntityState, Record, ScoreResult

from .delayed import DelayedLabels
from .rank import ScoreRank

__all__ = ["DETERIORATION", "EarlyWarning", "Opinion"]

#: The features the anomaly detector looks at: signs of trouble only. Type and sector
#: one-hots and good news would spend the trees' few splits on what is not deterioration.
DETERIORATION = (
    *(
        f"{group}_{window}"
        for group in ("penalty", "judgment", "arrears", "listing")
        for window in ("30d", "90d")
    ),
    *("si_months", "tax_months", "wage_workers", "open_arrears", "fall_30d", "fall_90d"),
)

#: ``(anomaly_score, default_probability)``; ``None`` where a model has no opinion yet.
Opinion = tuple[float | None, float | None]


class EarlyWarning:
    """Online anomaly score and red-event probability of every subject transition.

    Parameters
    ----------
    feature_states
        Subject id -> :class:`~creditbrain.models.features.FeatureState`, kept by
        the caller (a dict by default).
    seed
        Seed of the half-space trees (one derived seed per sector group).
    n_trees, height, window_size
        Of each :class:`~river.anomaly.HalfSpaceTrees`.
    by_sector_group
        One detector per sector group (else one for all).
    anomaly_grace
        Transitions a detector learns before its scores are given.
    learning_rate
        SGD step of the logistic regression.
    horizon_days
        The predicted event's horizon; examples are learned this long after.
    min_positives, min_examples
        Labelled examples (positive, all) learned before probabilities are given.
    clean_stride
        Only one in this many transitions of subjects without deductions is learned
        by the predictor (weighted accordingly).

    Examples
    --------
    >>> from creditbrain.schemas.events import SubjectType
    >>> model = EarlyWarning(anomaly_grace=2, min_examples=1, min_positives=1)
    >>> state = EntityState("91350100M000100Y43", SubjectType.ENTERPRISE, sector="finance")
    >>> record = Record(0, "a", "penalty", "general")
    >>> state.add(record)
    >>> model.observe(state, ScoreResult(980, "A", ()), 0, record)
    (None, None)
    """

    def __init__(
        self,
        feature_states: MutableMapping[str, FeatureState] | None = None,
        *,
        seed: int = 42,
        n_trees: int = 10,
        height: int = 8,
        window_size: int = 500,
        by_sector_group: bool = False,
        anomaly_grace: int = 1000,
        learning_rate: float = 0.05,
        horizon_days: int = 90,
        min_positives: int = 20,
        min_examples: int = 1000,
        clean_stride: int = 8,
    ) -> None:
        self.feature_states: MutableMapping[str, FeatureState] = (
            {} if feature_states is None else feature_states
        )
        self.seed = seed
        self.n_trees = n_trees
        self.height = height
        self.window_size = window_size
        self.by_sector_group = by_sector_group
        self.anomaly_grace = anomaly_grace
        self.learning_rate = learning_rate
        self.horizon_days = horizon_days
        self.min_positives = min_positives
        self.min_examples = min_examples
        self.clean_stride = clean_stride
        self._detectors: dict[str, anomaly.HalfSpaceTrees] = {}
        self._ranks: dict[str, ScoreRank] = {}
        self._seen: dict[str, int] = {}
        # The features are in [0, 1] already: a scaler would double the cost for nothing.
        predictor = linear_model.LogisticRegression(optimizer=optim.SGD(learning_rate))
        self._predictor = DelayedLabels(
            predictor, FEATURE_NAMES, horizon_days, clean_stride=clean_stride
        )

    def observe(
        self, state: EntityState, result: ScoreResult, at_ms: int, record: Record | None = None
    ) -> Opinion:
        """Score the re-scoring of ``state`` as ``result`` at ``at_ms``, then learn from it.

        Call once per re-scoring, in event-time order per subject (``at_ms`` as in
        :meth:`~creditbrain.alerts.Transition.of`); ``record`` is the causing
        event's record, ``None`` for a publicity expiry.
        """
        subject_id = state.subject_id
        x, self.feature_states[subject_id] = subject_features(
            state, result, at_ms, self.feature_states.get(subject_id)
        )
        anomaly_score = self._anomaly(state.sector, x)
        predictor = self._predictor
        if record is not None and is_red(record):
            predictor.red(subject_id, record.occurred_at)
        predictor.advance(at_ms)
        probability = None
        if predictor.positives >= self.min_positives and predictor.learned >= self.min_examples:
            probability = predictor.predict_proba_one(x)
        predictor.add(subject_id, x, at_ms, clean=x["deductions"] == 0.0)
        return anomaly_score, probability

    def _anomaly(self, sector: str, x: dict[str, float]) -> float | None:
        group = SECTOR_GROUPS.get(sector, "other") if self.by_sector_group else "all"
        trees = self._detectors.get(group)
        if trees is None:
            trees = self._detectors[group] = anomaly.HalfSpaceTrees(
                n_trees=self.n_trees,
                height=self.height,
                window_size=self.window_size,
                seed=self.seed + len(self._detectors),
            )
            self._ranks[group] = ScoreRank()
            self._seen[group] = 0
        seen = self._seen[group]
        # Half-space trees score from their second window on (the first fills the reference).
        signs = {name: x[name] for name in DETERIORATION}
        # Any: River's HalfSpaceTrees is untyped.
        detector: Any = trees
        raw: float | None = detector.score_one(signs) if seen >= self.window_size else None
        detector.learn_one(signs)
        self._seen[group] = seen + 1
        if raw is None:
            return None
        ranks = self._ranks[group]
        ranks.update(raw)
        return ranks.rank(raw) if seen >= self.anomaly_grace else None

    def to_bytes(self) -> bytes:
        """A checkpoint (:func:`creditbrain.models.checkpoint.dump`)."""
        # Imported here: the checkpoint module imports this one.
        from creditbrain.models.checkpoint import dump

        data: bytes = dump(self)
        return data

    @classmethod
    def from_bytes(
        cls, data: bytes, feature_states: MutableMapping[str, FeatureState] | None = None
    ) -> EarlyWarning:
        """The model of a checkpoint (:func:`creditbrain.models.checkpoint.load`)."""
        from creditbrain.models.checkpoint import load

        model: EarlyWarning = load(data, feature_states)
        return model

    @property
    def learned(self) -> dict[str, Any]:
        """What the models have seen so far (for logs and the evaluation)."""
        predictor = self._predictor
        return {
            "detectors": dict(self._seen),
            "examples": predictor.learned,
            "positives": predictor.positives,
            "pending": predictor.pending,
            "dropped": predictor.dropped,
        }
