"""The credit check's store read alone: the one read against the former five queries.

Usage::

    python -m benchmarks.check_query --data-dir DIR [--checks N] [--threads 1,2]

``DIR`` is a store built by :mod:`benchmarks.check_load` (or ``benchmarks.credit_check``).
For the same random subjects, in one process and alternating so that both see the same
machine:

- **five queries**: what ``GET /subjects/{id}`` read before, one table at a time with
  ``FINAL`` (entity_state, list entries, scores, open alerts, acknowledgements);
- **one read**: :func:`creditbrain.api.lookup.fetch_subjects`.

Each is timed per check in wall time and in CPU time of the process (chDB's threads
included), which a busy machine inflates less. Then ``T`` threads run one reads side by
side, each on its own client and all on one shared client: checks per second.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from creditbrain.api.lookup import fetch_subjects
from creditbrain.infra.store import Store, connect

SUBJECTS_FILE = "check_load_subjects.json"
HISTORY = 20  # the API's default score history

#: The reads of the check before the one read (the removed code, kept for comparison).
FORMER = (
    "SELECT subject_id, subject_type, subject_name, sector, district, score, grade, "
    "reasons, last_event_at FROM entity_state FINAL WHERE subject_id IN {ids:Array(String)}",
    "SELECT DISTINCT JSONExtractString(payload, 'list') AS list FROM events "
    "WHERE subject_id = {id:String} AND kind = 'list_entry'",
    "SELECT as_of, score, grade, cause, event_id FROM scores FINAL "
    "WHERE subject_id = {id:String} ORDER BY as_of DESC LIMIT {n:UInt32}",
    "SELECT alert_id, level, rule, status, event_time FROM alerts FINAL "
    "WHERE subject_id IN {ids:Array(String)} AND status != 'resolved' ORDER BY event_time DESC",
    "SELECT alert_id, acknowledged_by AS by, role, acknowledged_at AS at, note "
    "FROM alert_acks FINAL WHERE alert_id IN {alerts:Array(String)} ORDER BY at",
)


def former(store: Store, subject: str) -> int:
    """The five queries; returns the rows read."""
    ids = [subject]
    state = store.query_rows(FORMER[0], {"ids": ids})
    lists = store.query_rows(FORMER[1], {"id": subject})
    history = store.query_rows(FORMER[2], {"id": subject, "n": HISTORY})
    alerts = store.query_rows(FORMER[3], {"ids": ids})
    acks = store.query_rows(FORMER[4], {"alerts": [str(a["alert_id"]) for a in alerts]})
    return len(state) + len(lists) + len(history) + len(alerts) + len(acks)


def one_read(store: Store, subject: str) -> int:
    found = fetch_subjects(store, [subject], HISTORY)
    return sum(1 + len(f.history) + len(f.alerts) for f in found)


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(ordered[len(ordered) // 2], 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def sequential(store: Store, subjects: list[str]) -> dict[str, Any]:
    reads: dict[str, Callable[[Store, str], int]] = {"five_queries": former, "one_read": one_read}
    wall: dict[str, list[float]] = {name: [] for name in reads}
    cpu: dict[str, list[float]] = {name: [] for name in reads}
    for subject in subjects:
        for name, read in reads.items():
            w0, c0 = time.perf_counter(), time.process_time()
            read(store, subject)
            wall[name].append((time.perf_counter() - w0) * 1000)
            cpu[name].append((time.process_time() - c0) * 1000)
    return {
        name: {"wall": _stats(wall[name]), "cpu": _stats(cpu[name]), "n": len(wall[name])}
        for name in reads
    }


def threaded(dsn: str, subjects: list[str], threads: int, shared: bool, seconds: float) -> float:
    """Checks per second of ``threads`` threads doing one reads for ``seconds``."""
    one = connect(dsn, "creditbrain")
    stores = [one if shared else connect(dsn, "creditbrain") for _ in range(threads)]
    done = [0] * threads
    stop = time.perf_counter() + seconds

    def run(index: int) -> None:
        rng = random.Random(index)
        while time.perf_counter() < stop:
            one_read(stores[index], rng.choice(subjects))
            done[index] += 1

    began = time.perf_counter()
    workers = [threading.Thread(target=run, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return round(sum(done) / (time.perf_counter() - began), 1)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.check_query", description=__doc__)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--checks", type=int, default=300)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    data_dir = args.data_dir.resolve()
    dsn = f"chdb://{data_dir}"
    subjects = json.loads((data_dir / SUBJECTS_FILE).read_text())["subjects"]
    picked = random.Random(1).sample(subjects, min(args.checks, len(subjects)))
    store = connect(dsn, "creditbrain")
    for subject in picked[:30]:  # warm: marks and primary keys in memory
        former(store, subject)
        one_read(store, subject)
    report: dict[str, Any] = {"benchmark": "check_query", "sequential": sequential(store, picked)}
    report["threads"] = {
        f"{n}_{'shared' if shared else 'own'}_client": threaded(
            dsn, subjects, n, shared, args.seconds
        )
        for n in (int(part) for part in args.threads.split(","))
        for shared in ((False, True) if n > 1 else (False,))
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
