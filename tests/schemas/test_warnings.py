"""The warning CloudEvent exactly as CONTRACT.md §2 shows it, and grid masking."""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from creditbrain.schemas.warnings import (
    WarningEvent,
    format_time,
    mask_person_name,
    masked_for_grid,
)
from tests.alerts.driver import Driver, only
from tests.strategies import DAY, make_event

TOP_KEYS = {
    "specversion",
    "id",
    "alertid",
    "type",
    "source",
    "subject",
    "time",
    "datacontenttype",
    "data",
}
DATA_KEYS = {
    "alert_id",
    "version",
    "level",
    "rule",
    "subject",
    "sector",
    "district",
    "score",
    "grade",
    "previous_grade",
    "reasons",
    "first_event_at",
    "status",
}
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?\+08:00$")
TYPES = {f"cn.creditbrain.warning.{t}" for t in ("opened", "escalated", "resolved")}


def sample(**data: Any) -> dict[str, Any]:
    """A valid warning document, with ``data`` fields replaced."""
    doc: dict[str, Any] = {
        "specversion": "1.0",
        "id": "a1:1",
        "alertid": "a1",
        "type": "cn.creditbrain.warning.opened",
        "source": "creditbrain/alerts",
        "subject": "91350100M000100Y43",
        "time": "2026-03-05T10:00:02+08:00",
        "datacontenttype": "application/json",
        "data": {
            "alert_id": "a1",
            "version": 1,
            "level": "red",
            "rule": "dishonest_debtor_listed",
            "subject": {"type": "enterprise", "id": "91350100M000100Y43", "name": "某公司"},
            "sector": "construction",
            "district": "371102",
            "score": 612,
            "grade": "D",
            "previous_grade": "C",
            "reasons": [{"event_id": "e1", "kind": "dishonest_debtor", "effect": -200}],
            "first_event_at": "2026-03-05T10:00:00+08:00",
            "status": "open",
        },
    }
    doc["data"].update(data)
    return doc


def check_shape(doc: dict[str, Any]) -> None:
    assert set(doc) == TOP_KEYS
    assert doc["specversion"] == "1.0"
    assert doc["source"] == "creditbrain/alerts"
    assert doc["datacontenttype"] == "application/json"
    assert doc["type"] in TYPES
    assert TIME.match(doc["time"])
    data = doc["data"]
    assert set(data) == DATA_KEYS
    assert doc["alertid"] == data["alert_id"] and doc["subject"] == data["subject"]["id"]
    assert isinstance(data["version"], int) and data["version"] >= 1
    assert doc["id"] == f"{data['alert_id']}:{data['version']}"
    assert data["level"] in ("red", "orange", "yellow", "blue")
    assert data["status"] in ("open", "escalated", "resolved")
    assert doc["type"].endswith("resolved") is (data["status"] == "resolved")
    assert set(data["subject"]) == {"type", "id", "name"}
    assert all(isinstance(data["subject"][k], str) for k in ("type", "id", "name"))
    assert isinstance(data["sector"], str) and re.fullmatch(r"\d{6}", data["district"])
    assert isinstance(data["score"], int) and 0 <= data["score"] <= 1000
    assert data["grade"] in "ABCD" and data["previous_grade"] in "ABCD"
    for reason in data["reasons"]:
        assert set(reason) == {"event_id", "kind", "effect"}
        assert isinstance(reason["event_id"], str) and isinstance(reason["kind"], str)
        assert isinstance(reason["effect"], int)
    assert TIME.match(data["first_event_at"])


def test_the_contracts_example_is_a_valid_warning() -> None:
    doc = sample()
    check_shape(doc)
    warning = WarningEvent.model_validate(doc)
    assert orjson.loads(warning.to_bytes()) == doc
    assert WarningEvent.from_bytes(warning.to_bytes()) == warning


def test_warnings_the_lifecycle_sends_have_the_contracts_shape() -> None:
    d = Driver()
    d.apply(make_event("wage_arrears", {"amount_cny": 1, "workers_affected": 3}, at=DAY))
    d.apply(make_event("wage_arrears", {"amount_cny": 1, "workers_affected": 30}, at=2 * DAY))
    d.apply(make_event("arrears_cleared", {"ref_kind": "wage_arrears"}, at=3 * DAY))
    assert [u.change for u in d.log if u.rule == "wage_arrears"] == [
        "opened",
        "escalated",
        "resolved",
    ]
    for update in d.log:
        doc = orjson.loads(update.body)
        check_shape(doc)
        UUID(doc["alertid"])  # alert ids are UUIDs
        assert doc["data"]["version"] == update.version
        assert update.body.decode("utf-8")  # UTF-8 JSON
    wage = [orjson.loads(u.body) for u in d.log if u.rule == "wage_arrears"]
    # One alert, three changes: CloudEvents consumers dedup by id, so each change has its own.
    assert len({doc["alertid"] for doc in wage}) == 1
    assert len({doc["id"] for doc in wage}) == 3
    opened = only([u for u in d.log if u.change == "opened"], "wage_arrears")
    assert orjson.loads(opened.body)["time"] == "2024-01-02T08:00:00+08:00"


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (0, "1970-01-01T08:00:00+08:00"),
        (1772587800000, "2026-03-04T09:30:00+08:00"),
        (1772587800007, "2026-03-04T09:30:00.007+08:00"),
        (-1, "1970-01-01T07:59:59.999+08:00"),
    ],
)
def test_times_are_china_standard_time(ms: int, text: str) -> None:
    assert format_time(ms) == text


def test_times_given_in_another_offset_are_written_in_plus_eight() -> None:
    doc = sample(first_event_at="2026-03-05T02:00:00Z")
    doc["time"] = "2026-03-05T03:00:02.5+01:00"
    written = orjson.loads(WarningEvent.model_validate(doc).to_bytes())
    assert written["data"]["first_event_at"] == "2026-03-05T10:00:00+08:00"
    assert written["time"] == "2026-03-05T10:00:02.500+08:00"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": "a1"}, "id must be"),
        ({"id": "a1:2"}, "id must be"),
        ({"alertid": "other"}, "alertid and subject"),
        ({"subject": "other"}, "alertid and subject"),
        ({"data": sample(version=0)["data"]}, "version"),
        ({"type": "cn.creditbrain.warning.resolved"}, "does not fit status"),
        ({"type": "cn.creditbrain.warning.closed"}, "type"),
        ({"specversion": "0.3"}, "specversion"),
        ({"time": "2026-03-05T10:00:02"}, "timezone"),
        ({"data": sample(level="purple")["data"]}, "level"),
        ({"data": sample(score=None)["data"]}, "score and grade"),
        ({"data": sample(rule="metric_anomaly")["data"]}, "series"),
        ({"data": sample(rule="score drop")["data"]}, "rule"),
        ({"data": sample(extra=1)["data"]}, "extra"),
    ],
)
def test_invalid_warnings_are_rejected(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        WarningEvent.model_validate({**sample(), **change})


@given(st.text(max_size=12))
def test_masking_keeps_only_the_first_character(name: str) -> None:
    masked = mask_person_name(name)
    assert len(masked) == len(name)
    assert masked[1:] == "*" * (len(name) - 1)
    assert masked[:1] == (name[:1] if len(name) > 1 else "*" * len(name))


def series_sample(series_id: str) -> dict[str, Any]:
    doc = sample(
        rule="metric_anomaly",
        subject={"type": "series", "id": series_id, "name": "食品药品 · 东港区 · penalty"},
        sector="food_drug",
        score=None,
        grade=None,
        previous_grade=None,
        metric={"kind": "penalty", "day": "2026-03-04", "value": 41.0, "anomaly_score": 0.99},
    )
    doc["subject"] = series_id
    return doc


def test_a_series_is_named_sector_district_kind() -> None:
    warning = WarningEvent.model_validate(series_sample("food_drug|371102|penalty"))
    assert warning.subject == warning.data.subject.id == "food_drug|371102|penalty"
    with pytest.raises(ValidationError, match="<sector>"):
        WarningEvent.model_validate(series_sample("sector=food_drug|district=371102|kind=penalty"))


def test_only_persons_are_masked_for_the_grid() -> None:
    person = sample(subject={"type": "person", "id": "p:" + "a" * 32, "name": "欧阳娜娜"})
    person["subject"] = "p:" + "a" * 32
    masked = masked_for_grid(WarningEvent.model_validate(person))
    assert masked.data.subject.name == "欧***"
    assert masked.data.subject.id == "p:" + "a" * 32
    firm = WarningEvent.model_validate(sample())
    assert masked_for_grid(firm) is firm
