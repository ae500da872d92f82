"""The worker: a stream from the settings, and the services hosted beside it in one process.

In embedded mode chDB lets only one process open the store, so ``serve`` hosts
everything that touches it on one event loop: the Faust worker, the ClickHouse
sink and (once enabled) the HTTP API. With a ClickHouse server the same pieces
can run as separate processes; only the DSN differs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import faust
from mode import ServiceT

from creditbrain.core.errors import ConfigurationError
from creditbrain.models.scorecard import load_scorecard
from creditbrain.runtime.metrics import MetricsService, metrics_server, worker_health
from creditbrain.runtime.serve import api_services
from creditbrain.runtime.sink import SinkService
from creditbrain.settings import Settings
from creditbrain.streams.app import Stream, StreamConfig, create_stream
from creditbrain.streams.metrics import SinkMetrics
from creditbrain.streams.recorder import MetricsRecorder
from creditbrain.streams.sink import ClickHouseSink, SinkStats

log = logging.getLogger(__name__)


def stream_config(settings: Settings, bootstrap: str, embedded_broker: bool) -> StreamConfig:
    """The worker's configuration from the deployment's settings."""
    from creditbrain.cli.contract import parse_context

    store_url = "memory://"
    if settings.stream.state_store == "rocksdb":
        store_url = "rocksdb://"
    elif settings.stream.state_store != "memory":
        raise ConfigurationError(f"unknown state store {settings.stream.state_store!r}")
    return StreamConfig(
        app_id=settings.stream.app_id,
        bootstrap=bootstrap,
        prefix=settings.kafka.topic_prefix,
        partitions=settings.kafka.partitions,
        ctx=parse_context(settings),
        scorecard=load_scorecard(settings.scorecard_file),
        embedded_broker=embedded_broker,
        store_url=store_url,
        batch_size=settings.stream.batch_size,
        batch_within=settings.stream.batch_within_s,
        max_message_bytes=settings.max_message_bytes,
        data_dir=str(settings.data_dir / "faust"),
        replication_factor=settings.kafka.replication_factor,
        acks=settings.kafka.acks or ("1" if embedded_broker else "all"),
        models=settings.stream.models,
        checkpoint_interval=settings.stream.checkpoint_interval_s,
    )


@dataclass
class Host:
    """A stream plus the services that run beside it in one process."""

    stream: Stream
    services: list[ServiceT]

    def run(self, loglevel: str = "warn") -> None:
        """Run until interrupted (SIGINT/SIGTERM stop it cleanly)."""
        worker = faust.Worker(self.stream.app, *self.services, loglevel=loglevel, quiet=True)
        worker.execute_from_commandline()


def build_host(settings: Settings, bootstrap: str, embedded_broker: bool, with_sink: bool) -> Host:
    """The worker, and the ClickHouse sink beside it when ``with_sink``."""
    (settings.data_dir / "faust").mkdir(parents=True, exist_ok=True)
    stream = create_stream(stream_config(settings, bootstrap, embedded_broker))
    services: list[ServiceT] = list(stream.services)
    sink_stats: SinkStats | None = None
    if with_sink:
        from creditbrain.infra.store import connect, migrate

        store = connect(settings.clickhouse_dsn, settings.clickhouse.database)
        migrate(store, settings.clickhouse.cluster)

        def write(table: str, rows: Any, columns: Any) -> None:
            store.client.insert(table, rows, column_names=list(columns), database=store.database)

        sink = ClickHouseSink(
            bootstrap, settings.kafka.topic_prefix, write, f"{settings.stream.app_id}-sink"
        )
        services.append(SinkService(sink))
        services.extend(api_services(settings, bootstrap, stream, sink))
        if settings.cases.desk:
            from creditbrain.runtime.cases import case_desk_service

            processor = stream.processor
            desk = case_desk_service(settings, bootstrap, store, lambda: processor.policies)
            services.append(desk)
        sink.metrics = SinkMetrics(stream.registry, sink.stats)
        sink.recorder = MetricsRecorder(stream.registry, write)
        sink_stats = sink.stats
    server = metrics_server(settings, stream.registry, worker_health(stream, sink_stats), "worker")
    if server is not None:
        services.append(MetricsService(server))
    return Host(stream=stream, services=services)
