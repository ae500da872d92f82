"""Do the subject models warn earlier than the rules? Measured on a simulated city.

A city of :mod:`creditbrain.simulator` is replayed in event-time order through the
engine the worker runs (:class:`~creditbrain.engine.Engine`: scorecard, publicity
expiries, the default warning rules and
:class:`~creditbrain.models.subject.EarlyWarning`), whose models first learn on a warm-up
city of another seed simulated over the year before (as a restored checkpoint
would have), so the figures are for a seed never used for tuning.

Definitions, per subject (only its first warning counts):

* a *red event* is a record that alone fires a red rule (``dishonest_debtor``,
  ``list_entry`` serious_dishonesty, ``wage_arrears`` with ≥ 10 workers);
* a warning is *early* when it comes before the subject's first red event (or the
  subject never has one); warnings at or after it are detections, not counted;
* an early warning is *true* when the first red event follows within 90 days, or
  the subject's story in the ground truth is ``deteriorating`` (a slide the
  warning caught, whenever its red event comes, if at all);
* precision = true early warnings / early warnings; recall = red subjects warned
  early / red subjects; lead time = days from the first warning to the first red
  event (median over red subjects warned early); false warnings are counted per
  1,000 subjects per 30 days of the span.

The rules baseline is the first ``orange`` or ``red`` rule alert; "rules + models"
adds the first transition at which the anomaly score reaches its threshold or the
probability of a red event within 90 days reaches 0.5 (the yellow model rules).
Calibration of that probability is measured on the evaluated city's predictions
whose 90 days lie within the span, against the red events that followed.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from creditbrain.alerts import PolicySet, default_policy
from creditbrain.core.eventtime import DAY_MS
from creditbrain.models.features import is_red
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.models.subject import EarlyWarning
from creditbrain.schemas.events import ParseContext
from creditbrain.simulator import CityConfig, Simulator

from .effects import Accepted, Effect, ModelOpinion, WarningChanged
from .engine import Engine, TimedModels

__all__ = [
    "ANOMALY_THRESHOLDS",
    "DEFAULT_ANOMALY_THRESHOLD",
    "Outcome",
    "Replay",
    "Report",
    "calibration",
    "format_report",
    "replay",
    "run",
    "score_warnings",
]

#: The default policy's threshold of ``anomalous_deterioration`` (its rule file).
DEFAULT_ANOMALY_THRESHOLD: float = default_policy("anomalous_deterioration").thresholds["threshold"]
#: Thresholds of the deterioration score reported side by side.
ANOMALY_THRESHOLDS = tuple(sorted({0.5, 0.6, 0.7, DEFAULT_ANOMALY_THRESHOLD}))
PROBABILITY_THRESHOLD: float = default_policy("predicted_serious_default").thresholds["probability"]
_ALARM_LEVELS = frozenset(("orange", "red"))
#: The rules the models feed: the baseline "rules only" leaves them out.
_MODEL_RULES = frozenset(("anomalous_deterioration", "predicted_serious_default"))
_HORIZON_MS = 90 * DAY_MS
_KEY = b"creditbrain-evaluate"


@dataclass
class Replay:
    """What one replayed city left: first warnings, red events and the model outputs."""

    start_ms: int
    end_ms: int
    subjects: int
    events: int = 0
    rules_first: dict[str, int] = field(default_factory=dict)
    anomaly_first: dict[float, dict[str, int]] = field(default_factory=dict)
    probability_first: dict[str, int] = field(default_factory=dict)
    reds: dict[str, list[int]] = field(default_factory=dict)
    predictions: list[tuple[str, int, float]] = field(default_factory=list)
    model_seconds: float = 0.0
    observed: int = 0


def _city(seed: int, scale: float, start: date) -> Simulator:
    return Simulator(
        CityConfig.scaled(scale, seed=seed, start=start, error_rate=0.0), pseudonym_key=_KEY
    )


def replay(simulator: Simulator, model: EarlyWarning, policies: PolicySet) -> Replay:
    """Replay ``simulator``'s city through the engine with ``model`` (which learns on).

    The engine is the worker's: the same expiries, the models' opinions reaching the
    rules, the same warnings; this driver only notes the first warnings per subject.
    """
    config = simulator.config
    start = to_epoch_ms_of(config.start)
    found = Replay(start, start + config.days * DAY_MS, config.subjects)
    found.anomaly_first = {threshold: {} for threshold in ANOMALY_THRESHOLDS}
    timed = TimedModels(model)
    engine = Engine({}, ParseContext(_KEY), DEFAULT_SCORECARD, policies, model=timed)
    for message in simulator.events():
        for effect in engine.apply(message.value):
            _note(found, effect, engine)
    found.events = engine.counters.applied
    found.model_seconds, found.observed = timed.seconds, timed.calls
    return found


def _note(found: Replay, effect: Effect, engine: Engine) -> None:
    """What the evaluation keeps of one effect: red events, first warnings, predictions."""
    match effect:
        case Accepted(subject_id, record):
            # Red as the models learn it: under the policy in force for the subject's place.
            if is_red(record, engine.subjects[subject_id].state, engine.policies):
                found.reds.setdefault(subject_id, []).append(record.occurred_at)
        case WarningChanged(update, at_ms):
            level: str = update.doc["data"]["level"]
            if (
                update.change == "opened"
                and level in _ALARM_LEVELS
                and update.rule not in _MODEL_RULES
            ):
                found.rules_first.setdefault(update.doc["subject"], at_ms)
        case ModelOpinion(subject_id, at_ms, anomaly, probability):
            _note_models(found, subject_id, at_ms, anomaly, probability)


def to_epoch_ms_of(day: date) -> int:
    """Epoch ms of local midnight (UTC+08:00) of ``day``."""
    days: int = (day - date(1970, 1, 1)).days
    return days * 86_400_000 - 8 * 3_600_000


def _note_models(
    found: Replay, subject_id: str, at_ms: int, anomaly: float | None, probability: float | None
) -> None:
    if anomaly is not None:
        for threshold, first in found.anomaly_first.items():
            if anomaly >= threshold:
                first.setdefault(subject_id, at_ms)
    if probability is not None:
        if at_ms + _HORIZON_MS <= found.end_ms:
            found.predictions.append((subject_id, at_ms, probability))
        if probability >= PROBABILITY_THRESHOLD:
            found.probability_first.setdefault(subject_id, at_ms)


@dataclass(frozen=True)
class Outcome:
    """Subject-level warning figures of one method."""

    method: str
    warned: int
    precision: float
    recall: float
    median_lead_days: float | None
    false_per_1000_month: float


def score_warnings(
    method: str, first: dict[str, int], found: Replay, deteriorating: set[str]
) -> Outcome:
    """The figures of one method's first warnings (definitions in the module docstring)."""
    early = true = 0
    leads: list[float] = []
    for subject_id, warned_at in first.items():
        reds = found.reds.get(subject_id)
        red_at = min(reds) if reds else None
        if red_at is not None and warned_at >= red_at:
            continue
        early += 1
        if red_at is not None:
            leads.append((red_at - warned_at) / DAY_MS)
        if subject_id in deteriorating or (
            red_at is not None and red_at - warned_at <= _HORIZON_MS
        ):
            true += 1
    months = (found.end_ms - found.start_ms) / (30 * DAY_MS)
    return Outcome(
        method,
        early,
        true / early if early else 1.0,
        len(leads) / len(found.reds) if found.reds else 1.0,
        statistics.median(leads) if leads else None,
        (early - true) / (found.subjects / 1000) / months,
    )


def _earliest(*firsts: dict[str, int]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for first in firsts:
        for subject_id, at_ms in first.items():
            if subject_id not in merged or at_ms < merged[subject_id]:
                merged[subject_id] = at_ms
    return merged


def calibration(found: Replay, bins: int = 10) -> dict[str, Any]:
    """Brier score, expected calibration error and reliability table of the predictions."""
    pairs = []
    for subject_id, at_ms, probability in found.predictions:
        reds = found.reds.get(subject_id, ())
        label = any(at_ms < red <= at_ms + _HORIZON_MS for red in reds)
        pairs.append((probability, 1.0 if label else 0.0))
    if not pairs:
        return {"n": 0}
    n = len(pairs)
    base_rate = sum(y for _, y in pairs) / n
    table: list[dict[str, float]] = []
    ece = 0.0
    for index in range(bins):
        low, high = index / bins, (index + 1) / bins
        members = [(p, y) for p, y in pairs if low <= p < high or (index == bins - 1 and p == 1)]
        if not members:
            continue
        mean_p = sum(p for p, _ in members) / len(members)
        rate = sum(y for _, y in members) / len(members)
        ece += len(members) / n * abs(mean_p - rate)
        table.append({"from": low, "to": high, "n": len(members), "mean_p": mean_p, "rate": rate})
    return {
        "n": n,
        "base_rate": base_rate,
        "brier": sum((p - y) ** 2 for p, y in pairs) / n,
        "brier_base_rate": base_rate * (1 - base_rate),
        "ece": ece,
        "reliability": table,
    }


@dataclass
class Report:
    """Everything :func:`run` measured."""

    seed: int
    warm_seed: int | None
    scale: float
    anomaly_threshold: float
    subjects: int
    events: int
    us_per_event: float
    outcomes: list[Outcome]
    calibration: dict[str, Any]
    learned: dict[str, Any]
    series: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        doc = dict(self.__dict__)
        doc["outcomes"] = [outcome.__dict__ for outcome in self.outcomes]
        return doc


def run(
    seed: int = 42,
    scale: float = 0.2,
    warm_seed: int | None = 1,
    anomaly_threshold: float = DEFAULT_ANOMALY_THRESHOLD,
    days: int = 365,
    series: bool = False,
) -> Report:
    """Warm the models on ``warm_seed``'s city (the year before), then evaluate on ``seed``'s."""
    model = EarlyWarning()
    policies = PolicySet()
    start = date(2025, 1, 1)
    if warm_seed is not None:
        replay(_city(warm_seed, scale, start - timedelta(days=days)), model, policies)
        model.feature_states.clear()
    simulator = _city(seed, scale, start)
    found = replay(simulator, model, policies)
    truth = simulator.ground_truth()
    deteriorating = {s["id"] for s in truth["subjects"] if s["label"] == "deteriorating"}
    if anomaly_threshold not in found.anomaly_first:
        raise ValueError(f"anomaly threshold must be one of {ANOMALY_THRESHOLDS}")
    anomaly_first = found.anomaly_first[anomaly_threshold]
    models_first = _earliest(anomaly_first, found.probability_first)
    outcomes = [
        score_warnings("rules only", found.rules_first, found, deteriorating),
        score_warnings(
            "rules + models", _earliest(found.rules_first, models_first), found, deteriorating
        ),
        score_warnings("models only", models_first, found, deteriorating),
        score_warnings("anomaly only", anomaly_first, found, deteriorating),
        score_warnings("predictor only", found.probability_first, found, deteriorating),
    ]
    for threshold in ANOMALY_THRESHOLDS:
        if threshold != anomaly_threshold:
            merged = _earliest(
                found.rules_first, found.anomaly_first[threshold], found.probability_first
            )
            outcomes.append(
                score_warnings(
                    f"rules + models (anomaly ≥ {threshold})", merged, found, deteriorating
                )
            )
    report = Report(
        seed,
        warm_seed,
        scale,
        anomaly_threshold,
        found.subjects,
        found.events,
        1e6 * found.model_seconds / max(1, found.observed),
        outcomes,
        calibration(found),
        model.learned,
    )
    if series:
        report.series = _series_figures(seed)
    return report


def _series_figures(seed: int) -> list[dict[str, Any]]:
    from creditbrain.models.series.evaluate import DETECTORS, THRESHOLDS
    from creditbrain.models.series.evaluate import evaluate as evaluate_series

    result = evaluate_series(seed, per_kind=1)
    rows = []
    for name in DETECTORS:
        for threshold in THRESHOLDS:
            tally = result.total(name, threshold)
            rows.append(
                {
                    "detector": name,
                    "threshold": threshold,
                    "precision": tally.precision,
                    "recall": tally.recall,
                    "f1": tally.f1,
                }
            )
    return rows


def _cell(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def format_report(report: Report) -> str:
    """The report as Markdown tables."""
    lines = [
        f"seed {report.seed} (models warmed on seed {report.warm_seed}), scale {report.scale}: "
        f"{report.subjects} subjects, {report.events} events, "
        f"models {report.us_per_event:.1f} µs/event, anomaly threshold {report.anomaly_threshold}",
        "",
        "| method | warned early | precision | recall | median lead (days) "
        "| false /1000 subj./month |",
        "|---|---|---|---|---|---|",
    ]
    for o in report.outcomes:
        lines.append(
            f"| {o.method} | {o.warned} | {_cell(o.precision)} | {_cell(o.recall)} "
            f"| {_cell(o.median_lead_days, 0)} | {_cell(o.false_per_1000_month)} |"
        )
    cal = report.calibration
    if cal.get("n"):
        lines += [
            "",
            f"P(red within 90 days): {cal['n']} predictions, base rate {cal['base_rate']:.4f}, "
            f"Brier {cal['brier']:.4f} (base-rate forecast {cal['brier_base_rate']:.4f}), "
            f"ECE {cal['ece']:.4f}",
            "",
            "| p from | to | predictions | mean p | observed rate |",
            "|---|---|---|---|---|",
        ]
        for row in cal["reliability"]:
            lines.append(
                f"| {row['from']:.1f} | {row['to']:.1f} | {row['n']} | {row['mean_p']:.3f} "
                f"| {row['rate']:.3f} |"
            )
    if report.series:
        lines += [
            "",
            "| series detector | threshold | precision | recall | F1 |",
            "|---|---|---|---|---|",
        ]
        for row in report.series:
            lines.append(
                f"| {row['detector']} | {row['threshold']} | {row['precision']:.2f} "
                f"| {row['recall']:.2f} | {row['f1']:.2f} |"
            )
    return "\n".join(lines)
