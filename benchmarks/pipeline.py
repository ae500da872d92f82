"""Throughput, latency and memory of the stream worker on the embedded broker.

Each figure comes from real processes on a real (embedded) broker:

* throughput: a backlog of simulated events is put on the input topics first; then
  (1) a raw aiokafka consumer reads it, (2) ``creditbrain worker`` processes it,
  with the online models and (3) with the rules alone, (4) a naive
  one-event-at-a-time Faust agent does the rules' work; each rate is
  messages divided by the time until the consumer group has committed the end;
* latency: the worker runs, events go in at a fixed rate, and the time from an
  event's produce timestamp to the timestamp of the score change / warning it caused;
* memory: the worker's resident set after holding a city of 100,000 subjects, less
  the same process's resident set before.
"""

from __future__ import annotations

import asyncio
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaConsumer, KafkaProducer

from creditbrain.infra.broker import EmbeddedBroker, ensure_topics
from creditbrain.infra.kafka_security import aiokafka_options, kafka_python_options
from creditbrain.infra.lag import group_lag
from creditbrain.schemas.contract import SCORES, WARNINGS, input_topics, topic_name, topic_specs
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator

KEY = b"benchmark-pseudonym-key"


def city(scale: float, seed: int = 3) -> list[tuple[str, bytes, bytes]]:
    sim = Simulator(CityConfig.scaled(scale, seed=seed), pseudonym_key=KEY)
    return [(e.topic_suffix, e.key, e.value) for e in sim.events()]


def produce(bootstrap: str, prefix: str, messages: list[tuple[str, bytes, bytes]]) -> None:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, linger_ms=20, batch_size=512 * 1024, **kafka_python_options()
    )
    for suffix, key, value in messages:
        producer.send(topic_name(prefix, suffix), key=key, value=value)
    producer.flush()
    producer.close()


def worker_env(bootstrap: str, prefix: str, app_id: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITBRAIN_")}
    env.update(
        CREDITBRAIN_KAFKA__BOOTSTRAP=bootstrap,
        CREDITBRAIN_KAFKA__TANSU="true",
        CREDITBRAIN_KAFKA__TOPIC_PREFIX=prefix,
        CREDITBRAIN_STREAM__APP_ID=app_id,
        CREDITBRAIN_DATA_DIR=str(data_dir),
        CREDITBRAIN_PSEUDONYM_KEY=KEY.decode(),
    )
    return env


async def raw_consume_rate(bootstrap: str, prefix: str, total: int) -> float:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=20,
        max_partition_fetch_bytes=8 << 20,
        **aiokafka_options(),
    )
    await consumer.start()
    try:
        tps = [
            TopicPartition(t, p)
            for t in input_topics(prefix)
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen, began = 0, time.perf_counter()
        while seen < total:
            batch = await consumer.getmany(timeout_ms=200, max_records=50_000)
            seen += sum(len(records) for records in batch.values())
        return total / (time.perf_counter() - began)
    finally:
        await consumer.stop()


def timed_drain(
    command: list[str],
    env: dict[str, str],
    bootstrap: str,
    prefix: str,
    group: str,
    total: int,
    log: Path,
    timeout: float = 900.0,
) -> float:
    """Start a worker on a full backlog; rate = messages / (time from first commit to lag 0)."""
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        topics = input_topics(prefix)
        deadline = time.monotonic() + timeout
        began = None
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{group} exited with {process.returncode}; see {log}")
            lag = group_lag(bootstrap, group, topics, tansu=True)
            if began is None and lag < total:
                began, first_lag = time.monotonic(), lag
            if lag == 0 and began is not None:
                return (total - (total - first_lag)) / max(time.monotonic() - began, 1e-6)
            time.sleep(0.25)
        raise TimeoutError(f"{group} did not drain; see {log}")
    finally:
        process.send_signal(2)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()


def throughput(scale: float, work: Path) -> dict[str, Any]:
    messages = city(scale)
    with EmbeddedBroker(log_dir=work / "broker") as broker:
        prefix = f"bench{uuid.uuid4().hex[:6]}"
        ensure_topics(broker.bootstrap, topic_specs(prefix, 4))
        produce(broker.bootstrap, prefix, messages)
        total = len(messages)
        raw = asyncio.run(raw_consume_rate(broker.bootstrap, prefix, total))

        def drain(name: str, command: list[str], **env: str) -> float:
            """The rate of one consumer group of its own on the whole backlog."""
            group = f"bench-{name}"
            return timed_drain(
                command,
                {**worker_env(broker.bootstrap, prefix, group, work / name), **env},
                broker.bootstrap,
                prefix,
                group,
                total,
                work / f"{name}.log",
            )

        worker = [sys.executable, "-m", "creditbrain.cli", "worker", "--no-sink"]
        ours = drain("ours", worker)
        rules_only = drain("rules", worker, CREDITBRAIN_STREAM__MODELS="false")
        naive = drain(
            "naive", [sys.executable, "-m", "benchmarks.naive_agent", "worker", "-l", "warn"]
        )
    return {
        "messages": total,
        "raw_aiokafka_msg_s": round(raw),
        "worker_events_s": round(ours),
        "worker_rules_only_events_s": round(rules_only),
        "naive_agent_events_s": round(naive),
    }


def latency(rate: float, seconds: float, work: Path) -> dict[str, Any]:
    messages = city(0.5, seed=5)[: int(rate * seconds)]
    with EmbeddedBroker(log_dir=work / "broker-latency") as broker:
        prefix = f"lat{uuid.uuid4().hex[:6]}"
        ensure_topics(broker.bootstrap, topic_specs(prefix, 4))
        env = worker_env(broker.bootstrap, prefix, "bench-latency", work / "latency")
        log = (work / "latency.log").open("wb")
        process = subprocess.Popen(
            [sys.executable, "-m", "creditbrain.cli", "worker", "--no-sink"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            time.sleep(12)  # the worker joins its group (about 5 s on the embedded broker)
            sent: dict[str, float] = {}
            producer = KafkaProducer(
                bootstrap_servers=broker.bootstrap, linger_ms=0, **kafka_python_options()
            )
            began = time.perf_counter()
            for i, (suffix, key, value) in enumerate(messages):
                due = began + i / rate
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
                stamp = time.time()
                event_id = _event_id(value)
                if isinstance(event_id, str):
                    sent[event_id] = stamp
                producer.send(
                    topic_name(prefix, suffix), key=key, value=value, timestamp_ms=int(stamp * 1000)
                )
            producer.flush()
            time.sleep(5)
            return _latencies(broker.bootstrap, prefix, sent) | {
                "rate": rate,
                "events": len(messages),
            }
        finally:
            process.send_signal(2)
            process.wait(30)


def _event_id(value: bytes) -> object:
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:  # the simulator's deliberately broken messages
        return None
    return doc.get("event_id") if isinstance(doc, dict) else None


def _latencies(bootstrap: str, prefix: str, sent: dict[str, float]) -> dict[str, Any]:
    consumer = KafkaConsumer(
        topic_name(prefix, SCORES),
        topic_name(prefix, WARNINGS),
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
        **kafka_python_options(),
    )
    scores: list[float] = []
    warnings: list[float] = []
    for record in consumer:
        body = orjson.loads(record.value)
        if record.topic.endswith(SCORES):
            cause = body.get("event_id")
            if cause in sent:
                scores.append(record.timestamp / 1000 - sent[cause])
        else:
            reasons = body["data"].get("reasons", [])
            causes = [r["event_id"] for r in reasons if r["event_id"] in sent]
            if causes:
                warnings.append(record.timestamp / 1000 - max(sent[c] for c in causes))
    consumer.close()
    return {"score_change_ms": _percentiles(scores), "warning_ms": _percentiles(warnings)}


def _percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {"n": 0}
    ordered = sorted(v * 1000 for v in values)
    q = statistics.quantiles(ordered, n=100)
    return {
        "n": len(ordered),
        "p50": round(q[49], 1),
        "p99": round(q[98], 1),
        "max": round(ordered[-1], 1),
    }


def memory(subjects: int) -> dict[str, Any]:
    """Resident memory of the worker's state for ``subjects`` subjects (in a child process)."""
    code = f"""
import gc, resource, orjson
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.events import ParseContext
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator
from creditbrain.streams.messages import Inbound
from creditbrain.streams.processor import Processor
def rss(): return int(open('/proc/self/statm').read().split()[1]) * 4096
config = CityConfig.scaled({subjects} / 52300, seed=9)
processor = Processor({{}}, ParseContext(pseudonym_key=b"k"), DEFAULT_SCORECARD)
batch, n = [], 0
gc.collect(); before = rss()
for event in Simulator(config, pseudonym_key=b"k").events():
    batch.append(Inbound(event.topic_suffix, 0, n, event.key, event.value)); n += 1
    if len(batch) == 5000:
        processor.process(batch); batch = []
processor.process(batch); batch = None
gc.collect(); after = rss()
print(orjson.dumps({{"subjects_held": len(processor.subjects), "events": n,
                    "alert_states": len(processor.alert_states),
                    "bytes": after - before}}).decode())
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    result: dict[str, Any] = orjson.loads(out.stdout.splitlines()[-1])
    result["mib_per_100k_subjects"] = round(
        result["bytes"] / result["subjects_held"] * 100_000 / 2**20, 1
    )
    del result["bytes"]
    return result


def machine() -> dict[str, Any]:
    import platform

    return {
        "cpus": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "max_rss_mib_bench": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
