"""The published schemas (docs/schemas/): valid, true to what creditbrain sends, never stale.

The AsyncAPI document is validated against the AsyncAPI 3.0.0 schema kept beside this
test (tests/docs/asyncapi/), so no network is needed; the JSON Schemas against their
own dialect's meta-schema, and then used on what the engine, the worker and the
contract's examples actually produce.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from creditbrain.alerts.metric import SeriesKey
from creditbrain.asyncapi import asyncapi_document
from creditbrain.engine import Engine
from creditbrain.engine import effects as fx
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.models.series.watch import ScoredDay
from creditbrain.schemas.contract import topic_specs
from creditbrain.schemas.events import ParseContext
from creditbrain.schemas.export import contract_schemas
from creditbrain.schemas.outputs import MetricDay, ScoreChange
from creditbrain.streams import processor
from creditbrain.streams.models import day_message

ROOT = Path(__file__).parents[2]
PUBLISHED = ROOT / "docs" / "schemas"
ASYNCAPI_SPEC = json.loads((Path(__file__).parent / "asyncapi" / "3.0.0.json").read_text())
SCRIPT = Path(sys.executable).with_name("creditbrain")

EVENT = (
    b'{"schema_version": 1, "event_id": "7d5e3c1a-2b7e-4a52-9c1f-3f0b1f8f2a10",'
    b' "kind": "dishonest_debtor", "subject": {"type": "enterprise",'
    b' "id": "91350100M000100Y43", "name": "\xe6\x9f\x90\xe5\x85\xac\xe5\x8f\xb8"},'
    b' "source": "court", "sector": "finance", "district": "371102",'
    b' "occurred_at": "2026-03-04T09:30:00+08:00",'
    b' "reported_at": "2026-03-04T09:30:00+08:00", "payload": {"case_no": "C-1"}}'
)


def asyncapi_errors(document: dict[str, Any]) -> list[str]:
    resource = Resource.from_contents(ASYNCAPI_SPEC, default_specification=DRAFT7)
    registry: Registry[Any] = Registry().with_resource(ASYNCAPI_SPEC["$id"], resource).crawl()
    validator = jsonschema.Draft7Validator(ASYNCAPI_SPEC, registry=registry)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


def published(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((PUBLISHED / name).read_text(encoding="utf-8"))
    return document


def schema_errors(name: str, instance: object) -> list[str]:
    validator = jsonschema.Draft202012Validator(published(f"{name}.schema.json"))
    return [e.message for e in validator.iter_errors(instance)]


def test_the_asyncapi_document_validates_against_asyncapi_3() -> None:
    assert asyncapi_errors(published("asyncapi.json")) == []


def test_the_asyncapi_check_rejects_a_broken_document() -> None:
    broken = asyncapi_document("credit", 4)
    broken["channels"]["scores"]["bindings"]["kafka"]["partitions"] = 0
    del broken["operations"]["send-warnings"]["action"]
    assert len(asyncapi_errors(broken)) == 2


def test_every_topic_of_the_contract_is_a_channel_with_its_layout() -> None:
    channels = published("asyncapi.json")["channels"]
    by_topic = {c["address"]: c["bindings"]["kafka"] for c in channels.values()}
    for spec in topic_specs("credit", 4):
        assert by_topic[spec.name]["partitions"] == spec.partitions
        compacted = by_topic[spec.name].get("topicConfiguration", {}).get("cleanup.policy")
        assert compacted == (["compact"] if spec.compacted else None)
    assert "credit.metric.days" in by_topic


def test_every_message_has_a_key_and_a_payload_that_resolves() -> None:
    document = published("asyncapi.json")
    schemas = document["components"]["schemas"]
    refs = re.findall(r'"#/components/schemas/([^"]+)"', json.dumps(document))
    assert refs and all(ref in schemas for ref in refs)
    for message in document["components"]["messages"].values():
        assert message["bindings"]["kafka"]["key"]
        assert message["payload"]


def test_docs_schemas_are_what_the_installed_command_writes(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CREDITBRAIN_")}
    done = subprocess.run(
        [str(SCRIPT), "schemas", "export", str(tmp_path / "out")],
        cwd=tmp_path,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(p.name for p in PUBLISHED.iterdir())
    for name in written:
        got = (tmp_path / "out" / name).read_text(encoding="utf-8")
        assert got == (PUBLISHED / name).read_text(encoding="utf-8"), (
            f"docs/schemas/{name} is stale: run `creditbrain schemas export docs/schemas`"
        )


@pytest.mark.parametrize("name", ["credit-event", "warning", "score-change"])
def test_each_json_schema_is_valid_and_named(name: str) -> None:
    schema = published(f"{name}.schema.json")
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"https://creditbrain.example/schemas/{name}.schema.json"
    assert schema == contract_schemas()[name]


def test_what_the_engine_and_the_worker_send_fits_the_schemas() -> None:
    engine = Engine({}, ParseContext(b"k"), DEFAULT_SCORECARD)
    effects = engine.apply(EVENT)
    assert schema_errors("credit-event", json.loads(EVENT)) == []
    changes = [e for e in effects if isinstance(e, fx.ScoreChanged)]
    warnings = [e.update for e in effects if isinstance(e, fx.WarningChanged)]
    assert changes and warnings
    for change in changes:
        message = orjson.loads(processor._score_message(change))
        assert schema_errors("score-change", message) == []
        ScoreChange.model_validate(message)
    for update in warnings:
        assert schema_errors("warning", orjson.loads(update.body)) == []
        if update.grid_body is not None:
            assert schema_errors("warning", orjson.loads(update.grid_body)) == []
    day = day_message(ScoredDay(SeriesKey("finance", "371102", "penalty"), date(2026, 3, 4), 3, 0))
    MetricDay.model_validate_json(day.value)


def test_the_schemas_reject_what_the_contract_forbids() -> None:
    event = json.loads(EVENT)
    assert schema_errors("credit-event", {**event, "kind": "gossip"})
    assert schema_errors("credit-event", {**event, "payload": {}})
    engine = Engine({}, ParseContext(b"k"), DEFAULT_SCORECARD)
    change = next(e for e in engine.apply(EVENT) if isinstance(e, fx.ScoreChanged))
    message = orjson.loads(processor._score_message(change))
    assert schema_errors("score-change", {**message, "score": 1001})
    assert schema_errors("score-change", {**message, "cause": "whim"})


def test_the_contracts_examples_fit_the_schemas() -> None:
    doc = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")
    event, warning = (json.loads(b) for b in re.findall(r"```json\n(.*?)```", doc, re.S)[:2])
    assert schema_errors("credit-event", event) == []
    assert schema_errors("warning", warning) == []
