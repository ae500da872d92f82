"""The early-warning models: delayed labels, checkpoints, River conformance."""

from __future__ import annotations

import copy
import gc
import pickle
import random

import pytest
from river import linear_model

from creditbrain.alerts.policy import PolicySet
from creditbrain.core.eventtime import DAY_MS
from creditbrain.models.checkpoint import CHECKPOINT_FORMAT, MAGIC, CheckpointError, dump, load
from creditbrain.models.features import FEATURE_NAMES, FeatureState, is_red, subject_features
from creditbrain.models.scorecard import DEFAULT_SCORECARD, evaluate
from creditbrain.models.subject import DelayedLabels, EarlyWarning
from creditbrain.models.subject.early_warning import _peer_excess
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import EntityState, Record, ScoreResult

KINDS = (
    ("penalty", "general", None),
    ("social_insurance_arrears", None, 3),
    ("tax_arrears", None, 4),
    ("commendation", "city", None),
    ("license", None, None),
    ("wage_arrears", None, 12),
    ("dishonest_debtor", None, None),
)


def transitions(seed: int, subjects: int = 60, events: int = 1500) -> list[tuple[str, Record]]:
    """A reproducible stream of (subject, record) in event-time order."""
    rng = random.Random(seed)
    out = []
    for index in range(events):
        subject = f"S{rng.randrange(subjects):03d}"
        weights = (5, 2, 2, 2, 10, 0.3, 0.3)
        kind, label, quantity = rng.choices(KINDS, weights)[0]
        record = Record(index * DAY_MS // 4, f"e{index}", kind, label, 1_000, quantity)
        out.append((subject, record))
    return out


def replay(model: EarlyWarning, stream: list[tuple[str, Record]], states: dict[str, EntityState]):
    outputs = []
    for subject, record in stream:
        state = states.setdefault(subject, EntityState(subject, SubjectType.ENTERPRISE))
        state.sector = "finance"
        state.add(record)
        at = record.occurred_at
        outputs.append(model.observe(state, evaluate(state, at, DEFAULT_SCORECARD), at, record))
    return outputs


def small_model(detector: bool = True) -> EarlyWarning:
    return EarlyWarning(
        horizon_days=30,
        trajectory_days=60,
        min_examples=50,
        min_positives=3,
        clean_stride=2,
        detector=detector,
    )


def test_delayed_labels_learn_only_after_the_horizon_of_event_time() -> None:
    learner = DelayedLabels(linear_model.LogisticRegression(), ("a",), horizon_days=90)
    learner.add("s", {"a": 1.0}, 0)
    learner.add("t", {"a": 0.0}, 0)
    learner.red("s", 90 * DAY_MS)  # within (0, 90 days]: positive
    learner.red("t", 91 * DAY_MS)  # after the horizon: negative
    assert learner.advance(90 * DAY_MS) == 0
    assert learner.pending == 2
    assert learner.advance(90 * DAY_MS + 1) == 2
    assert (learner.learned, learner.positives, learner.pending) == (2, 1, 0)


def test_a_red_event_at_the_example_itself_is_not_its_label() -> None:
    learner = DelayedLabels(linear_model.LogisticRegression(), ("a",), horizon_days=1)
    learner.add("s", {"a": 1.0}, 5)
    learner.red("s", 5)
    learner.advance(5 + DAY_MS + 1)
    assert learner.positives == 0


def test_clean_examples_are_sampled_deterministically_and_weighted() -> None:
    picks = []
    for _ in range(2):
        learner = DelayedLabels(linear_model.LogisticRegression(), ("a",), 1, clean_stride=4)
        for at in range(400):
            learner.add(f"s{at}", {"a": 0.0}, at, clean=True)
        picks.append(learner.pending)
    assert picks[0] == picks[1]
    assert 50 < picks[0] < 150  # about one in four


def test_the_pending_queue_is_bounded() -> None:
    learner = DelayedLabels(linear_model.LogisticRegression(), ("a",), 1, max_pending=3)
    for at in range(10):
        learner.add("dirty", {"a": 1.0}, at)
    assert (learner.pending, learner.dropped) == (3, 7)


def test_models_are_cold_then_give_scores_in_the_unit_interval() -> None:
    outputs = replay(small_model(), transitions(1), {})
    assert outputs[0] == (None, None)
    anomalies = [a for a, _ in outputs if a is not None]
    probabilities = [p for _, p in outputs if p is not None]
    assert anomalies and probabilities
    assert all(0.0 <= value <= 1.0 for value in anomalies + probabilities)


def test_a_restored_checkpoint_gives_identical_outputs() -> None:
    stream = transitions(2)
    first, rest = stream[:900], stream[900:]
    model, states = small_model(), {}
    replay(model, first, states)
    features = {
        key: FeatureState.from_json(fs.to_json()) for key, fs in model.feature_states.items()
    }
    restored = load(dump(model), features)
    twin_states = copy.deepcopy(states)
    assert replay(restored, rest, twin_states) == replay(model, rest, states)


def test_checkpoints_are_checked() -> None:
    with pytest.raises(CheckpointError):
        load(b"nonsense")
    with pytest.raises(CheckpointError):
        load(dump(EarlyWarning())[:4] + b"\x09" + b"rest")


# --- conformance, as river/checks does for River's own estimators --------------------------


def test_conformance_clone_pickle_input_unchanged_and_seeded_runs_identical() -> None:
    stream = transitions(3, events=600)
    a, b = small_model(), small_model()
    assert replay(a, stream, {}) == replay(b, stream, {})
    assert pickle.loads(pickle.dumps(a)).learned == a.learned
    learner = DelayedLabels(linear_model.LogisticRegression(), FEATURE_NAMES)
    twin = learner.__class__(learner.classifier.clone(), learner.feature_names)
    assert twin.feature_names == learner.feature_names and twin.learned == 0


def test_observe_does_not_change_the_state_or_the_result() -> None:
    model = small_model()
    state = EntityState("S", SubjectType.ENTERPRISE, sector="finance")
    state.add(Record(0, "a", "penalty", "general"))
    result = evaluate(state, 0, DEFAULT_SCORECARD)
    before = (state.to_json(), result)
    model.observe(state, result, 0, state.records[0])
    assert (state.to_json(), result) == before


def test_delayed_learning_leaves_x_unchanged() -> None:
    learner = DelayedLabels(linear_model.LogisticRegression(), ("a", "b"), horizon_days=1)
    x = {"b": 0.5, "a": 1.0}
    learner.add("s", x, 0)
    learner.advance(2 * DAY_MS)
    assert x == {"b": 0.5, "a": 1.0}
    assert learner.predict_proba_one(x) == learner.predict_proba_one({"a": 1.0, "b": 0.5})


def test_sparse_examples_teach_the_same_model_as_dense_ones() -> None:
    dense = DelayedLabels(linear_model.LogisticRegression(), ("a", "b"), horizon_days=1)
    sparse = DelayedLabels(linear_model.LogisticRegression(), ("a", "b"), horizon_days=1)
    for at in range(50):
        x = {"a": float(at % 2), "b": 0.0 if at % 3 else 0.5}
        dense.add(f"s{at % 5}", x, at * DAY_MS)
        sparse.add(f"s{at % 5}", {k: v for k, v in x.items() if v}, at * DAY_MS)
        if at % 7 == 0:
            dense.red(f"s{at % 5}", at * DAY_MS + 1)
            sparse.red(f"s{at % 5}", at * DAY_MS + 1)
    dense.advance(60 * DAY_MS)
    sparse.advance(60 * DAY_MS)
    assert dense.positives == sparse.positives > 0
    assert dense.predict_proba_one({"a": 1.0, "b": 0.5}) == sparse.predict_proba_one(
        {"a": 1.0, "b": 0.5}
    )


def test_a_slide_raises_the_deterioration_score_above_a_clean_subject() -> None:
    """After learning slides that end red, a new slide scores higher than a quiet subject."""
    # The 270-day regression's score (the detector's, the default, is tested in
    # test_explanations.py): it learns either way and scores with detector=False.
    model = EarlyWarning(min_examples=20, min_positives=2, clean_stride=1, detector=False)
    states: dict[str, EntityState] = {}
    at = 0

    def event(subject: str, record: Record) -> tuple[float | None, float | None]:
        state = states.setdefault(subject, EntityState(subject, SubjectType.ENTERPRISE))
        state.add(record)
        return model.observe(
            state,
            evaluate(state, record.occurred_at, DEFAULT_SCORECARD),
            record.occurred_at,
            record,
        )

    for round_ in range(12):
        start = round_ * 40 * DAY_MS
        slide, quiet = f"slide{round_}", f"quiet{round_}"
        for month in range(1, 4):
            at = start + (month - 1) * 30 * DAY_MS
            event(
                slide,
                Record(
                    at,
                    f"{slide}si{month}",
                    "social_insurance_arrears",
                    amount_cny=1_000.0 * month,
                    quantity=month,
                ),
            )
            event(
                slide,
                Record(
                    at + DAY_MS,
                    f"{slide}tax{month}",
                    "tax_arrears",
                    amount_cny=5_000.0 * month,
                    quantity=month,
                ),
            )
            event(quiet, Record(at, f"{quiet}lic{month}", "license"))
        event(slide, Record(start + 150 * DAY_MS, f"{slide}dd", "dishonest_debtor"))
    late = at + 400 * DAY_MS
    slide_score, _ = event(
        "new-slide", Record(late, "n1", "social_insurance_arrears", amount_cny=2_000.0, quantity=2)
    )
    slide_score, _ = event(
        "new-slide", Record(late + DAY_MS, "n2", "tax_arrears", amount_cny=9_000.0, quantity=2)
    )
    quiet_score, _ = event("new-quiet", Record(late, "n3", "license"))
    assert slide_score is not None and quiet_score is not None
    assert slide_score > quiet_score


# --- the fast path learns and says exactly what the plain one does ------------------------


class PlainEarlyWarning:
    """``observe`` done the plain way: all features built, each learner filtering its copy."""

    def __init__(self, model: EarlyWarning) -> None:
        self.model = model

    def observe(
        self, state: EntityState, result: ScoreResult, at: int, record: Record | None
    ) -> tuple[float | None, float | None]:
        model = self.model
        subject = state.subject_id
        x, model.feature_states[subject] = subject_features(
            state, result, at, model.feature_states.get(subject)
        )
        if x["trouble_weighted"]:
            _peer_excess(x, model.peers, state, x["trouble_weighted"])
        red_at = record.occurred_at if record is not None and is_red(record) else None
        sparse = {name: value for name, value in x.items() if value}
        opinions: list[float | None] = []
        for learner in (model.learners["trajectory"], model.learners["predictor"]):
            if red_at is not None:
                learner.red(subject, red_at)
            learner.advance(at)
            opinion = None
            if learner.positives >= model.min_positives and learner.learned >= model.min_examples:
                opinion = learner.predict_proba_one(sparse)
            learner.add(subject, x, at, clean=x["deductions"] == 0.0)
            opinions.append(opinion)
        return opinions[0], opinions[1]


def _weights(model: EarlyWarning) -> dict[str, tuple[float, dict[str, float]]]:
    return {
        name: (learner.classifier.intercept, learner.classifier.weights)
        for name, learner in model.learners.items()
    }


def test_observe_gives_and_learns_exactly_what_the_plain_path_does() -> None:
    stream = transitions(5, subjects=80, events=2500)
    # Both with the 270-day regression's score: the plain path is that of the regressions,
    # which learn the same either way (the detector reads the same sparse features).
    fast, plain = small_model(detector=False), PlainEarlyWarning(small_model(detector=False))
    fast_out = replay(fast, stream, {})
    plain_out = replay(plain, stream, {})  # type: ignore[arg-type]
    assert sum(p is not None for _, p in fast_out) > 500
    assert fast_out == plain_out
    assert _weights(fast) == _weights(plain.model)
    assert fast.learned == plain.model.learned
    assert dict(fast.feature_states) == dict(plain.model.feature_states)


def test_a_checkpoint_of_format_2_is_read_and_learning_goes_on_identically() -> None:
    stream = transitions(6)
    first, rest = stream[:900], stream[900:]
    model, states = small_model(), {}
    replay(model, first, states)
    assert model.learned["predictor"]["pending"] > 0
    # Format 2 kept a waiting example as a tuple of (name, value) pairs.
    old = copy.deepcopy(model)
    old.feature_states = {}
    for learner in old.learners.values():
        learner._pending = [(a, s, i, tuple(x.items()), w) for a, s, i, x, w in learner._pending]
    blob = MAGIC + bytes([2]) + pickle.dumps(old, protocol=pickle.HIGHEST_PROTOCOL)
    restored = load(blob, dict(model.feature_states))
    assert all(
        isinstance(entry[3], dict)
        for learner in restored.learners.values()
        for entry in learner._pending
    )
    twin_states = copy.deepcopy(states)
    assert replay(restored, rest, twin_states) == replay(model, rest, states)
    assert _weights(restored) == _weights(model)
    assert CHECKPOINT_FORMAT == 4 and dump(model)[4] == 4


def test_waiting_examples_give_the_garbage_collector_nothing_to_follow() -> None:
    model = small_model()
    replay(model, transitions(7, events=600), {})
    gc.collect()
    pending = [entry for learner in model.learners.values() for entry in learner._pending]
    assert len(pending) > 100
    # Each waiting example is one tuple whose items the collector need not follow.
    assert not any(gc.is_tracked(item) for entry in pending for item in gc.get_referents(entry))


def positives_after_wage_arrears(workers: int, policies: PolicySet | None) -> dict[str, int]:
    """Labelled positives of each learner once a builder reported arrears of ``workers``."""
    model = EarlyWarning(
        horizon_days=30, trajectory_days=60, min_examples=1, min_positives=1, clean_stride=1
    )
    state = EntityState("S", SubjectType.ENTERPRISE, sector="construction", district="371102")
    records = [
        Record(0, "a", "penalty", "general"),
        Record(10 * DAY_MS, "b", "wage_arrears", None, 50_000, workers),
    ]
    for record in records:
        state.add(record)
        at = record.occurred_at
        result = evaluate(state, at, DEFAULT_SCORECARD)
        model.observe(state, result, at, record, policies=policies)
    # Another subject's event much later matures both examples.
    other = EntityState("T", SubjectType.ENTERPRISE, sector="finance", district="371103")
    late = Record(200 * DAY_MS, "c", "license")
    other.add(late)
    at = late.occurred_at
    model.observe(other, evaluate(other, at, DEFAULT_SCORECARD), at, late, policies=policies)
    return {name: learned["positives"] for name, learned in model.learned.items()}


def test_a_supervisor_lowering_the_wage_arrears_red_threshold_changes_the_label() -> None:
    """Five workers are no red event by default; with ``red_workers`` 3 in force they are."""
    lowered = PolicySet.model_validate(
        {
            "overrides": {
                "sector=construction": {
                    "rules": {"wage_arrears": {"thresholds": {"red_workers": 3}}}
                }
            }
        }
    )
    assert positives_after_wage_arrears(5, None) == {"trajectory": 0, "predictor": 0}
    assert positives_after_wage_arrears(5, PolicySet()) == {"trajectory": 0, "predictor": 0}
    assert positives_after_wage_arrears(5, lowered) == {"trajectory": 1, "predictor": 1}
    assert positives_after_wage_arrears(12, None) == {"trajectory": 1, "predictor": 1}
