"""Credit checks through the HTTP API under concurrent load.

Usage::

    python -m benchmarks.check_load [--events N] [--data-dir DIR] [--seconds S]
                                    [--concurrency 1,8,32]

1. **Build** (in a child process; skipped when ``DIR`` already holds ``N`` events): a
   simulated city through the stream's Processor into a chDB store, as
   :func:`benchmarks.credit_check.build` does (every subject processed). The child
   also samples the subjects to check (a third organisations with warnings, a third
   without, a third persons) into ``DIR/check_load_subjects.json``.
2. **Serve**: ``creditbrain api`` on that store in a process of its own, as deployed,
   with the rate limit raised out of the way (every check is still audited).
3. **Load**: for each concurrency ``c``, ``c`` clients (asyncio + httpx, one
   connection each) send ``GET /subjects/{id}?purpose=...`` back to back for ``S``
   seconds after a short warm-up; checks per second and latency percentiles.
4. **Report**: one JSON object on stdout, a table on stderr.

The load generator shares the machine with the API, as a service hall's clients
would not; on 2 cores it takes part of one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

DATABASE = "creditbrain"
SUBJECTS_FILE = "check_load_subjects.json"
KEY = "demo-regulator"
PURPOSE = "benchmark"


def _build(data_dir: str, events: int, seed: int, sample: int) -> None:
    """Child process: the history (unless present) and the subjects to check."""
    from benchmarks.credit_check import META, _sample_subjects, build
    from creditbrain.infra.store import connect, migrate

    store = connect(f"chdb://{data_dir}", DATABASE)
    migrate(store)
    present = int(store.query_rows("SELECT count() AS n FROM events")[0]["n"])
    if present < events:
        info = build(store, events, 50_000, seed, 1.0)
        (Path(data_dir) / META).write_text(json.dumps(info, indent=2))
    picked = _sample_subjects(store, sample, random.Random(seed))
    counts = {
        table: int(store.query_rows(f"SELECT count() AS n FROM {table}")[0]["n"])  # noqa: S608
        for table in ("events", "scores", "entity_state", "alerts")
    }
    out = {"subjects": [subject for _, subject in picked], "row_counts": counts}
    (Path(data_dir) / SUBJECTS_FILE).write_text(json.dumps(out))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start_api(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDITBRAIN_")}
    env.update(
        CREDITBRAIN_CLICKHOUSE__DSN=f"chdb://{data_dir}",
        CREDITBRAIN_CLICKHOUSE__DATABASE=DATABASE,
        CREDITBRAIN_PSEUDONYM_KEY="benchmark-pseudonym-key",
        CREDITBRAIN_API__CREDIT_CHECKS_PER_MINUTE="1000000000",
        CREDITBRAIN_API__CREDIT_CHECK_BURST="1000000",
    )
    log = (data_dir / "check_load_api.log").open("ab")
    command = [sys.executable, "-m", "creditbrain.cli", "api", "--port", str(port)]
    return subprocess.Popen(command, env=env, stdout=log, stderr=log)


def _wait_for(base: str, process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the API exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the API did not answer /health in time")


def _percentile(ordered: Sequence[float], q: float) -> float:
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


async def _load(base: str, subjects: list[str], clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    stop = 0.0

    async def client(index: int) -> None:
        rng = random.Random(index)
        limits = httpx.Limits(max_connections=1)
        headers = {"X-API-Key": KEY}
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
            while time.perf_counter() < stop:
                subject = rng.choice(subjects)
                began = time.perf_counter()
                response = await http.get(
                    f"/subjects/{subject}", params={"purpose": PURPOSE}, headers=headers
                )
                ended = time.perf_counter()
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code == 200:
                    latencies.append((ended - began) * 1000)

    stop = time.perf_counter() + seconds
    began = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "concurrency": clients,
        "seconds": round(elapsed, 1),
        "checks": len(ordered),
        "checks_per_s": round(len(ordered) / elapsed, 1),
        "p50_ms": _percentile(ordered, 0.50),
        "p90_ms": _percentile(ordered, 0.90),
        "p99_ms": _percentile(ordered, 0.99),
        "max_ms": round(ordered[-1], 1),
        "statuses": statuses,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.check_load", description=__doc__)
    parser.add_argument("--events", type=int, default=300_000, help="events in the history")
    parser.add_argument("--data-dir", type=Path, default=None, help="chDB data directory")
    parser.add_argument("--seconds", type=float, default=20.0, help="load per concurrency")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before measuring")
    parser.add_argument("--concurrency", default="1,8,32", help="comma-separated levels")
    parser.add_argument("--subjects", type=int, default=2_000, help="subjects sampled")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)
    data_dir = (args.data_dir or Path(tempfile.mkdtemp(prefix="creditbrain-load-"))).resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    print(f"data directory: {data_dir}", file=sys.stderr)
    # chDB holds its data path for the life of a process: build in a child.
    child = mp.get_context("spawn").Process(
        target=_build, args=(str(data_dir), args.events, args.seed, args.subjects)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"the build failed ({child.exitcode})")
    sampled = json.loads((data_dir / SUBJECTS_FILE).read_text())
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    api = _start_api(data_dir, port)
    results = []
    try:
        _wait_for(base, api)
        asyncio.run(_load(base, sampled["subjects"], 8, args.warmup))
        for level in (int(part) for part in args.concurrency.split(",")):
            result = asyncio.run(_load(base, sampled["subjects"], level, args.seconds))
            results.append(result)
            print(
                f"concurrency {level:>3}: {result['checks_per_s']:>7.1f} checks/s, "
                f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, {result['statuses']}",
                file=sys.stderr,
            )
    finally:
        api.terminate()
        api.wait(30)
    report = {
        "benchmark": "check_load",
        "data_dir": str(data_dir),
        "events_requested": args.events,
        "row_counts": sampled["row_counts"],
        "cpu_count": os.cpu_count(),
        "load_average_after": os.getloadavg(),
        "results": results,
    }
    sys.stdout.write(json.dumps(report) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
