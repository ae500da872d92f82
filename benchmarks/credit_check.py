"""Credit-check latency on a large ClickHouse history (embedded chDB).

Usage::

    python -m benchmarks.credit_check [--events N] [--data-dir DIR] [--queries Q]

1. **Build** (skipped when ``DIR`` already holds at least ``N`` event rows): a
   simulated city big enough for ``N`` events (``CityConfig.scaled(N / 2e6,
   activity=11)``, about 2.1 M messages per unit of scale) is run through the
   stream's :class:`~creditbrain.streams.processor.Processor` in batches, without
   Kafka; each batch's outbound messages become rows with the sink's own row
   functions (:mod:`creditbrain.streams.rows`, mapped to tables as
   ``ClickHouseSink._to_rows`` does) and go into ``events``, ``scores``,
   ``entity_state``, ``alerts``, ``alert_events`` and ``dlq`` with one INSERT per
   table per batch. The simulator runs in a child process so that it overlaps the
   processing (the machine may have few cores). ``--processed-share S`` < 1 is
   the escape hatch for small machines: only that share of the subjects goes
   through the Processor, the others' messages are validated and pseudonymised by
   the stream's parser and stored as ``events`` rows only; the report says so.
2. **Measure** with a warm store: ``Q`` credit checks of random subjects through
   the exact ``_lookup`` of :mod:`creditbrain.cli.check` (a third organisations with
   warnings, a third organisations without, a third persons), then the last 50
   events of each of those subjects from ``events`` (whose ORDER BY
   ``(subject_id, occurred_at, event_id)`` makes it a range scan), plain as the
   subject dashboard reads it and with ``FINAL``.
3. **Report**: a human table (stderr) and one JSON object (stdout).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import time
import zlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import chdb
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from creditbrain.cli.check import _lookup
from creditbrain.infra.store import Store, connect, migrate
from creditbrain.models.scorecard import ScorecardConfig
from creditbrain.schemas.contract import DLQ, topic_name
from creditbrain.schemas.events import ParseContext, event_to_json
from creditbrain.schemas.parse import DeadLetter, parse_event
from creditbrain.simulator import CityConfig, Simulator
from creditbrain.streams import rows
from creditbrain.streams.messages import Inbound
from creditbrain.streams.processor import Processor
from creditbrain.streams.sink import rows_of

KEY = b"benchmark-pseudonym-key"
PREFIX = "credit"
DATABASE = "creditbrain"
ACTIVITY = 11.0
#: Messages per unit of ``CityConfig.scaled`` at ``ACTIVITY`` (measured: 209,588 at 0.1).
MESSAGES_PER_SCALE = 2.1e6
#: Scale per wanted event, with a little headroom for the dead letters.
SCALE_PER_EVENT = 1 / 2.0e6
META = "credit_check_build.json"
HISTORY = 10  # the `creditbrain check` default
EVENTS_LIMIT = 50


EVENTS_SQL = (
    "SELECT occurred_at, kind, source, sector, district, payload, event_id "
    "FROM events WHERE subject_id = {s:String} ORDER BY occurred_at DESC LIMIT {n:UInt32}"
)
EVENTS_FINAL_SQL = EVENTS_SQL.replace("FROM events WHERE", "FROM events FINAL WHERE")

console = Console(stderr=True)


# ---------------------------------------------------------------- build


def _produce(scale: float, seed: int, batch: int, queue: Any) -> None:
    """Child process: the simulator's messages, ``batch`` at a time, then ``None``."""
    simulator = Simulator(CityConfig.scaled(scale, activity=ACTIVITY, seed=seed), pseudonym_key=KEY)
    chunk: list[tuple[str, bytes, bytes]] = []
    for event in simulator.events():
        chunk.append((event.topic_suffix, event.key, event.value))
        if len(chunk) >= batch:
            queue.put(chunk)
            chunk = []
    if chunk:
        queue.put(chunk)
    queue.put(None)


def _to_rows(outbound: Sequence[Any], dlq_offset: int) -> tuple[dict[str, list[Any]], int]:
    """Outbound messages -> rows per table, as ``ClickHouseSink._to_rows`` maps them."""
    now = datetime.now(UTC)
    tables: dict[str, list[Any]] = defaultdict(list)
    for out in outbound:
        position = (topic_name(PREFIX, out.topic), 0, dlq_offset)
        if out.topic == DLQ:
            dlq_offset += 1
        found = rows_of(out.topic, out.value, rows.header_map(out.headers), now, position)
        for table, new in found.items():
            tables[table].extend(new)
    return tables, dlq_offset


def _insert(store: Store, table: str, table_rows: list[list[Any]]) -> None:
    store.client.insert(
        table, table_rows, column_names=list(rows.TABLE_COLUMNS[table]), database=store.database
    )


def _direct_event_row(value: bytes, ctx: ParseContext, now: datetime) -> list[Any] | None:
    """A wire message -> a row of ``events`` without scoring (``None``: a dead letter).

    The message is validated and pseudonymised by the stream's own parser
    (:func:`parse_event`, the Processor's first step) and reshaped by the sink's own
    :func:`rows.event_row`; no state, score or alert is derived from it.
    """
    parsed = parse_event(value, ctx)
    if isinstance(parsed, DeadLetter):
        return None
    return rows.event_row(event_to_json(parsed), {}, now)


def _processed(key: bytes, share: float) -> bool:
    """Whether a subject's messages go through the Processor (a stable hash of its key)."""
    return share >= 1.0 or zlib.crc32(key) < share * 2**32


def build(store: Store, events: int, batch: int, seed: int, share: float) -> dict[str, Any]:
    """Simulate, process and store a city of at least ``events`` events.

    ``share`` < 1 sends only that share of the subjects (by a hash of their key)
    through the Processor; the other subjects' messages become ``events`` rows
    straight from the wire JSON (no scores, states or alerts for them).
    """
    scale = events * SCALE_PER_EVENT
    expected = int(scale * MESSAGES_PER_SCALE)
    ctx = mp.get_context("spawn")
    queue = ctx.Queue(maxsize=3)
    producer = ctx.Process(target=_produce, args=(scale, seed, batch, queue), daemon=True)
    ctx = ParseContext(pseudonym_key=KEY)
    processor = Processor({}, ctx, ScorecardConfig())
    timings = dict.fromkeys(("wait_simulator", "process", "to_rows", "insert"), 0.0)
    written: dict[str, int] = defaultdict(int)
    messages = offset = dlq_offset = batches = 0
    processed_messages = direct_messages = skipped = 0
    began = time.perf_counter()
    producer.start()
    columns = (
        TextColumn("[bold]building[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, refresh_per_second=2) as progress:
        task = progress.add_task("build", total=expected, rate="")
        while True:
            t0 = time.perf_counter()
            chunk = queue.get()
            t1 = time.perf_counter()
            timings["wait_simulator"] += t1 - t0
            if chunk is None:
                break
            inbound = [
                Inbound(topic_name(PREFIX, suffix), 0, offset + i, key, value)
                for i, (suffix, key, value) in enumerate(chunk)
                if _processed(key, share)
            ]
            direct = [value for _, key, value in chunk if not _processed(key, share)]
            offset += len(chunk)
            outbound = processor.process(inbound).outbound
            t2 = time.perf_counter()
            tables, dlq_offset = _to_rows(outbound, dlq_offset)
            now = datetime.now(UTC)
            for value in direct:
                row = _direct_event_row(value, ctx, now)
                if row is None:
                    skipped += 1
                else:
                    tables["events"].append(row)
            processed_messages += len(inbound)
            direct_messages += len(direct)
            t3 = time.perf_counter()
            for table, table_rows in tables.items():
                if table_rows:
                    _insert(store, table, table_rows)
                    written[table] += len(table_rows)
            t4 = time.perf_counter()
            timings["process"] += t2 - t1
            timings["to_rows"] += t3 - t2
            timings["insert"] += t4 - t3
            messages += len(chunk)
            batches += 1
            elapsed = time.perf_counter() - began
            rate = f"{messages / elapsed:,.0f} msg/s · {written['events']:,} events"
            progress.update(task, completed=messages, rate=rate)
            if not console.is_terminal and batches % 20 == 0:
                console.print(f"  {messages:,} messages in {elapsed:,.0f}s ({rate})")
        progress.update(task, total=messages, completed=messages)
    producer.join()
    seconds = time.perf_counter() - began
    method = (
        "simulator (child process) -> Processor.process in batches -> streams.rows "
        "-> one INSERT per table per batch (no Kafka)"
    )
    if share < 1.0:
        method += (
            f"; HYBRID: only {share:.1%} of the subjects (crc32 of the key) went through the "
            "Processor; the others' messages were only validated and pseudonymised "
            "(schemas.parse.parse_event) and inserted into `events` (dead letters dropped; "
            "no scores, entity_state, alerts or dlq rows for those subjects)"
        )
    return {
        "method": method,
        "processed_share": share,
        "messages_through_processor": processed_messages,
        "messages_inserted_directly": direct_messages,
        "direct_messages_skipped": skipped,
        "city": {"scale": scale, "activity": ACTIVITY, "seed": seed},
        "batch_messages": batch,
        "batches": batches,
        "messages": messages,
        "rows_written": dict(written),
        "seconds": round(seconds, 1),
        "messages_per_s": round(messages / seconds),
        "stage_seconds": {k: round(v, 1) for k, v in timings.items()},
        "processor": {
            "applied": processor.counters.applied,
            "duplicates": processor.counters.duplicates,
            "dead_letters": processor.counters.dead_letters,
            "score_changes": processor.counters.score_changes,
            "alert_changes": processor.counters.alert_changes,
            "subjects": len(processor.subjects),
        },
        "finished_at": datetime.now(UTC).isoformat(),
    }


# ---------------------------------------------------------------- measure


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": len(ordered),
        "p50_ms": round(at(0.50), 2),
        "p90_ms": round(at(0.90), 2),
        "p99_ms": round(at(0.99), 2),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def _timed(call: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = call()
    return (time.perf_counter() - t0) * 1000, result


def _sample_subjects(store: Store, count: int, rng: random.Random) -> list[tuple[str, str]]:
    """``count`` (category, subject) pairs: a third each of three kinds of subject."""
    types = {
        str(r["subject_id"]): str(r["t"])
        for r in store.query_rows(
            "SELECT subject_id, any(subject_type) AS t FROM entity_state GROUP BY subject_id"
        )
    }
    alerted = {
        str(r["subject_id"]) for r in store.query_rows("SELECT DISTINCT subject_id FROM alerts")
    }
    pools = {
        "organisation_with_alerts": sorted(
            s for s, t in types.items() if t != "person" and s in alerted
        ),
        "organisation_without_alerts": sorted(
            s for s, t in types.items() if t != "person" and s not in alerted
        ),
        "person": sorted(s for s, t in types.items() if t == "person"),
    }
    pools = {name: pool for name, pool in pools.items() if pool}
    names = sorted(pools)
    picked = [(names[i % len(names)], "") for i in range(count)]
    picked = [(name, rng.choice(pools[name])) for name, _ in picked]
    rng.shuffle(picked)
    return picked


def _explain_events(store: Store, subject: str) -> dict[str, Any]:
    """What the primary key does for the events-history query (EXPLAIN indexes = 1)."""
    result = store.client.query(
        "EXPLAIN indexes = 1 " + EVENTS_SQL, parameters={"s": subject, "n": EVENTS_LIMIT}
    )
    lines = [str(row[0]) for row in result.result_rows]
    text = "\n".join(lines)
    found: dict[str, Any] = {}
    pk = text.split("PrimaryKey", 1)
    if len(pk) == 2:
        block = pk[1]
        for name in ("Parts", "Granules"):
            match = re.search(rf"{name}: (\d+)/(\d+)", block)
            if match:
                found[name.lower()] = f"{match.group(1)}/{match.group(2)}"
    found["plan"] = [line.strip() for line in lines if line.strip()]
    return found


def measure(store: Store, queries: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    picked = _sample_subjects(store, queries, rng)
    subjects = [subject for _, subject in picked]
    # Warm the store: marks, primary keys and the first parts in the page cache.
    for subject in rng.sample(subjects, min(100, len(subjects))):
        _lookup(store, subject, HISTORY)
        store.query_rows(EVENTS_SQL, {"s": subject, "n": EVENTS_LIMIT})
        store.query_rows(EVENTS_FINAL_SQL, {"s": subject, "n": EVENTS_LIMIT})
    by_category: dict[str, list[float]] = defaultdict(list)
    lookup_ms: list[float] = []
    misses = alerts_seen = 0
    for category, subject in picked:
        ms, found = _timed(lambda s=subject: _lookup(store, s, HISTORY))
        lookup_ms.append(ms)
        by_category[category].append(ms)
        if found is None:
            misses += 1
        elif found["alerts"]:
            alerts_seen += 1
    events_ms: list[float] = []
    events_final_ms: list[float] = []
    returned = 0
    for subject in subjects:
        params = {"s": subject, "n": EVENTS_LIMIT}
        ms, got = _timed(lambda p=params: store.query_rows(EVENTS_SQL, p))
        events_ms.append(ms)
        returned += len(got)
        ms, _ = _timed(lambda p=params: store.query_rows(EVENTS_FINAL_SQL, p))
        events_final_ms.append(ms)
    return {
        "credit_check": {
            **_percentiles(lookup_ms),
            "function": "creditbrain.cli.check._lookup(store, subject, history=10)",
            "not_found": misses,
            "with_alerts": alerts_seen,
            "by_category": {name: _percentiles(v) for name, v in sorted(by_category.items())},
        },
        "events_history": {
            **_percentiles(events_ms),
            "sql": EVENTS_SQL,
            "limit": EVENTS_LIMIT,
            "mean_rows": round(returned / max(1, len(subjects)), 1),
            "explain": _explain_events(store, subjects[0]),
        },
        "events_history_final": {**_percentiles(events_final_ms), "sql": EVENTS_FINAL_SQL},
    }


# ---------------------------------------------------------------- report


def counts(store: Store) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table in rows.TABLE_COLUMNS:
        out[table] = int(store.query_rows(f"SELECT count() AS n FROM {table}")[0]["n"])  # noqa: S608
    out["events_final"] = int(store.query_rows("SELECT count() AS n FROM events FINAL")[0]["n"])
    out["subjects"] = int(
        store.query_rows("SELECT uniqExact(subject_id) AS n FROM entity_state")[0]["n"]
    )
    parts = store.query_rows(
        "SELECT table, count() AS parts FROM system.parts "
        "WHERE database = {db:String} AND active GROUP BY table",
        {"db": store.database},
    )
    out["active_parts"] = {
        str(r["table"]): int(r["parts"]) for r in parts if r["table"] in rows.TABLE_COLUMNS
    }
    return out


def machine(store: Store) -> dict[str, Any]:
    memory = None
    try:
        memory = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError):
        pass
    return {
        "cpu_count": os.cpu_count(),
        "processor": platform.processor(),
        "machine": platform.machine(),
        "memory_gib": memory,
        "python": platform.python_version(),
        "chdb": chdb.__version__,
        "clickhouse": str(store.client.command("SELECT version()")),
        "platform": platform.platform(),
    }


def _human(report: dict[str, Any]) -> None:
    build_info = report["build"]
    table = Table(title="credit check on a chDB history", show_header=True)
    for column in ("query", "n", "p50 ms", "p90 ms", "p99 ms", "max ms"):
        table.add_column(column, justify="right" if column != "query" else "left")

    def row(name: str, stats: dict[str, Any]) -> None:
        table.add_row(
            name,
            f"{stats['n']:,}",
            f"{stats['p50_ms']:.2f}",
            f"{stats['p90_ms']:.2f}",
            f"{stats['p99_ms']:.2f}",
            f"{stats['max_ms']:.2f}",
        )

    m = report["measurements"]
    row("credit check (_lookup)", m["credit_check"])
    for name, stats in m["credit_check"]["by_category"].items():
        row(f"  {name}", stats)
    row(f"events history (last {EVENTS_LIMIT})", m["events_history"])
    row("events history, FINAL", m["events_history_final"])
    console.print(table)
    rows_table = Table(title="store", show_header=False)
    for name, value in report["row_counts"].items():
        if isinstance(value, int):
            rows_table.add_row(name, f"{value:,}")
    rows_table.add_row("active parts", json.dumps(report["row_counts"]["active_parts"]))
    granules = m["events_history"]["explain"].get("granules", "?")
    rows_table.add_row("events query granules (PK)", granules)
    if build_info.get("seconds") is not None:
        rows_table.add_row(
            "build",
            f"{build_info['seconds']:,.0f} s, {build_info['messages']:,} messages, "
            f"{build_info['messages_per_s']:,}/s{' (reused)' if report['reused'] else ''}",
        )
    if build_info.get("method"):
        rows_table.add_row("built by", build_info["method"])
    mach = report["machine"]
    rows_table.add_row(
        "machine",
        f"{mach['cpu_count']} cpu {mach['processor'] or mach['machine']}, "
        f"{mach['memory_gib']} GiB, python {mach['python']}, chdb {mach['chdb']}",
    )
    console.print(rows_table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.credit_check", description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the history")
    parser.add_argument("--data-dir", type=Path, default=None, help="chDB data directory")
    parser.add_argument("--queries", type=int, default=2_000, help="credit checks to time")
    parser.add_argument("--batch", type=int, default=50_000, help="messages per batch")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument(
        "--processed-share",
        type=float,
        default=1.0,
        help="share of the subjects run through the Processor (the rest: events rows only)",
    )
    args = parser.parse_args(argv)
    data_dir = (args.data_dir or Path(tempfile.mkdtemp(prefix="creditbrain-bench-"))).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    console.print(f"data directory: {data_dir}")
    store = connect(f"chdb://{data_dir}", DATABASE)
    migrate(store)
    meta_path = data_dir / META
    present = int(store.query_rows("SELECT count() AS n FROM events")[0]["n"])
    reused = present >= args.events
    if reused:
        console.print(f"reusing the {present:,} events already stored (≥ {args.events:,})")
        build_info = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    else:
        if present:
            console.print(f"{present:,} events stored, fewer than {args.events:,}: rebuilding")
            for table in rows.TABLE_COLUMNS:
                store.command(f"TRUNCATE TABLE {table}")
        build_info = build(store, args.events, args.batch, args.seed, args.processed_share)
        meta_path.write_text(json.dumps(build_info, indent=2))
    console.print("measuring ...")
    report = {
        "benchmark": "credit_check",
        "data_dir": str(data_dir),
        "events_requested": args.events,
        "reused": reused,
        "build": build_info,
        "row_counts": counts(store),
        "measurements": measure(store, args.queries, args.seed),
        "machine": machine(store),
    }
    _human(report)
    sys.stdout.write(json.dumps(report, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
