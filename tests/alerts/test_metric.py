"""City-level warnings about a sector × district × kind series."""

from __future__ import annotations

from datetime import date, timedelta

import orjson

from creditbrain.alerts import SeriesKey, judge_metric, metric_alert
from creditbrain.alerts.policy import DEFAULT_POLICIES, PolicySet
from creditbrain.schemas.warnings import WarningEvent

SERIES = SeriesKey("food_drug", "371102", "penalty")
DAY = date(2026, 3, 4)


def test_a_score_at_the_threshold_opens_one_warning_per_series_and_day() -> None:
    update = metric_alert(SERIES, DAY, 41, 0.95, DEFAULT_POLICIES)
    assert update is not None
    assert (update.change, update.notify, update.version) == ("opened", True, 1)
    doc = orjson.loads(update.body)
    # CONTRACT.md §2: a series is named <sector>|<district>|<kind>, in data and envelope.
    assert doc["subject"] == "food_drug|371102|penalty"
    assert doc["data"]["subject"]["type"] == "series"
    assert doc["data"]["subject"]["id"] == doc["subject"]
    assert doc["id"] == f"{update.alert_id}:1" and doc["alertid"] == update.alert_id
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


def test_an_incident_is_one_warning_resolved_after_calm_days_calm_days_in_a_row() -> None:
    incident, update = judge_metric(SERIES, DAY, 41, 0.99, None, DEFAULT_POLICIES, calm_days=2)
    assert update is not None and incident is not None and update.change == "opened"
    changes = []
    # calm, anomalous again (the count restarts), calm, calm: resolved on the last.
    for n, score in enumerate([0.1, 0.97, 0.2, 0.3]):
        day = DAY + timedelta(days=n + 1)
        incident, update = judge_metric(
            SERIES, day, 9, score, incident, DEFAULT_POLICIES, calm_days=2
        )
        changes.append(None if update is None else (update.change, update.version))
    assert changes == [None, None, None, ("resolved", 2)]
    assert incident is None and update is not None
    doc = WarningEvent.from_bytes(update.body)
    assert doc.data.status == "resolved" and doc.data.metric is not None
    assert doc.data.metric.day == "2026-03-08"
    assert update.alert_id == metric_alert(SERIES, DAY, 1, 0.99, DEFAULT_POLICIES).alert_id


def test_a_disabled_rule_still_resolves_its_open_warning() -> None:
    incident, _ = judge_metric(SERIES, DAY, 41, 0.99, None, DEFAULT_POLICIES)
    off = PolicySet.model_validate(
        {"overrides": {"sector=food_drug": {"rules": {"metric_anomaly": {"enabled": False}}}}}
    )
    updates = []
    for n in range(3):
        day = DAY + timedelta(days=n + 1)
        incident, update = judge_metric(SERIES, day, 2, 0.0, incident, off)
        updates.append(update)
    assert updates[:2] == [None, None] and updates[2] is not None
    assert updates[2].change == "resolved" and incident is None
    # Disabled, nothing new opens.
    assert judge_metric(SERIES, DAY + timedelta(days=9), 99, 1.0, None, off) == (None, None)
