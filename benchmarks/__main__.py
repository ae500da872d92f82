"""``python -m benchmarks``: every figure of BENCHMARKS.md in one run.

Options: ``--scale`` (city size of the throughput backlog, default 0.5 = ~108k events),
``--rate`` / ``--seconds`` (latency load, default 1,000 events/s for 30 s),
``--subjects`` (memory, default 100,000), ``--models-scale`` (city replayed through
the early-warning models, default 0.2), ``--check-events`` (history for the
credit-check latency, default 10,000,000; 0 skips it), ``--json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks import models, pipeline


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--scale", type=float, default=0.5)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--subjects", type=int, default=100_000)
    parser.add_argument("--models-scale", type=float, default=0.2)
    parser.add_argument("--check-events", type=int, default=10_000_000)
    parser.add_argument(
        "--check-dir",
        type=Path,
        default=None,
        help="keep the credit-check history here and reuse it on reruns",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="creditbrain-bench-"))
    figures = {"machine": pipeline.machine()}
    print(f"working in {work}", flush=True)
    figures["throughput"] = pipeline.throughput(args.scale, work)
    print(json.dumps(figures["throughput"]), flush=True)
    figures["latency"] = pipeline.latency(args.rate, args.seconds, work)
    print(json.dumps(figures["latency"]), flush=True)
    figures["memory"] = pipeline.memory(args.subjects)
    print(json.dumps(figures["memory"]), flush=True)
    figures["models"] = models.models(args.models_scale)
    print(json.dumps(figures["models"]), flush=True)
    if args.check_events:
        # Its own process: chDB allows one data path per process.
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.credit_check",
                "--events",
                str(args.check_events),
                "--data-dir",
                str(args.check_dir or work / "history"),
            ],
            capture_output=True,
            check=True,
        )
        figures["credit_check"] = json.loads(out.stdout.decode().strip().splitlines()[-1])
    print(json.dumps(figures, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
