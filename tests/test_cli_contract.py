"""``creditbrain validate`` and ``creditbrain replay`` on a file mixing good and bad lines."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from kafka import KafkaConsumer
from typer.testing import CliRunner

from creditbrain.cli import app
from creditbrain.infra.broker import EmbeddedBroker, ensure_topics
from creditbrain.schemas.contract import DLQ, topic_for_kind, topic_name, topic_specs
from creditbrain.schemas.events import KINDS, event_to_json
from tests.schemas.test_parse import BAD
from tests.strategies import make_event

runner = CliRunner()


def mixed_file(tmp_path: Path) -> tuple[Path, Counter[str], list[bytes]]:
    good = [
        event_to_json(make_event(kind)) for kind in KINDS if kind not in ("repair", "objection")
    ]
    bad = [doc if isinstance(doc, bytes) else json.dumps(doc).encode() for doc, _ in BAD]
    bad = [line for line in bad if b"\n" not in line and len(line) < 1024 * 1024]
    reasons = Counter(
        reason.value
        for doc, reason in BAD
        if (doc if isinstance(doc, bytes) else json.dumps(doc).encode()) in bad
    )
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(b"\n".join(good + bad) + b"\n")
    return path, reasons, good


def test_validate_counts_every_reason(tmp_path: Path) -> None:
    path, reasons, good = mixed_file(tmp_path)
    result = runner.invoke(app, ["validate", str(path), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report == {
        "lines": len(good) + sum(reasons.values()),
        "valid": len(good),
        "dlq": dict(sorted(reasons.items())),
    }


def test_validate_missing_file_is_one_line(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nope.jsonl")])
    assert result.exit_code != 0


@pytest.mark.integration
def test_replay_puts_every_line_on_its_topic(
    tmp_path: Path, embedded_broker: EmbeddedBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, reasons, good = mixed_file(tmp_path)
    prefix = f"replay{tmp_path.name[-8:].replace('-', '')}"
    ensure_topics(embedded_broker.bootstrap, topic_specs(prefix, 2))
    monkeypatch.setenv("CREDITBRAIN_KAFKA__TOPIC_PREFIX", prefix)
    from creditbrain.settings import get_settings

    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["replay", str(path), "--bootstrap", embedded_broker.bootstrap])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    expected = Counter(topic_for_kind(prefix, json.loads(line)["kind"]) for line in good)
    expected[topic_name(prefix, DLQ)] = sum(reasons.values())
    consumer = KafkaConsumer(
        *expected,
        bootstrap_servers=embedded_broker.bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    seen: Counter[str] = Counter()
    dlq: Counter[str] = Counter()
    for record in consumer:
        seen[record.topic] += 1
        if record.topic.endswith(DLQ):
            dlq[dict(record.headers)["reason"].decode()] += 1
    consumer.close()
    assert seen == expected
    assert dlq == reasons


def test_backfill_needs_a_broker_and_one_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from creditbrain.core.errors import ConfigurationError
    from creditbrain.settings import get_settings

    monkeypatch.delenv("CREDITBRAIN_KAFKA__BOOTSTRAP", raising=False)
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["backfill", "--simulate", "0.01"])
        assert isinstance(result.exception, ConfigurationError)
        assert "CREDITBRAIN_KAFKA__BOOTSTRAP" in str(result.exception)
        monkeypatch.setenv("CREDITBRAIN_KAFKA__BOOTSTRAP", "127.0.0.1:1")
        get_settings.cache_clear()
        result = runner.invoke(app, ["backfill"])
        assert isinstance(result.exception, ConfigurationError)
        assert "either a FILE or --simulate" in str(result.exception)
    finally:
        get_settings.cache_clear()
