"""CSV in, CSV out: the file side of ``creditbrain models detect-series``.

The input has a header with (at least) the columns ``timestamp`` and ``value``, in
any order and case; other columns are ignored. The output repeats every row's
timestamp and value exactly as given and adds ``anomaly_score``.

Timestamps may be ISO-8601 date-times (with or without a UTC offset), dates, or
epoch seconds (numbers above 10^11 are read as epoch milliseconds). Seasonal
phases follow the local clock the timestamp was written in, since that is the clock
a city's days and weeks run on. A value that is blank, ``NaN``, ``null``, ``NA``,
``None`` or infinite is *missing*: its row is kept, scored 0 and not learned from.
Anything else that is not a number is an error, as is a timestamp that cannot be
read, reported with its line number.
"""

from __future__ import annotations

import csv
import math
import sys
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from river import base

from creditbrain.core.errors import InputFileError

from .detector import SeriesDetector

__all__ = [
    "STDIO",
    "Series",
    "Summary",
    "detect_csv",
    "parse_timestamp",
    "parse_value",
    "read_series",
]

STDIO = "-"
"""The path that stands for standard input or output."""

_MISSING = frozenset({"", "nan", "null", "none", "na", "n/a"})
_EPOCH = datetime(1970, 1, 1)
_MILLISECONDS = 1e11


@dataclass(frozen=True)
class Series:
    """The rows of a series file: raw text as given, and the parsed points."""

    raw: list[tuple[str, str]]
    timestamps: list[float]
    values: list[float | None]


@dataclass(frozen=True)
class Summary:
    """What a run of the detector over a file found."""

    rows: int
    max_score: float
    above_half: int


def parse_timestamp(text: str) -> float:
    """Seconds since 1970-01-01 on the clock the timestamp is written in.

    Parameters
    ----------
    text
        An ISO-8601 date-time or date, or epoch seconds.

    Examples
    --------
    >>> parse_timestamp("2024-01-01T08:00:00+08:00") - parse_timestamp("2024-01-01")
    28800.0
    >>> parse_timestamp("1704067200"), parse_timestamp("1704067200000")
    (1704067200.0, 1704067200.0)
    >>> parse_timestamp("yesterday")
    Traceback (most recent call last):
    ...
    ValueError: not an ISO-8601 date or time, nor epoch seconds: 'yesterday'
    """
    text = text.strip()
    try:
        number = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(number):
            raise ValueError(f"not a finite epoch time: {text!r}")
        return number / 1000.0 if abs(number) > _MILLISECONDS else number
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise ValueError(f"not an ISO-8601 date or time, nor epoch seconds: {text!r}") from None
    # An offset only says which clock the time was read on; that clock is kept.
    return (moment.replace(tzinfo=None) - _EPOCH).total_seconds()


def parse_value(text: str) -> float | None:
    """The number in ``text``, or ``None`` if it is marked missing.

    Examples
    --------
    >>> parse_value(" 3.5 "), parse_value(""), parse_value("NaN"), parse_value("inf")
    (3.5, None, None, None)
    """
    text = text.strip()
    if text.lower() in _MISSING:
        return None
    number = float(text)
    return number if math.isfinite(number) else None


@contextmanager
def _open(path: str, mode: str) -> Iterator[IO[str]]:
    if path == STDIO:
        yield sys.stdin if mode == "r" else sys.stdout
        return
    try:
        with Path(path).open(
            mode, encoding="utf-8-sig" if mode == "r" else "utf-8", newline=""
        ) as f:
            yield f
    except OSError as exc:
        raise InputFileError(
            f"cannot {'read' if mode == 'r' else 'write'} {path}: {exc.strerror}"
        ) from exc


def read_series(path: str) -> Series:
    """Read a ``timestamp,value`` CSV file (``-`` for standard input).

    Raises
    ------
    InputFileError
        If the file cannot be read, has no ``timestamp`` or ``value`` column, or a row
        has an unreadable timestamp or value.
    """
    with _open(path, "r") as f:
        try:
            return _parse(csv.reader(f), path)
        except UnicodeDecodeError as exc:
            raise InputFileError(f"{path} is not UTF-8 text: {exc.reason}") from exc
        except csv.Error as exc:
            raise InputFileError(f"{path} is not valid CSV: {exc}") from exc


def _parse(reader: Iterator[list[str]], path: str) -> Series:
    header = next(reader, None)
    if header is None:
        raise InputFileError(f"{path} is empty: expected a header 'timestamp,value'")
    names = [name.strip().lower() for name in header]
    missing = [column for column in ("timestamp", "value") if column not in names]
    if missing:
        raise InputFileError(
            f"{path}: header has no column {' or '.join(map(repr, missing))} "
            f"(found {', '.join(map(repr, header))})"
        )
    at, av = names.index("timestamp"), names.index("value")
    raw: list[tuple[str, str]] = []
    timestamps: list[float] = []
    values: list[float | None] = []
    for row in reader:
        if not row:
            continue
        line = getattr(reader, "line_num", len(raw) + 2)
        if len(row) <= max(at, av):
            raise InputFileError(
                f"{path}, line {line}: expected {len(header)} fields, got {len(row)}"
            )
        stamp, value = row[at], row[av]
        try:
            timestamps.append(parse_timestamp(stamp))
        except ValueError as exc:
            raise InputFileError(f"{path}, line {line}: unreadable timestamp: {exc}") from None
        try:
            values.append(parse_value(value))
        except ValueError:
            raise InputFileError(f"{path}, line {line}: value {value!r} is not a number") from None
        raw.append((stamp, value))
    return Series(raw, timestamps, values)


def detect_csv(source: str, target: str, detector: base.AnomalyDetector | None = None) -> Summary:
    """Score every row of the file ``source`` online and write ``target``.

    Parameters
    ----------
    source
        Path of the ``timestamp,value`` file, or ``-`` for standard input.
    target
        Path of the ``timestamp,value,anomaly_score`` file, or ``-`` for standard output.
    detector
        The detector to run; a fresh :class:`~.detector.SeriesDetector` by default.
    """
    series = read_series(source)
    detector = detector if detector is not None else SeriesDetector()
    scores = []
    for t, y in zip(series.timestamps, series.values, strict=True):
        x: dict[Hashable, Any] = {"timestamp": t, "value": y}
        scores.append(detector.score_one(x))
        detector.learn_one(x)
    with _open(target, "w") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(("timestamp", "value", "anomaly_score"))
        writer.writerows(
            (stamp, value, f"{score:.6f}")
            for (stamp, value), score in zip(series.raw, scores, strict=True)
        )
    return Summary(len(scores), max(scores, default=0.0), sum(score >= 0.5 for score in scores))
