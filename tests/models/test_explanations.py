"""Every model warning the worker publishes carries its explanation, in both languages."""

from __future__ import annotations

from datetime import date

import orjson

from creditbrain.models.explain import explain, wording
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.models.subject import EarlyWarning
from creditbrain.schemas.contract import WARNINGS
from creditbrain.schemas.events import ParseContext
from creditbrain.schemas.warnings import WarningEvent
from creditbrain.simulator import CityConfig, Simulator
from creditbrain.streams.messages import Inbound
from creditbrain.streams.processor import Processor

KEY = b"test-pseudonym-key"
MODEL_RULES = {"anomalous_deterioration", "predicted_serious_default"}


def test_every_model_warning_in_the_stream_is_explained() -> None:
    # A year to learn from, then a second city: the models speak in the second one.
    model = EarlyWarning()
    processor = Processor({}, ParseContext(pseudonym_key=KEY), DEFAULT_SCORECARD, model=model)
    warnings = []
    for seed, start in ((1, date(2024, 1, 1)), (7, date(2025, 1, 1))):
        city = CityConfig.scaled(0.02, seed=seed, start=start, error_rate=0.0)
        values = [e.value for e in Simulator(city, pseudonym_key=KEY).events()]
        for at in range(0, len(values), 500):
            batch = [Inbound("in", 0, at + i, None, v) for i, v in enumerate(values[at : at + 500])]
            out = processor.process(batch).outbound
            warnings += [WarningEvent.from_bytes(m.value) for m in out if m.topic == WARNINGS]
    of_models = [w for w in warnings if w.data.rule in MODEL_RULES]
    assert len(of_models) >= 10
    for warning in of_models:
        explanation = warning.data.explanation
        assert explanation, warning.data
        assert all(item.weight > 0 and item.zh and item.en for item in explanation)
        weights = [item.weight for item in explanation]
        assert weights == sorted(weights, reverse=True)
    others = [w for w in warnings if w.data.rule not in MODEL_RULES]
    assert others and all(w.data.explanation is None for w in others)
    assert "explanation" not in orjson.loads(others[0].to_bytes())["data"]


def test_wording_undoes_the_squashing() -> None:
    assert wording("si_months", 2 / 12) == ("社保欠费 2 个月", "social insurance 2 months overdue")
    assert wording("judgment_90d", 3 / 5) == (
        "90 天内新增 3 起诉讼或判决",
        "3 lawsuits or judgments in 90 days",
    )
    assert wording("penalty_30d", 1 / 3)[1] == "1 administrative penalties in 30 days"


def test_only_what_raised_the_score_is_listed() -> None:
    x = {"a": 1.0, "b": 1.0, "c": 1.0, "d": 1.0}
    found = explain({"a": 0.5, "b": -2.0, "c": 3.0, "d": 0.0}, x)
    assert [item["feature"] for item in found] == ["c", "a"]


def test_the_detector_scores_persisting_trouble_and_explains_by_it() -> None:
    from creditbrain.core.eventtime import DAY_MS
    from creditbrain.schemas.events import SubjectType
    from creditbrain.schemas.state import EntityState, Record, ScoreResult

    model = EarlyWarning(min_examples=10**9)
    scores = []
    for index in range(300):
        state = EntityState(f"s{index}", SubjectType.ENTERPRISE, sector="construction")
        at = index * DAY_MS
        # A month apart: from the third month on the trouble has persisted.
        for back in range(1 + index % 4):
            state.add(Record(at - back * 30 * DAY_MS, f"e{index}-{back}", "penalty", "general"))
        anomaly, probability = model.observe(state, ScoreResult(900, "B", ()), at, None)
        assert probability is None  # the regressions have not learned enough
        scores.append(anomaly)
        assert model.explain("anomalous_deterioration")[0]["feature"] in (
            "trouble_weighted",
            "trouble_90d",
            "penalty_accel",
            "peer_excess",
            "trouble_months",
        )
        if index < 249:  # the trees' first window (250): no reference yet, no opinion
            assert anomaly is None
        elif index % 4 < 2:  # trouble in fewer than 3 of the last 6 months
            assert anomaly == 0.0
    clean = EntityState("clean", SubjectType.ENTERPRISE)
    assert model.observe(clean, ScoreResult(1000, "A", ()), 400 * DAY_MS, None)[0] == 0.0
    # A burst of trouble, however large, is not a persisting decline.
    burst = EntityState("burst", SubjectType.ENTERPRISE, sector="construction")
    for day in range(6):
        burst.add(Record((400 - day) * DAY_MS, f"b{day}", "judgment", "defendant"))
    assert model.observe(burst, ScoreResult(800, "B", ()), 400 * DAY_MS, None)[0] == 0.0
    warm = scores[250:]
    assert all(s is not None and 0.0 <= s <= 1.0 for s in warm) and max(s or 0 for s in warm) > 0
