"""City-level warnings about a sector × district × kind series."""

from __future__ import annotations

from datetime import date

import orjson

from creditbrain.alerts import SeriesKey, metric_alert
from creditbrain.alerts.policy import DEFAULT_POLICIES, PolicySet
from creditbrain.schemas.warnings import WarningEvent

SERIES = SeriesKey("food_drug", "371102", "penalty")
DAY = date(2026, 3, 4)


def test_a_score_at_the_threshold_opens_one_warning_per_series_and_day() -> None:
    update = metric_alert(SERIES, DAY, 41, 0.95, DEFAULT_POLICIES)
    assert update is not None
    assert (update.change, update.notify, update.version) == ("opened", True, 1)
    doc = orjson.loads(update.body)
    assert doc["subject"] == "sector=food_drug|district=371102|kind=penalty"
    assert doc["time"] == "2026-03-05T00:00:00+08:00"
    data = doc["data"]
    assert (data["rule"], data["level"], data["status"]) == ("metric_anomaly", "orange", "open")
    assert (data["score"], data["grade"], data["previous_grade"]) == (None, None, None)
    assert data["first_event_at"] == "2026-03-04T00:00:00+08:00"
    assert data["metric"] == {
        "kind": "penalty",
        "day": "2026-03-04",
        "value": 41.0,
        "anomaly_score": 0.95,
    }
    assert WarningEvent.from_bytes(update.body).to_bytes() == update.body


def test_ids_are_stable_per_series_and_day() -> None:
    ids: dict[tuple[SeriesKey, date], set[str]] = {}
    for series in (SERIES, SERIES._replace(kind="judgment")):
        for day in (DAY, date(2026, 3, 5)):
            for at_ms in (0, 1):
                update = metric_alert(series, day, 1, 0.99, DEFAULT_POLICIES, at_ms=at_ms)
                assert update is not None
                ids.setdefault((series, day), set()).add(update.alert_id)
    assert all(len(found) == 1 for found in ids.values())  # the time of detection does not matter
    assert len(set.union(*ids.values())) == 4


def test_below_the_threshold_or_disabled_gives_nothing() -> None:
    assert metric_alert(SERIES, DAY, 41, 0.94, DEFAULT_POLICIES) is None
    off = PolicySet.model_validate(
        {"overrides": {"sector=food_drug": {"rules": {"metric_anomaly": {"enabled": False}}}}}
    )
    assert metric_alert(SERIES, DAY, 41, 1.0, off) is None
    assert metric_alert(SERIES._replace(sector="finance"), DAY, 41, 1.0, off) is not None
