"""The online models in a running worker: checkpoints, restart, series counts.

``creditbrain serve`` runs against the session's embedded broker; the test reads
the worker's internal topics (``<app id>-models``, ``<app id>-metric-counts``) with
an independent client.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from creditbrain.models import checkpoint
from creditbrain.models.subject import EarlyWarning
from creditbrain.streams.checkpoints import EARLY_WARNING_KEY
from tests.fixtures.serve import ServeProcess
from tests.streams.test_stream_integration import city, produce

pytestmark = pytest.mark.integration


def records(bootstrap: str, topic: str) -> Iterator[Any]:
    """Every record of ``topic``, all partitions, from the start to the end."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        done: set[TopicPartition] = set()
        while len(done) < len(partitions):
            for batch in consumer.poll(timeout_ms=1000, max_records=10_000).values():
                yield from batch
            for tp in partitions:
                highwater = consumer.highwater(tp)
                if highwater is not None and consumer.position(tp) >= highwater:
                    done.add(tp)
    finally:
        consumer.close()


def latest_model(serve: ServeProcess) -> EarlyWarning:
    blobs = [r.value for r in records(serve.bootstrap, f"{serve.app_id}-models")]
    keys = [r.key for r in records(serve.bootstrap, f"{serve.app_id}-models")]
    early = [
        blob for key, blob in zip(keys, blobs, strict=True) if key == EARLY_WARNING_KEY.encode()
    ]
    assert early, "no early-warning checkpoint written"
    return checkpoint.load(early[-1])


def learned(model: EarlyWarning) -> int:
    """How much the models have been taught: the sum of their counters (never decreases)."""

    def total(value: object) -> int:
        if isinstance(value, dict):
            return sum(total(v) for v in value.values())
        return value if isinstance(value, int) else 0

    return total(model.learned)


def test_a_restarted_worker_keeps_what_the_models_learned(serve_factory) -> None:
    messages = city(0.05, seed=21)
    cut = len(messages) * 95 // 100
    serve = serve_factory(CREDITBRAIN_STREAM__CHECKPOINT_INTERVAL_S="2")
    serve.start()
    produce(serve, messages[:cut])
    serve.wait_until_sunk()
    assert serve.stop() == 0
    before = learned(latest_model(serve))
    assert before > 0

    # The last 5 % alone teach a fresh model less than the first 95 % did, so ending
    # above ``before`` means the restarted worker went on from the checkpoint.
    serve.start()
    produce(serve, messages[cut:])
    serve.wait_until_sunk()
    assert serve.stop() == 0
    after = learned(latest_model(serve))
    assert "early-warning models restored" in serve.log()
    assert after > before, (before, after)

    # Every applied event was counted once in its series' day, over both runs.
    counts = [
        orjson.loads(r.value) for r in records(serve.bootstrap, f"{serve.app_id}-metric-counts")
    ]
    accepted = serve.query("SELECT count() AS n FROM events FINAL")[0]["n"]
    assert sum(n for doc in counts for _, _, _, n in doc["counts"]) == accepted
    series_keys = {r.key for r in records(serve.bootstrap, f"{serve.app_id}-models")}
    assert any(key.startswith(b"series-") for key in series_keys)
