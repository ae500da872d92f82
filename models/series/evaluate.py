"""Precision and recall of series detectors on labelled synthetic series.

A labelled window counts as *detected* if any score inside it, or within
``tolerance`` points after it, reaches the threshold. A *false alarm* is a run of
consecutive scores at or above the threshold that starts outside every window and
its tolerance. Precision is detections / (detections + false alarms), recall is
detections / windows, both pooled over all series of the suite.

Reproduce the figures of ``docs/series-detector.md`` with::

    python -m creditbrain.models.series.evaluate --seed 42
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

from river import base

from .detector import SeriesDetector
from .synthetic import KINDS, LabelledSeries, suite
from .zscore import RollingZScore

__all__ = ["THRESHOLDS", "Tally", "count_alarms", "evaluate", "run_detector"]

THRESHOLDS = (0.5, 0.7, 0.9)

DETECTORS: dict[str, Callable[[], base.AnomalyDetector]] = {
    "SeriesDetector": SeriesDetector,
    "RollingZScore(100)": RollingZScore,
}


@dataclass
class Tally:
    """Detections, false alarms and windows, added up over series."""

    detected: int = 0
    false_alarms: int = 0
    windows: int = 0

    def add(self, other: Tally) -> None:
        self.detected += other.detected
        self.false_alarms += other.false_alarms
        self.windows += other.windows

    @property
    def precision(self) -> float:
        flagged = self.detected + self.false_alarms
        return self.detected / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        return self.detected / self.windows if self.windows else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def run_detector(detector: base.AnomalyDetector, series: LabelledSeries) -> list[float]:
    """Score then learn every point of ``series``, in order."""
    scores = []
    for t, y in zip(series.timestamps, series.values, strict=True):
        x: dict[Hashable, Any] = {"timestamp": t, "value": y}
        scores.append(detector.score_one(x))
        detector.learn_one(x)
    return scores


def count_alarms(
    scores: Sequence[float], windows: Sequence[tuple[int, int]], threshold: float, tolerance: int
) -> Tally:
    """Detected windows and false-alarm runs of one series at one threshold.

    Examples
    --------
    >>> scores = [0, 0, 0.9, 0.8, 0, 0, 0, 0.6, 0, 0.95]
    >>> count_alarms(scores, [(2, 2), (5, 5)], threshold=0.5, tolerance=1)
    Tally(detected=1, false_alarms=2, windows=2)
    """
    covered = [False] * len(scores)
    detected = 0
    for first, last in windows:
        stop = min(len(scores), last + tolerance + 1)
        for i in range(first, stop):
            covered[i] = True
        detected += any(scores[i] >= threshold for i in range(first, stop))
    false_alarms = 0
    for i, score in enumerate(scores):
        starts_run = score >= threshold and (i == 0 or scores[i - 1] < threshold)
        false_alarms += starts_run and not covered[i]
    return Tally(detected, false_alarms, len(windows))


@dataclass
class Report:
    """Tallies per detector, threshold and kind of series, and the time spent."""

    tallies: dict[tuple[str, float, str], Tally] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    points: int = 0

    def total(self, detector: str, threshold: float) -> Tally:
        tally = Tally()
        for (name, level, _), part in self.tallies.items():
            if name == detector and level == threshold:
                tally.add(part)
        return tally


def evaluate(seed: int, per_kind: int = 3, tolerance: int = 5) -> Report:
    """Run every detector of :data:`DETECTORS` on the suite of ``seed``."""
    report = Report()
    for series in suite(seed, per_kind):
        report.points += len(series.values)
        for name, factory in DETECTORS.items():
            started = time.perf_counter()
            scores = run_detector(factory(), series)
            report.seconds[name] = report.seconds.get(name, 0.0) + time.perf_counter() - started
            for threshold in THRESHOLDS:
                key = (name, threshold, series.kind)
                report.tallies.setdefault(key, Tally())
                report.tallies[key].add(count_alarms(scores, series.windows, threshold, tolerance))
    return report


def format_report(report: Report) -> str:
    """The report as Markdown tables: totals, then detections and false alarms per kind."""
    lines = [
        "| detector | threshold | precision | recall | F1 | detected | false alarms | us/point |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in DETECTORS:
        speed = 1e6 * report.seconds[name] / report.points
        for threshold in THRESHOLDS:
            t = report.total(name, threshold)
            lines.append(
                f"| {name} | {threshold} | {t.precision:.2f} | {t.recall:.2f} | {t.f1:.2f} "
                f"| {t.detected}/{t.windows} | {t.false_alarms} | {speed:.0f} |"
            )
    lines += ["", "| kind | " + " | ".join(f"{name} @0.5" for name in DETECTORS) + " |"]
    lines.append("|---" * (len(DETECTORS) + 1) + "|")
    for kind in KINDS:
        cells = []
        for name in DETECTORS:
            t = report.tallies[(name, 0.5, kind)]
            cells.append(f"{t.detected}/{t.windows} found, {t.false_alarms} false")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the evaluation tables for one seed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--per-kind", type=int, default=3)
    args = parser.parse_args(argv)
    print(format_report(evaluate(args.seed, args.per_kind)))


if __name__ == "__main__":
    main()
