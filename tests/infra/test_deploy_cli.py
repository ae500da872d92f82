"""``creditbrain topics create`` and ``creditbrain sink`` against the real embedded broker.

The split deployment of infra/compose.yaml in miniature: the topics job, the
migration job, a stream worker without a sink and a sink-only process, each a child
process, loaded with history by ``creditbrain backfill``; the store is chDB in the
sink's data dir (one process may open it at a time, so the migration runs before the
sink and the check after it stops).
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient

from creditbrain.cli.deploy import pipeline_topics
from creditbrain.infra.broker import EmbeddedBroker
from creditbrain.infra.lag import group_lag
from creditbrain.schemas.contract import INPUT_TOPICS, POLICIES, input_topics, topic_name
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator
from tests.fixtures.serve import CLI, ServeFactory, ServeProcess
from tests.infra.metrics_scrape import free_port, health, scrape

pytestmark = pytest.mark.integration


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, check=False, timeout=180
    )


def test_topics_create_lays_out_every_pipeline_topic(
    embedded_broker: EmbeddedBroker, tmp_path: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:10]}"
    env = ServeProcess(embedded_broker.bootstrap, tmp_path, prefix, "cb", partitions=3).env

    first = _run(env, "topics", "create", "--wait", "30")
    assert first.returncode == 0, first.stderr
    planned = pipeline_topics(prefix, 3, 1)
    for spec in planned:
        assert f"{spec.name}: created" in first.stdout, first.stdout

    again = _run(env, "topics", "create", "--wait", "30")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count(": exists") == len(planned)

    admin = KafkaAdminClient(bootstrap_servers=embedded_broker.bootstrap)
    try:
        described = {t["name"]: t for t in admin.describe_topics([s.name for s in planned])}
        policies = topic_name(prefix, POLICIES)
        resource = ConfigResource(ConfigResourceType.TOPIC, policies)
        # Tansu labels a topic's own settings DEFAULT_CONFIG: ask for all of them.
        configs = admin.describe_configs([resource], config_filter="all")
    finally:
        admin.close()
    for spec in planned:
        assert len(described[spec.name]["partitions"]) == spec.partitions, spec.name
    assert len(described[policies]["partitions"]) == 1
    assert configs["topic"][policies]["cleanup.policy"]["value"] == "compact"


def test_topics_create_needs_a_broker(tmp_path: Path) -> None:
    env = ServeProcess("", tmp_path, "t", "cb").env
    env.pop("CREDITBRAIN_KAFKA__BOOTSTRAP")
    result = _run(env, "topics", "create")
    assert result.returncode == 1
    assert "CREDITBRAIN_KAFKA__BOOTSTRAP" in result.stderr


def test_a_worker_without_sink_and_a_sink_alone_store_everything(
    serve_factory: ServeFactory,
) -> None:
    deployment = serve_factory(partitions=2)
    env = deployment.env

    refused = ServeProcess(**{**_fields(deployment), "command": ("sink",), "log_name": "s0.log"})
    refused.start()
    assert refused.process is not None
    assert refused.process.wait(120) == 1
    assert "run `creditbrain db migrate` first" in refused.log()

    migrated = _run(env, "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr
    sink = ServeProcess(**{**_fields(deployment), "command": ("sink",), "log_name": "sink.log"})
    worker = serve_factory.worker(deployment)
    serve_factory.made.append(sink)
    # Each process serves its metrics port (docs/operations.md, monitoring).
    sink_port, worker_port = free_port(), free_port()
    sink.extra_env["CREDITBRAIN_METRICS__PORT"] = str(sink_port)
    worker.extra_env["CREDITBRAIN_METRICS__PORT"] = str(worker_port)
    worker.start()
    sink.start()

    # The history goes in as an operator would load it: `creditbrain backfill` produces a
    # simulated city and returns once the worker has processed all of it.
    sim = Simulator(CityConfig.scaled(0.002, seed=7), pseudonym_key=b"test-pseudonym-key")
    events = list(sim.events())
    backfill = subprocess.run(
        [*CLI, "backfill", "--simulate", "0.002", "--seed", "7", "--timeout", "900"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=960,
    )
    assert backfill.returncode == 0, backfill.stderr
    assert f"{len(events):,} messages produced" in backfill.stdout, backfill.stdout
    assert (
        group_lag(deployment.bootstrap, deployment.app_id, input_topics(deployment.prefix), True)
        == 0
    )

    deployment.wait_until_sunk()
    worker_metrics, sink_metrics = scrape(worker_port), scrape(sink_port)
    assert health(worker_port) == health(sink_port) == 200
    assert sink.stop() == 0, sink.log()[-2000:]
    assert worker.stop() == 0, worker.log()[-2000:]
    assert "sink stopped:" in sink.log()

    # Every input message ends in `events` or in `dlq` (a repair parked before its
    # record may be in both): count the distinct source positions.
    [stored] = deployment.query(
        "SELECT uniqExact(topic, `partition`, `offset`) AS n FROM ("
        " SELECT topic, `partition`, `offset` FROM events"
        " UNION ALL SELECT topic, `partition`, `offset` FROM dlq)"
    )
    assert int(str(stored["n"])) == len(events)
    [subjects] = deployment.query("SELECT count() AS n FROM entity_state FINAL")
    assert int(str(subjects["n"])) > 0

    outcomes = sum(
        worker_metrics[("creditbrain_events_total", (("outcome", o),))]
        for o in ("applied", "duplicate", "dead_letter")
    )
    assert outcomes == len(events)
    assert worker_metrics[("creditbrain_batch_size_count", ())] > 0
    assert worker_metrics[("creditbrain_batch_seconds_sum", ())] > 0
    assert worker_metrics[("creditbrain_state_subjects", ())] > 0
    assert any(name == "creditbrain_dead_letters_total" for name, _ in worker_metrics)
    read = {
        dict(labels)["topic"]: value
        for (name, labels), value in worker_metrics.items()
        if name == "creditbrain_input_messages_total"
    }
    assert sum(read.values()) == len(events)
    assert set(read) == {deployment.topic(suffix) for suffix in INPUT_TOPICS}
    lagging = {
        dict(labels)["topic"]
        for (name, labels), _ in worker_metrics.items()
        if name == "creditbrain_consumer_lag"
    }
    assert lagging and lagging <= set(read)  # per partition of the inputs it has read
    events_rows = sink_metrics[("creditbrain_sink_rows_total", (("table", "events"),))]
    assert events_rows > 0
    assert sink_metrics[("creditbrain_sink_insert_seconds_count", (("table", "events"),))] > 0
    assert any(name == "creditbrain_consumer_lag" for name, _ in sink_metrics)


def _fields(process: ServeProcess) -> dict[str, object]:
    return {
        "bootstrap": process.bootstrap,
        "data_dir": process.data_dir,
        "prefix": process.prefix,
        "app_id": process.app_id,
        "partitions": process.partitions,
        "extra_env": dict(process.extra_env),
        "api_port": process.api_port,
    }
