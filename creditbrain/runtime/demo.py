"""The one-command demo: a simulated year of the city through the whole system.

``creditbrain demo`` starts the embedded broker, runs ``creditbrain serve`` as a
child process (it alone holds the embedded store, see ARCHITECTURE.md), plays a
simulated city onto the input topics at a steady rate and shows live what comes
out of the pipeline, read back from the output topics: events processed,
warnings by level, dead letters by reason. When the year is over (or after
``--duration``, or on Ctrl-C) it waits for the pipeline to drain, stops the
worker, renders the offline dashboard snapshot and prints a summary read from
ClickHouse with a ready-made credit-check example.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from kafka import KafkaConsumer, KafkaProducer

from creditbrain.core.errors import BrokerError
from creditbrain.infra.broker import EmbeddedBroker, ensure_topics
from creditbrain.infra.kafka_security import kafka_python_options
from creditbrain.infra.lag import wait_until_drained
from creditbrain.schemas.contract import DLQ, WARNINGS, topic_name, topic_specs
from creditbrain.settings import Settings
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator


@dataclass
class Tally:
    """What the pipeline has put out so far, counted from its topics."""

    produced: int = 0
    event_time: str = ""
    accepted: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    warnings: Counter[str] = field(default_factory=Counter)
    resolved: int = 0

    @property
    def processed(self) -> int:
        return self.accepted + sum(self.dead_letters.values())


class OutputWatcher(threading.Thread):
    """Counts accepted events, dead letters and warnings as the worker publishes them."""

    def __init__(self, bootstrap: str, prefix: str, tally: Tally) -> None:
        super().__init__(daemon=True, name="demo-output-watcher")
        self.tally = tally
        self._stop_event = threading.Event()
        self._topics = {
            topic_name(prefix, "events.accepted"): self._accepted,
            topic_name(prefix, DLQ): self._dead_letter,
            topic_name(prefix, WARNINGS): self._warning,
        }
        self._consumer = KafkaConsumer(
            *self._topics,
            bootstrap_servers=bootstrap,
            group_id=None,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            fetch_max_wait_ms=100,
            **kafka_python_options(),
        )

    def stop(self) -> None:
        self._stop_event.set()

    def run(self) -> None:
        try:
            while not self._stop_event.is_set():
                for records in self._consumer.poll(timeout_ms=200, max_records=5000).values():
                    for record in records:
                        self._topics[record.topic](record)
        finally:
            self._consumer.close()

    def _accepted(self, record: object) -> None:
        self.tally.accepted += 1

    def _dead_letter(self, record: object) -> None:
        headers = dict(getattr(record, "headers", None) or [])
        if headers.get("resolution"):  # its record arrived: the message was applied after all
            self.tally.dead_letters[headers.get("reason", b"?").decode()] -= 1
            return
        self.tally.dead_letters[headers.get("reason", b"?").decode()] += 1

    def _warning(self, record: object) -> None:
        event = orjson.loads(getattr(record, "value", b"{}"))
        if event.get("type", "").endswith(".resolved"):
            self.tally.resolved += 1
        elif event.get("type", "").endswith(".opened"):
            self.tally.warnings[event["data"]["level"]] += 1


@dataclass(frozen=True)
class DemoOptions:
    """What the demo runs."""

    scale: float = 1.0
    seed: int = 2025
    rate: float = 2000.0
    duration: float | None = None
    fresh: bool = False


class Demo:
    """The demo's moving parts; :meth:`run` drives them, the caller renders the tally."""

    def __init__(self, settings: Settings, options: DemoOptions) -> None:
        self.settings = settings
        self.options = options
        self.tally = Tally()
        self.total = 0
        self.stopping = threading.Event()
        self.data_dir = settings.data_dir.resolve()
        self.broker: EmbeddedBroker | None = None
        self.serve: subprocess.Popen[bytes] | None = None
        self.watcher: OutputWatcher | None = None
        self.simulator = Simulator(
            CityConfig.scaled(options.scale, seed=options.seed),
            pseudonym_key=settings.pseudonym_key.get_secret_value().encode(),
        )

    @property
    def demo_keys(self) -> bool:
        """Whether the demo's API accepts the public demo keys (no keys configured, not off)."""
        api = self.settings.api
        return not api.keys and api.demo_keys is not False

    @property
    def prefix(self) -> str:
        return self.settings.kafka.topic_prefix

    def start(self) -> None:
        """Broker, topics, the serve child and the output watcher."""
        if self.options.fresh and self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.broker = EmbeddedBroker(log_dir=self.data_dir / "broker").start()
        specs = topic_specs(self.prefix, self.settings.kafka.partitions)
        ensure_topics(self.broker.bootstrap, specs)
        env = dict(os.environ)
        env.update(
            CREDITBRAIN_DATA_DIR=str(self.data_dir),
            CREDITBRAIN_KAFKA__BOOTSTRAP=self.broker.bootstrap,
            CREDITBRAIN_KAFKA__TANSU="true",
        )
        if self.demo_keys:
            env["CREDITBRAIN_API__DEMO_KEYS"] = "true"
        log = (self.data_dir / "serve.log").open("ab")
        self.serve = subprocess.Popen(
            [sys.executable, "-m", "creditbrain.cli", "serve", "--loglevel", "warn"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the demo; the demo stops the child
        )
        self.watcher = OutputWatcher(self.broker.bootstrap, self.prefix, self.tally)
        self.watcher.start()

    def play(self) -> None:
        """Produce the simulated city at the configured rate until done or stopped."""
        producer = KafkaProducer(
            bootstrap_servers=self._bootstrap(),
            linger_ms=20,
            batch_size=256 * 1024,
            **kafka_python_options(),
        )
        began = time.monotonic()
        rate = self.options.rate
        try:
            for event in self.simulator.events():
                if self.stopping.is_set():
                    break
                elapsed = time.monotonic() - began
                if self.options.duration is not None and elapsed > self.options.duration:
                    break
                if rate > 0 and self.tally.produced > rate * elapsed:
                    time.sleep(min(0.05, self.tally.produced / rate - elapsed))
                producer.send(
                    topic_name(self.prefix, event.topic_suffix), key=event.key, value=event.value
                )
                self.tally.produced += 1
                if self.tally.produced % 500 == 0:
                    self.tally.event_time = event.occurred_at.date().isoformat()
            producer.flush()
        finally:
            producer.close()

    def drain(self, timeout: float = 600.0) -> bool:
        """Wait until the worker and the sink have caught up with what was produced."""
        return wait_until_drained(
            self._bootstrap(), self.settings.stream.app_id, self.prefix, True, timeout
        )

    def _bootstrap(self) -> str:
        if self.broker is None:
            raise BrokerError("the demo's broker is not running: call start() first")
        return self.broker.bootstrap

    def stop(self) -> None:
        """Stop the child (SIGINT, as Ctrl-C would), the watcher and the broker."""
        if self.serve is not None and self.serve.poll() is None:
            self.serve.send_signal(signal.SIGINT)
            try:
                self.serve.wait(60)
            except subprocess.TimeoutExpired:
                self.serve.kill()
                self.serve.wait()
        if self.watcher is not None:
            self.watcher.stop()
            self.watcher.join(5)
        if self.broker is not None:
            self.broker.stop()

    def worker_alive(self) -> bool:
        return self.serve is not None and self.serve.poll() is None

    def serve_log_tail(self, lines: int = 20) -> str:
        path = self.data_dir / "serve.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def snapshot_path(data_dir: Path) -> Path:
    """Where the demo writes the offline dashboard."""
    return data_dir / "snapshot"
