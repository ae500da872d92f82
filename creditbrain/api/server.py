"""Serving the API: beside the worker in ``serve``, or alone with ``creditbrain api``.

- :class:`ApiService` runs uvicorn inside the current event loop as a ``mode``
  service, so ``creditbrain serve`` hosts the API next to the Faust worker and the
  sinks (chDB allows one process per store). uvicorn's own signal handlers stay off:
  the worker owns SIGINT/SIGTERM and stops the service.
- :func:`run_api` runs the API (and, with ``--webhooks``, the webhook
  dispatcher) in a process of its own, against a ClickHouse server; with a broker
  it follows ``credit.policies`` to show the policy the workers apply.

Access logs are off: a credit check's path may hold a clear resident id, which must
never be written anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Generator
from typing import Any

import uvicorn
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from fastapi import FastAPI
from mode import Service

from creditbrain.alerts.delivery import DEAD_LETTER_COLUMNS, RetryPolicy
from creditbrain.api.app import create_app
from creditbrain.api.auth import KeyRing
from creditbrain.api.context import PolicySource, SinkLag, Stats, policies_from_audit
from creditbrain.api.metrics import watch_dispatcher
from creditbrain.api.targets import TargetPolicy
from creditbrain.api.webhooks import WebhookDispatcher, load_subscriptions, replay_dead_letters
from creditbrain.core.errors import BrokerError, ConfigurationError
from creditbrain.infra.kafka_security import aiokafka_options
from creditbrain.infra.store import Store, connect
from creditbrain.schemas.contract import POLICIES, WARNINGS, WARNINGS_GRID, topic_name
from creditbrain.settings import Settings, get_settings
from creditbrain.streams.policies import PolicyFollower, PolicyView


class KafkaPolicyPublisher:
    """The policy publisher on a real broker (aiokafka), started on first use."""

    def __init__(self, bootstrap: str | None) -> None:
        self.bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None

    async def send(self, topic: str, key: bytes, value: bytes | None) -> None:
        """Send and wait for the broker's acknowledgement."""
        if not self.bootstrap:
            raise BrokerError("no broker configured (CREDITBRAIN_KAFKA__BOOTSTRAP)")
        try:
            if self._producer is None:
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap, acks="all", **aiokafka_options()
                )
                await producer.start()
                self._producer = producer
            await self._producer.send_and_wait(topic, value, key=key)
        except KafkaError as error:
            raise BrokerError(f"publishing to {topic} failed: {error}") from error

    async def stop(self) -> None:
        """Close the producer, if it was started."""
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None


class _HostedServer(uvicorn.Server):
    """uvicorn without its signal handlers: the host process owns the signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


class ApiService(Service):
    """Runs the API with uvicorn in the event loop of the process that hosts it."""

    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        publisher: KafkaPolicyPublisher | None = None,
        **kwargs: Any,
    ) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, access_log=False, log_level="warning", lifespan="off"
        )
        self.app = app
        self.server = _HostedServer(config)
        self.publisher = publisher
        super().__init__(**kwargs)

    @property
    def port(self) -> int | None:
        """The port actually bound (useful with port 0), once started."""
        for server in getattr(self.server, "servers", ()):
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return None

    @Service.task
    async def _serve(self) -> None:
        await self.server.serve()

    async def on_stop(self) -> None:
        self.server.should_exit = True
        if self.publisher is not None:
            await self.publisher.stop()


def store_factory(settings: Settings) -> Store:
    """The deployment's store (the embedded engine is shared within the process)."""
    return connect(settings.clickhouse_dsn, settings.clickhouse.database)


def build_api_service(
    settings: Settings,
    bootstrap: str | None,
    *,
    policies: PolicySource = policies_from_audit,
    stats: Stats | None = None,
    sink_lag: SinkLag | None = None,
    host: str | None = None,
    port: int | None = None,
) -> ApiService:
    """The API as a service for a host process (``serve``)."""
    host = host or settings.api.host
    _refuse_public_demo_keys(settings, host)
    publisher = KafkaPolicyPublisher(bootstrap)
    app = create_app(
        settings, lambda: store_factory(settings), publisher,
        policies=policies, stats=stats, sink_lag=sink_lag,
    )  # fmt: skip
    return ApiService(app, host, settings.api.port if port is None else port, publisher)


def build_webhook_dispatcher(settings: Settings, bootstrap: str) -> WebhookDispatcher:
    """The webhook dispatcher as a service for a host process."""
    store = store_factory(settings)
    hooks = settings.webhooks
    prefix = settings.kafka.topic_prefix
    return WebhookDispatcher(
        bootstrap=bootstrap,
        topics={"all": topic_name(prefix, WARNINGS), "grid": topic_name(prefix, WARNINGS_GRID)},
        group_id=hooks.group_id,
        load_subscriptions=lambda: [s.subscription for s in load_subscriptions(store)],
        write_dead_letters=lambda rows: store.insert_rows(
            "webhook_dead_letters", rows, DEAD_LETTER_COLUMNS
        ),
        retry=RetryPolicy(hooks.attempts, hooks.base_delay_s, hooks.max_delay_s),
        timeout_s=hooks.timeout_s,
        pause_after_failure_s=hooks.pause_after_failure_s,
        refresh_s=hooks.refresh_s,
        replay=lambda sub, deliverer: replay_dead_letters(store, sub, deliverer),
        replay_every_s=hooks.replay_every_s,
        targets=TargetPolicy(hooks.allow_targets),
    )


def _refuse_public_demo_keys(settings: Settings, host: str) -> None:
    ring = KeyRing.from_settings(settings)
    if ring.empty:
        raise ConfigurationError(
            "no API keys configured: set CREDITBRAIN_API__KEYS (docs/api.md), or "
            "CREDITBRAIN_API__DEMO_KEYS=true to accept the public demo keys on loopback"
        )
    if not ring.is_demo:
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ConfigurationError(
            f"the demo API keys are public: configure CREDITBRAIN_API__KEYS before serving on "
            f"{host}"
        )


def run_api(host: str | None, port: int | None, webhooks: bool) -> None:
    """Run the HTTP API alone until Ctrl-C (the ``creditbrain api`` command)."""
    settings = get_settings()
    bootstrap = settings.kafka.bootstrap
    if webhooks and not bootstrap:
        raise ConfigurationError("--webhooks needs a broker: set CREDITBRAIN_KAFKA__BOOTSTRAP")
    policies: PolicySource = policies_from_audit
    services: list[Service] = []
    if bootstrap:  # the policy in force is the topic's, as the workers read it
        view = PolicyView()
        topic = topic_name(settings.kafka.topic_prefix, POLICIES)
        services.append(PolicyFollower(bootstrap, topic, view))
        policies = lambda _store: view.policies  # noqa: E731
    service = build_api_service(settings, bootstrap, policies=policies, host=host, port=port)
    services.insert(0, service)
    if webhooks and bootstrap:
        dispatcher = build_webhook_dispatcher(settings, bootstrap)
        watch_dispatcher(service.app, dispatcher)
        services.append(dispatcher)
    asyncio.run(_run_alone(service, services))


async def _run_alone(api: ApiService, services: list[Service]) -> None:
    for service in services[1:]:
        await service.start()
        if isinstance(service, PolicyFollower):  # answer with the whole topic read
            await asyncio.wait_for(service.ready.wait(), timeout=30)
    try:
        # uvicorn's own serve() handles Ctrl-C here: nothing else owns the signals.
        await uvicorn.Server.serve(api.server)
    finally:
        for service in services[1:]:
            await service.stop()
        if api.publisher is not None:
            await api.publisher.stop()
