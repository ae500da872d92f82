"""Credit checks while one key floods ``GET /alerts?limit=1000``: with and without limits.

Usage::

    python -m benchmarks.api_flood [--alerts N] [--subjects S] [--flooders F] [--seconds T]

A chDB store under a temporary directory gets ``N`` alerts and ``S`` subjects. The
API runs in a child process (uvicorn, as ``creditbrain api`` runs it) once per
phase, over the same store, in this order:

1. ``quiet``: a service-hall key makes credit checks one after another, nobody else
   calls;
2. ``flood, limited``: the same checks while ``F`` concurrent clients with one grid
   key loop on ``GET /alerts?limit=1000`` without pausing (a 429 does not slow them
   down), with the default per-key limits;
3. ``flood, limited, Retry-After obeyed``: as 2., the clients waiting as told after
   a 429 (what is left is the cost of the lists the limit lets through);
4. ``flood, unlimited``: as 2., with the read limit set out of reach (what the API
   did before every route was limited);
5. ``quiet, again``: as 1., to see how far the machine's own load drifted.

The flood runs in a process of its own, so that its clients do not compete with the
timed checks for the benchmark's event loop.

Each phase runs its checks for ``T`` seconds (or 400 checks). Credit checks have a
limit out of reach in every phase, so that only the flood is measured. Prints a
human table (stderr) and one JSON object (stdout).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing as mp
import os
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from creditbrain.infra.store import Store, connect, migrate
from creditbrain.schemas.identifiers import generate_credit_code

DATABASE = "creditbrain"
HALL_KEY, GRID_KEY = "bench-hall", "bench-grid"
SECTORS = ("food_drug", "construction", "finance", "transport")
DISTRICTS = ("371102", "371103", "371121", "371122")
MAX_CHECKS = 400
console = Console(stderr=True)

_ENTITY_COLUMNS = (
    "subject_id", "subject_type", "subject_name", "sector", "district", "score", "grade",
    "reasons", "records", "last_event_at", "version",
)  # fmt: skip
_ALERT_COLUMNS = (
    "alert_id", "subject_id", "subject_type", "subject_name", "sector", "district", "rule",
    "level", "status", "event_type", "score", "grade", "previous_grade", "reasons",
    "first_event_at", "event_time", "acknowledged_by", "acknowledged_at", "version",
)  # fmt: skip


def fill(store: Store, subjects: int, alerts: int, seed: int) -> list[str]:
    """``subjects`` enterprises and ``alerts`` open alerts on them; the subject ids."""
    rng = random.Random(seed)
    now = datetime(2026, 3, 5, tzinfo=UTC)
    ids = [generate_credit_code(rng, rng.choice(DISTRICTS)) for _ in range(subjects)]
    store.insert_rows(
        "entity_state",
        [{"subject_id": s, "subject_type": "enterprise", "subject_name": "日照某某有限公司",
          "sector": rng.choice(SECTORS), "district": rng.choice(DISTRICTS), "score": 700,
          "grade": "C", "reasons": "[]", "records": 0, "last_event_at": now, "version": 1}
         for s in ids],
        _ENTITY_COLUMNS,
    )  # fmt: skip
    rows = [
        {"alert_id": uuid.UUID(int=rng.getrandbits(128)).hex, "subject_id": rng.choice(ids),
         "subject_type": "enterprise", "subject_name": "日照某某有限公司",
         "sector": rng.choice(SECTORS), "district": rng.choice(DISTRICTS),
         "rule": "dishonest_debtor_listed", "level": "red", "status": "open",
         "event_type": "cn.creditbrain.warning.opened", "score": 600, "grade": "D",
         "previous_grade": "C", "reasons": "[]", "first_event_at": now,
         "event_time": now + timedelta(seconds=i), "acknowledged_by": "",
         "acknowledged_at": None, "version": 1}
        for i in range(alerts)
    ]  # fmt: skip
    for start in range(0, len(rows), 10_000):
        store.insert_rows("alerts", rows[start : start + 10_000], _ALERT_COLUMNS)
    return ids


def _fill_in(data_dir: str, subjects: int, alerts: int, seed: int) -> list[str]:
    with connect(f"chdb://{data_dir}", DATABASE) as store:
        migrate(store)
        return fill(store, subjects, alerts, seed)


class _NoPublisher:
    async def send(self, topic: str, key: bytes, value: bytes | None) -> None:
        raise RuntimeError("the benchmark changes no policy")


def _serve(data_dir: str, port: int, unlimited_reads: bool) -> None:
    """Child process: the API on ``port`` over the store in ``data_dir``."""
    import uvicorn

    from creditbrain.api import create_app
    from creditbrain.settings import Settings

    keys = [
        {"name": name, "role": role, "key_sha256": hashlib.sha256(key.encode()).hexdigest()}
        for key, name, role in ((HALL_KEY, "hall", "service_hall"), (GRID_KEY, "grid", "grid"))
    ]
    api: dict[str, Any] = {
        "keys": keys,
        "credit_checks_per_minute": 1e9,
        "credit_check_burst": 10**9,
    }
    if unlimited_reads:
        api.update(reads_per_minute=1e9, read_burst=10**9)
    settings = Settings(api=api)
    store = connect(f"chdb://{data_dir}", DATABASE)
    app = create_app(settings, lambda: store, _NoPublisher())
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {
        "n": len(ordered),
        "p50_ms": round(at(0.50), 1),
        "p99_ms": round(at(0.99), 1),
        "max_ms": round(ordered[-1], 1),
        "mean_ms": round(statistics.fmean(ordered), 1),
    }


def _flood(base: str, flooders: int, polite: bool, stop: Any, results: Any) -> None:
    """Child process: ``flooders`` clients of the grid key on ``GET /alerts?limit=1000``.

    ``polite`` clients wait as ``Retry-After`` says after a 429; the others ask again
    at once.

    A process of its own, so that the flood's clients do not share an event loop
    (and the GIL) with the credit checks that are timed.
    """
    codes: Counter[int | str] = Counter()
    retry_after: set[str] = set()
    grid = {"X-API-Key": GRID_KEY}

    async def flood(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            try:
                got = await client.get("/alerts", params={"limit": 1000}, headers=grid)
            except httpx.TransportError as error:  # counted, and the flood goes on
                codes[type(error).__name__] += 1
                continue
            codes[got.status_code] += 1
            if got.status_code == 429:
                retry_after.add(got.headers.get("Retry-After", "missing"))
                if polite:
                    await asyncio.sleep(float(got.headers.get("Retry-After", "1")))

    async def run() -> None:
        limits = httpx.Limits(max_connections=flooders + 4)
        timeout = httpx.Timeout(300.0)
        async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as client:
            await asyncio.gather(*(flood(client) for _ in range(flooders)))

    asyncio.run(run())
    results.put({"statuses": dict(codes), "retry_after": sorted(retry_after, key=int)})


async def _checks(base: str, subjects: list[str], seconds: float) -> dict[str, Any]:
    rng = random.Random(7)
    latencies: list[float] = []
    codes: Counter[int] = Counter()
    began = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=httpx.Timeout(300.0)) as client:
        while time.monotonic() - began < seconds and len(latencies) < MAX_CHECKS:
            t0 = time.perf_counter()
            got = await client.get(
                f"/subjects/{rng.choice(subjects)}",
                params={"purpose": "benchmark"},
                headers={"X-API-Key": HALL_KEY},
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            codes[got.status_code] += 1
    return {
        "checks": _percentiles(latencies),
        "check_statuses": dict(codes),
        "seconds": round(time.monotonic() - began, 1),
    }


def _phase(
    base: str, subjects: list[str], flooders: int, polite: bool, seconds: float
) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    stop, results = ctx.Event(), ctx.Queue()
    flood = None
    if flooders:
        flood = ctx.Process(
            target=_flood, args=(base, flooders, polite, stop, results), daemon=True
        )
        flood.start()
        time.sleep(3.0)  # the flood under way before the first check
    report = asyncio.run(_checks(base, subjects, seconds))
    stop.set()
    flooded = results.get(timeout=600) if flood else {"statuses": {}, "retry_after": []}
    if flood:
        flood.join(60)
    return {
        **report,
        "flood_statuses": flooded["statuses"],
        "flood_retry_after": flooded["retry_after"],
    }


def _run_phase(
    data_dir: Path,
    subjects: list[str],
    flooders: int,
    seconds: float,
    unlimited: bool,
    polite: bool = False,
) -> dict[str, Any]:
    port = _free_port()
    child = mp.get_context("spawn").Process(
        target=_serve, args=(str(data_dir), port, unlimited), daemon=True
    )
    child.start()
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API did not start")
            time.sleep(0.2)
        return _phase(base, subjects, flooders, polite, seconds)
    finally:
        child.terminate()
        child.join(30)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.api_flood", description=__doc__)
    parser.add_argument("--alerts", type=int, default=50_000)
    parser.add_argument("--subjects", type=int, default=5_000)
    parser.add_argument("--flooders", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)
    data_dir = Path(tempfile.mkdtemp(prefix="creditbrain-flood-")).resolve()
    console.print(f"data directory: {data_dir}")
    # Filled in a child of its own: chDB lets one process at a time hold a data path.
    with mp.get_context("spawn").Pool(1) as pool:
        subjects = pool.apply(_fill_in, (str(data_dir), args.subjects, args.alerts, args.seed))
    phases = {}
    for name, flooders, unlimited, polite in (
        ("quiet", 0, False, False),
        ("flood, limited", args.flooders, False, False),
        ("flood, limited, Retry-After obeyed", args.flooders, False, True),
        ("flood, unlimited", args.flooders, True, False),
        ("quiet, again", 0, False, False),  # how much the machine itself drifted meanwhile
    ):
        console.print(f"phase: {name} ...")
        phases[name] = _run_phase(data_dir, subjects, flooders, args.seconds, unlimited, polite)
    table = Table(title=f"credit checks while {args.flooders} clients of one key list alerts")
    for column in ("phase", "checks", "p50 ms", "p99 ms", "max ms", "flood answers"):
        table.add_column(column)
    for name, phase in phases.items():
        checks = phase["checks"]
        table.add_row(
            name, str(checks["n"]), f"{checks['p50_ms']:.1f}", f"{checks['p99_ms']:.1f}",
            f"{checks['max_ms']:.1f}", json.dumps(phase["flood_statuses"]),
        )  # fmt: skip
    console.print(table)
    report = {
        "benchmark": "api_flood",
        "alerts": args.alerts,
        "subjects": args.subjects,
        "flooders": args.flooders,
        "phases": phases,
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg(),
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
