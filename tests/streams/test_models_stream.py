"""The online models in a running worker: checkpoints, restart, series counts.

``creditbrain serve`` runs against the session's embedded broker; the test reads
the worker's internal topics (``<app id>-models``, ``<app id>-metric-counts``) with
an independent client.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from creditbrain.models import checkpoint
from creditbrain.models.subject import EarlyWarning
from creditbrain.streams.checkpoints import EARLY_WARNING_KEY
from tests.fixtures.broker import read_topic
from tests.fixtures.serve import ServeProcess
from tests.streams.test_stream_integration import city, produce

pytestmark = pytest.mark.integration


def records(bootstrap: str, topic: str) -> list[Any]:
    """Every record of ``topic``, all partitions, from the start to the end."""
    return read_topic(bootstrap, topic)


def latest_model(serve: ServeProcess) -> EarlyWarning:
    found = records(serve.bootstrap, f"{serve.app_id}-models")
    early = [r.value for r in found if r.key == EARLY_WARNING_KEY.encode()]
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
