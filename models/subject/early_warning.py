"""The facade the stream calls once per re-scoring: features, score, learn, in one call.

:class:`EarlyWarning` holds the two online models of a worker, both River
logistic regressions over the features of :mod:`creditbrain.models.features`
(already in [0, 1], so no scaler), taught with labels that mature later in event
time (:class:`.DelayedLabels`):

* the **deterioration score**, which feeds ``anomalous_deterioration``: by default
  the anomaly score of River's half-space trees over the features of any
  accumulation of trouble and its excess over peers (:data:`DETECTOR_FEATURES`),
  given only for trouble that has persisted (:data:`PERSISTENCE`); with
  ``detector=False`` the probability of a red event within 270 days of a third
  logistic regression, which learns either way. On the held-out kinds of decline
  the trees recall five times as many declines as that regression at a similar
  precision (docs/models.md);
* the **predictor**: the probability of a red event within 90 days, which feeds
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

from creditbrain.alerts.policy import PolicySet
from creditbrain.models.explain import Contribution, explain
from creditbrain.models.features import FEATURE_NAMES, FeatureState, is_red, sparse_features
from creditbrain.schemas.state import EntityState, Record, ScoreResult

from .delayed import DelayedLabels, example_weight

__all__ = [
    "DETECTOR_FEATURES",
    "DETECTOR_THRESHOLD",
    "PERSISTENCE",
    "EarlyWarning",
    "Opinion",
    "new_detector",
]

#: What the opt-in detector sees: any accumulation of trouble, and its excess over peers.
DETECTOR_FEATURES = (
    "peer_excess",
    "trouble_weighted",
    "trouble_90d",
    "relapses",
    "penalty_accel",
    "judgment_accel",
    "arrears_accel",
    "listing_accel",
)
#: Its threshold: the 90th percentile of its scores on tuning seed 2 (0.888), rounded
#: down (docs/models.md).
DETECTOR_THRESHOLD = 0.88
#: The detector speaks only of trouble that persists: reported in at least this share
#: of the last six months (``trouble_months``; 3 of 6). A burst of trouble that stops
#: (a false start, a subject turning round) scores 0 however unusual it is; on the
#: tuning seeds this halved the false alarms at the same recall (docs/models.md).
PERSISTENCE = 0.5

#: ``(deterioration_score, default_probability)``; ``None`` where a model has no opinion yet.
Opinion = tuple[float | None, float | None]


class EarlyWarning:
    """Deterioration score and red-event probability of every subject transition.

    Parameters
    ----------
    feature_states
        Subject id -> :class:`~creditbrain.models.features.FeatureState`, kept by
        the caller (a dict by default).
    seed
        Kept in checkpoints and logs; the models themselves draw no random numbers.
    learning_rate
        SGD step of both logistic regressions.
    horizon_days
        Horizon of the predicted red event (DOMAIN.md's rule: 90 days).
    trajectory_days
        Horizon of the deterioration score's red event: long enough to see a slide
        in its first months, when the rules cannot yet.
    min_positives, min_examples
        Labelled examples (positive, all) a model learns before it gives an opinion.
    clean_stride
        Only one in this many transitions of subjects without deductions is learned
        (weighted accordingly).
    detector
        The deterioration score is the anomaly score of River's half-space trees
        over :data:`DETECTOR_FEATURES` (0 for a transition without recent trouble, or
        whose trouble has not persisted for :data:`PERSISTENCE` of the last six
        months); ``anomalous_deterioration`` wants :data:`DETECTOR_THRESHOLD` of it by
        default. ``False``: the 270-day regression's probability instead (its rule
        then wants about 0.6: :func:`creditbrain.engine.evaluation.regression_policies`).
        The 270-day regression learns either way.

    Examples
    --------
    >>> from creditbrain.schemas.events import SubjectType
    >>> model = EarlyWarning(min_examples=1, min_positives=1)
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
        learning_rate: float = 0.05,
        horizon_days: int = 90,
        trajectory_days: int = 270,
        min_positives: int = 20,
        min_examples: int = 1000,
        clean_stride: int = 8,
        detector: bool = True,
    ) -> None:
        self.feature_states: MutableMapping[str, FeatureState] = (
            {} if feature_states is None else feature_states
        )
        self.seed = seed
        self.learning_rate = learning_rate
        self.horizon_days = horizon_days
        self.trajectory_days = trajectory_days
        self.min_positives = min_positives
        self.min_examples = min_examples
        self.clean_stride = clean_stride
        # The features are in [0, 1] already: a scaler would double the cost for nothing.
        self._predictor = DelayedLabels(
            linear_model.LogisticRegression(optimizer=optim.SGD(learning_rate)),
            FEATURE_NAMES,
            horizon_days,
            clean_stride=clean_stride,
        )
        self._trajectory = DelayedLabels(
            linear_model.LogisticRegression(optimizer=optim.SGD(learning_rate)),
            FEATURE_NAMES,
            trajectory_days,
            clean_stride=clean_stride,
        )
        self._detector: anomaly.HalfSpaceTrees | None = new_detector(seed) if detector else None

    def observe(
        self,
        state: EntityState,
        result: ScoreResult,
        at_ms: int,
        record: Record | None = None,
        *,
        policies: PolicySet | None = None,
    ) -> Opinion:
        """Score the re-scoring of ``state`` as ``result`` at ``at_ms``, then learn from it.

        Call once per re-scoring, in event-time order per subject (``at_ms`` as in
        :meth:`~creditbrain.alerts.Transition.of`); ``record`` is the causing
        event's record, ``None`` for a publicity expiry. ``policies`` are the warning
        policies in force (``None``: the defaults): whether ``record`` is a red event,
        the label both models learn, is theirs for the subject's sector and district
        (:func:`~creditbrain.models.features.is_red`). Returns the deterioration
        score (for ``anomalous_deterioration``) and the probability of a red event
        within ``horizon_days`` (for ``predicted_serious_default``).
        """
        subject_id = state.subject_id
        feature_states = self.feature_states
        # Zero features change neither a logistic regression's output nor its update, so
        # only the non-zero ones are built; the same dict is scored and queued by both.
        x, feature_states[subject_id] = sparse_features(
            state, result, at_ms, feature_states.get(subject_id)
        )
        red_at = (
            record.occurred_at if record is not None and is_red(record, state, policies) else None
        )
        trouble = x.get("trouble_weighted", 0.0)
        if trouble:
            _peer_excess(x, self.__dict__.setdefault("_peers", {}), state, trouble)
        self._last_x = x
        weight = example_weight(subject_id, at_ms, "deductions" not in x, self.clean_stride)
        detector = self.__dict__.get("_detector")
        # With the trees scoring deterioration the regression only learns (its
        # prediction would go unused).
        trajectory = self._opinion(
            self._trajectory, subject_id, x, at_ms, red_at, weight, predict=detector is None
        )
        if detector is not None:
            trajectory = _detect(detector, x)
        return trajectory, self._opinion(self._predictor, subject_id, x, at_ms, red_at, weight)

    def _opinion(
        self,
        learner: DelayedLabels,
        subject_id: str,
        x: dict[str, float],
        at_ms: int,
        red_at: int | None,
        weight: float,
        *,
        predict: bool = True,
    ) -> float | None:
        """One learner's part of :meth:`observe`: note, learn what matured, score, queue."""
        if red_at is not None:
            learner.red(subject_id, red_at)
        learner.advance(at_ms)
        opinion = None
        if (
            predict
            and learner.positives >= self.min_positives
            and learner.learned >= self.min_examples
        ):
            opinion = learner.predict_proba_one(x)
        if weight:
            learner.push(subject_id, x, at_ms, weight)
        return opinion

    def explain(self, rule: str) -> list[Contribution]:
        """Why the model behind ``rule`` scored the last observed transition as it did.

        ``anomalous_deterioration`` is the deterioration score's rule, any other name
        the predictor's. The top contributions of its logistic regression
        (:func:`creditbrain.models.explain.explain`), in Chinese and English.
        """
        last: dict[str, float] = getattr(self, "_last_x", {})
        if rule == "anomalous_deterioration" and self.__dict__.get("_detector") is not None:
            # The trees have no weights: the accumulation features, largest first. A
            # transition without recent trouble (the one that resolves a warning) has
            # none; the 270-day regression, learning beside the trees, says why then.
            found = explain(dict.fromkeys((*DETECTOR_FEATURES, "trouble_months"), 1.0), last)
            if found:
                return found
        learner = self._trajectory if rule == "anomalous_deterioration" else self._predictor
        weights: dict[str, float] = getattr(learner.classifier, "weights", {})
        return explain(weights, last)

    @property
    def peers(self) -> dict[tuple[str, str], float]:
        """Sector × district -> the running mean of its subjects' weighted trouble."""
        peers: dict[tuple[str, str], float] = self.__dict__.setdefault("_peers", {})
        return peers

    @property
    def learners(self) -> dict[str, DelayedLabels]:
        """The two delayed-label learners by name (``trajectory``, ``predictor``)."""
        return {"trajectory": self._trajectory, "predictor": self._predictor}

    @property
    def learned(self) -> dict[str, Any]:
        """What the models have seen so far (for logs and the evaluation)."""
        return {
            name: {
                "examples": learner.learned,
                "positives": learner.positives,
                "pending": learner.pending,
                "dropped": learner.dropped,
            }
            for name, learner in (("trajectory", self._trajectory), ("predictor", self._predictor))
        }


#: Weight of each new transition of trouble in its cell's running mean.
_PEER_RATE = 0.02


def _peer_excess(
    x: dict[str, float], peers: dict[tuple[str, str], float], state: EntityState, trouble: float
) -> None:
    """Write ``peer_excess``: the subject's weighted trouble beyond its peers' (sector ×
    district) running mean, as a share of the room left above that mean; then update it.

    A campaign that fines a whole sector in one district raises the mean, so each of
    its subjects stands out less than one subject piling up trouble alone.
    """
    cell = (state.sector, state.district)
    mean = peers.get(cell)
    if mean is None:
        mean = peers[cell] = trouble
        return
    if trouble > mean:
        x["peer_excess"] = (trouble - mean) / (1.0 - mean) if mean < 1.0 else 0.0
    peers[cell] = mean + _PEER_RATE * (trouble - mean)


def new_detector(seed: int) -> anomaly.HalfSpaceTrees:
    """A fresh detector: 25 trees of height 8, a window of 250 transitions with trouble."""
    return anomaly.HalfSpaceTrees(n_trees=25, height=8, window_size=250, seed=seed)


def _detect(detector: anomaly.HalfSpaceTrees, x: dict[str, float]) -> float | None:
    """The detector's score of ``x``'s accumulation features (0 without any, or when the
    trouble has not persisted), then learn (from every transition with trouble).

    ``None`` (no opinion) until the trees have filled their first window of
    transitions with trouble: before it they have no reference mass to score against.
    """
    trees: Any = detector  # River's detectors are not typed
    seen = {name: x.get(name, 0.0) for name in DETECTOR_FEATURES}
    if not any(seen.values()):
        return None if _first_window(trees) else 0.0
    # Only persisting trouble is scored (the walk down 25 trees is the cost); every
    # transition with trouble is learned, so the reference mass is all of them.
    persists = x.get("trouble_months", 0.0) >= PERSISTENCE
    value = float(trees.score_one(seen)) if persists else 0.0
    trees.learn_one(seen)
    return None if _first_window(trees) else value


def _first_window(trees: Any) -> bool:
    """Whether the trees are still filling their first window (River scores 0 then)."""
    # River keeps this flag private and exposes no public equivalent.
    return bool(trees._first_window)  # noqa: SLF001
