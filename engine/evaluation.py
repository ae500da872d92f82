"""Do the models foresee red events, and at what cost? Measured through the engine.

A file of wire messages (``creditbrain models evaluate --input FILE``), or a city of
:mod:`creditbrain.simulator`, is replayed in its order through the engine the
worker runs (:class:`~creditbrain.engine.Engine`: scorecard, publicity expiries, the
default warning rules and :class:`~creditbrain.models.subject.EarlyWarning`). The
driver notes the warnings each method opens per subject, the red events and the first
sign of trouble; :mod:`.scoring` holds the definitions (a warning is true only if a
red event follows within the horizon) and scores them.

Methods: *rules only* (``orange`` and ``red`` warnings opened, or raised to that
level, by rules that are not model rules), *models only* (the
``anomalous_deterioration`` and ``predicted_serious_default`` warnings the engine
opens, with their hysteresis), *rules + models* (both), *rules confirmed* (the
model warnings and the rules' alarms that follow one: :func:`confirmed`), and each
model rule alone.

With a ground truth (the simulator's, ``--truth``), the figures are also given per
kind of story and for the held-out kinds of decline
(:data:`~creditbrain.simulator.stories.HELD_OUT`, never used for tuning): the city as
if only those kinds of decline existed (their subjects and every subject without a red
event).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from creditbrain.alerts import PolicySet
from creditbrain.core.eventtime import DAY_MS
from creditbrain.models.features import KIND_GROUPS, is_red
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.models.subject import EarlyWarning
from creditbrain.schemas.events import ParseContext
from creditbrain.simulator import CityConfig, Simulator
from creditbrain.simulator.stories import HELD_OUT

from .effects import Accepted, Effect, ModelOpinion, WarningChanged
from .engine import Engine, TimedModels
from .scoring import HEADLINE_HORIZON, HORIZONS, Observed, Outcome, calibration, merged, score

__all__ = [
    "METHODS",
    "MODEL_RULES",
    "confirmed",
    "Report",
    "evaluate_lines",
    "format_report",
    "replay",
    "regression_policies",
    "run",
    "to_epoch_ms_of",
]

_ALARM_LEVELS = frozenset(("orange", "red"))
_ALARMING = frozenset(("opened", "escalated"))
#: The rules the models feed: the baseline "rules only" leaves them out.
MODEL_RULES = ("anomalous_deterioration", "predicted_serious_default")
#: The methods compared, in the order of the tables.
METHODS = ("rules only", "models only", "rules + models", "rules confirmed", *MODEL_RULES)
_TROUBLE = frozenset(("penalty", "judgment", "arrears", "listing"))
_KEY = b"creditbrain-evaluate"


@dataclass
class Replay:
    """What one replay through the engine left, and what the models cost."""

    seen: Observed
    events: int = 0
    model_seconds: float = 0.0
    observed: int = 0
    #: Model warnings opened, and how many of them carried an explanation.
    model_warnings: int = 0
    explained: int = 0
    #: "rule level" -> subject id -> times of the rules' alarms (rules only, by rule).
    by_rule: dict[str, dict[str, list[int]]] = field(default_factory=dict)


def to_epoch_ms_of(day: date) -> int:
    """Epoch ms of local midnight (UTC+08:00) of ``day``."""
    days: int = (day - date(1970, 1, 1)).days
    return days * 86_400_000 - 8 * 3_600_000


def replay(
    messages: Iterable[bytes],
    model: EarlyWarning,
    policies: PolicySet,
    ctx: ParseContext,
    span: tuple[int, int] | None = None,
) -> Replay:
    """Replay ``messages`` through the engine with ``model`` (which learns on).

    ``span`` is the evaluated period in epoch ms; ``None``: from the first to the last
    event time seen.
    """
    seen = Observed(0, 0, warnings={name: {} for name in ("rules", *MODEL_RULES)})
    found = Replay(seen)
    timed = TimedModels(model)
    engine = Engine({}, ctx, DEFAULT_SCORECARD, policies, model=timed)
    low = high = None
    for message in messages:
        for effect in engine.apply(message):
            if isinstance(effect, Accepted):
                at = effect.record.occurred_at
                low = at if low is None or at < low else low
                high = at if high is None or at > high else high
            _note(found, effect, engine)
    seen.start_ms, seen.end_ms = span if span is not None else (low or 0, high or 0)
    found.events = engine.counters.applied
    found.model_seconds, found.observed = timed.seconds, timed.calls
    return found


def _note(found: Replay, effect: Effect, engine: Engine) -> None:
    """What the evaluation keeps of one effect: red events, signs, first warnings, predictions."""
    seen = found.seen
    match effect:
        case Accepted(subject_id, record):
            seen.subjects.add(subject_id)
            # Red as the models learn it: under the policy in force for the subject's place.
            if is_red(record, engine.subjects[subject_id].state, engine.policies):
                seen.reds.setdefault(subject_id, []).append(record.occurred_at)
            elif KIND_GROUPS.get((record.kind, record.label)) in _TROUBLE:
                seen.precursor.setdefault(subject_id, record.occurred_at)
        case WarningChanged(update, at_ms):
            data = update.doc["data"]
            subject_id = update.doc["subject"]
            if update.rule in MODEL_RULES:
                if update.change == "opened":
                    seen.warnings[update.rule].setdefault(subject_id, []).append(at_ms)
                    found.model_warnings += 1
                    found.explained += bool(data.get("explanation"))
            elif update.change in _ALARMING and data["level"] in _ALARM_LEVELS:
                # An alarm is an orange or red warning opened, or one raised to that level.
                seen.warnings["rules"].setdefault(subject_id, []).append(at_ms)
                key = f"{update.rule} {data['level']}"
                found.by_rule.setdefault(key, {}).setdefault(subject_id, []).append(at_ms)
        case ModelOpinion(subject_id, at_ms, _, probability):
            if probability is not None:
                seen.predictions.append((subject_id, at_ms, probability))


def confirmed(rules: dict[str, list[int]], models: dict[str, list[int]]) -> dict[str, list[int]]:
    """What the models add or confirm: their warnings, and the rules' alarms that follow a
    model warning of the same subject (the alarms the models saw coming).

    The orange and red rules of the default scorecard are policy and warn whatever the
    models say; this method judges the combination on the warnings the models stand
    behind, so its precision is not bounded by the rules' own.

    >>> confirmed({"a": [1, 9], "b": [4]}, {"a": [5], "c": [2]})
    {'a': [5, 9], 'c': [2]}
    """
    out: dict[str, list[int]] = {}
    for subject_id, times in models.items():
        first = min(times)
        out[subject_id] = sorted(times + [t for t in rules.get(subject_id, ()) if t >= first])
    return out


def _methods(seen: Observed) -> dict[str, dict[str, list[int]]]:
    models = merged(*(seen.warnings[name] for name in MODEL_RULES))
    return {
        "rules only": seen.warnings["rules"],
        "models only": models,
        "rules + models": merged(seen.warnings["rules"], models),
        "rules confirmed": confirmed(seen.warnings["rules"], models),
        **{name: seen.warnings[name] for name in MODEL_RULES},
    }


@dataclass
class Report:
    """Everything :func:`run` or :func:`evaluate_lines` measured."""

    source: dict[str, Any]
    subjects: int
    events: int
    us_per_event: float
    outcomes: list[Outcome]
    calibration: dict[str, Any]
    learned: dict[str, Any]
    model_warnings: int = 0
    explained: int = 0
    held_out: list[Outcome] = field(default_factory=list)
    stories: list[dict[str, Any]] = field(default_factory=list)
    #: The rules' alarms by rule and level, at the headline horizon (rules only).
    by_rule: list[Outcome] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        doc = dict(self.__dict__)
        doc["outcomes"] = [outcome.__dict__ for outcome in self.outcomes]
        doc["held_out"] = [outcome.__dict__ for outcome in self.held_out]
        doc["by_rule"] = [outcome.__dict__ for outcome in self.by_rule]
        return doc

    def outcome(self, method: str, horizon: int = HEADLINE_HORIZON) -> Outcome:
        """The figures of ``method`` at ``horizon`` over the whole city."""
        return next(o for o in self.outcomes if o.method == method and o.horizon_days == horizon)


def _story_of(entry: dict[str, Any]) -> str:
    story: str | None = entry.get("story")
    return story if story else str(entry["label"])


def report_of(
    found: Replay, model: EarlyWarning, source: dict[str, Any], truth: dict[str, Any] | None
) -> Report:
    """Score a replay: every method at every horizon, and per story with a ground truth."""
    seen = found.seen
    methods = _methods(seen)
    outcomes = [
        score(name, opened, seen, horizon)
        for horizon in HORIZONS
        for name, opened in methods.items()
    ]
    report = Report(
        source,
        len(seen.subjects),
        found.events,
        1e6 * found.model_seconds / max(1, found.observed),
        outcomes,
        calibration(seen),
        model.learned,
        found.model_warnings,
        found.explained,
    )
    report.by_rule = sorted(
        (score(name, opened, seen, HEADLINE_HORIZON) for name, opened in found.by_rule.items()),
        key=lambda outcome: -outcome.false,
    )
    if truth is not None:
        stories = {entry["id"]: _story_of(entry) for entry in truth["subjects"]}
        report.stories = _by_story(seen, methods, stories)
    if truth is not None and any("story" in entry for entry in truth["subjects"]):
        # Only a truth that names kinds of decline (the varied mix) has held-out ones.
        # The held-out declines against every healthy subject: a city as if those were
        # the only ways to go bad (red subjects of other stories are left out).
        keep = {s for s in seen.subjects if s not in seen.reds} | {
            s for s, story in stories.items() if story in HELD_OUT
        }
        report.held_out = [
            score(name, opened, seen, HEADLINE_HORIZON, keep) for name, opened in methods.items()
        ]
    return report


def _by_story(
    seen: Observed, methods: dict[str, dict[str, list[int]]], stories: dict[str, str]
) -> list[dict[str, Any]]:
    """Per story kind: subjects, red ones, recall at the headline horizon, subjects warned."""
    members: dict[str, set[str]] = {}
    for subject_id, story in stories.items():
        if subject_id in seen.subjects:
            members.setdefault(story, set()).add(subject_id)
    rows = []
    for story, subjects in sorted(members.items()):
        row: dict[str, Any] = {
            "story": story,
            "held_out": story in HELD_OUT,
            "subjects": len(subjects),
            "red": sum(1 for s in subjects if s in seen.reds),
        }
        for name in ("rules only", "models only", "rules + models"):
            outcome = score(name, methods[name], seen, HEADLINE_HORIZON, subjects)
            row[name] = {
                "recall": outcome.recall,
                "ceiling": outcome.ceiling,
                "median_lead_days": outcome.median_lead_days,
                "warned_share": sum(1 for s in subjects if s in methods[name]) / len(subjects),
            }
        rows.append(row)
    return rows


def evaluate_lines(
    lines: Iterable[bytes],
    ctx: ParseContext,
    truth: dict[str, Any] | None = None,
    model: EarlyWarning | None = None,
    policies: PolicySet | None = None,
    source: dict[str, Any] | None = None,
) -> Report:
    """Evaluate the models (cold unless ``model`` is given) and the rules on any messages."""
    model = model if model is not None else EarlyWarning()
    span = None
    if truth is not None and "span" in truth:
        span = (_parse_ms(truth["span"]["start"]), _parse_ms(truth["span"]["end"]) + 1)
    found = replay(lines, model, policies or PolicySet(), ctx, span)
    return report_of(found, model, source or {}, truth)


def _parse_ms(stamp: str) -> int:
    from datetime import datetime

    from creditbrain.core.eventtime import to_epoch_ms

    return to_epoch_ms(datetime.fromisoformat(stamp))


#: ``anomalous_deterioration``'s threshold for the 270-day regression (``--no-detector``):
#: the value the tuning cities supported when it was the default.
REGRESSION_THRESHOLD = 0.6


def regression_policies() -> PolicySet:
    """The default policies but for the deterioration score's threshold, set for the
    270-day regression that scores deterioration with ``detector=False``."""
    rule = {"thresholds": {"threshold": REGRESSION_THRESHOLD}}
    return PolicySet.model_validate(
        {"overrides": {"*": {"rules": {"anomalous_deterioration": rule}}}}
    )


def _city(seed: int, scale: float, start: date, days: int, stories: str) -> Simulator:
    config = CityConfig.scaled(
        scale, seed=seed, start=start, days=days, error_rate=0.0, story_mix=stories
    )
    return Simulator(config, pseudonym_key=_KEY)


def _values(simulator: Simulator) -> Iterator[bytes]:
    for message in simulator.events():
        yield message.value


def run(
    seed: int = 42,
    scale: float = 0.2,
    warm_seed: int | None = None,
    days: int = 365,
    stories: str = "classic",
    policies: PolicySet | None = None,
    detector: bool = True,
) -> Report:
    """Evaluate on ``seed``'s simulated city, after a year of ``warm_seed``'s if given.

    The warm-up city (same story mix, the ``days`` before) stands for what a worker
    has learned from its own stream before; ``None``: the models start cold.
    """
    model = EarlyWarning(detector=detector)
    if policies is None:
        policies = PolicySet() if detector else regression_policies()
    ctx = ParseContext(_KEY)
    start = date(2025, 1, 1)
    if warm_seed is not None:
        warm = _city(warm_seed, scale, start - timedelta(days=days), days, stories)
        replay(_values(warm), model, policies, ctx)
        model.feature_states.clear()
    simulator = _city(seed, scale, start, days, stories)
    begin = to_epoch_ms_of(start)
    found = replay(_values(simulator), model, policies, ctx, (begin, begin + days * DAY_MS))
    source: dict[str, Any] = {"seed": seed, "scale": scale, "warm_seed": warm_seed}
    source |= {"days": days, "stories": stories}
    if not detector:
        source["detector"] = False
    return report_of(found, model, source, simulator.ground_truth())


def _cell(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


_HEADER = [
    "| method | horizon (days) | warned early | true | false | censored | precision "
    "| recall | ceiling | median lead (days) | false alarms /1000 healthy/month |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
]


def _rows(outcomes: Iterable[Outcome]) -> list[str]:
    return [
        f"| {o.method} | {o.horizon_days} | {o.warned} | {o.true} | {o.false} | {o.censored} "
        f"| {_cell(o.precision)} | {_cell(o.recall)} | {_cell(o.ceiling)} "
        f"| {_cell(o.median_lead_days, 0)} | {_cell(o.false_per_1000_healthy_month)} |"
        for o in outcomes
    ]


def format_report(report: Report) -> str:
    """The report as Markdown tables."""
    source = ", ".join(f"{k} {v}" for k, v in report.source.items())
    lines = [
        f"{source}: {report.subjects} subjects, {report.events} events, "
        f"models {report.us_per_event:.1f} µs/event; model warnings {report.model_warnings}, "
        f"explained {report.explained}",
        "",
        *_HEADER,
        *_rows(report.outcomes),
    ]
    if report.held_out:
        lines += ["", f"Held-out kinds of decline ({', '.join(HELD_OUT)}):", "", *_HEADER]
        lines += _rows(report.held_out)
    if report.by_rule:
        lines += ["", f"The rules' alarms by rule and level ({HEADLINE_HORIZON} days):", ""]
        lines += [*_HEADER, *_rows(report.by_rule)]
    if report.stories:
        lines += [
            "",
            f"By story ({HEADLINE_HORIZON} days): recall (ceiling) / median lead / share warned",
            "",
            "| story | held out | subjects | red | rules only | models only | rules + models |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in report.stories:
            cells = [
                f"{_cell(row[m]['recall'])} ({_cell(row[m]['ceiling'])}) / "
                f"{_cell(row[m]['median_lead_days'], 0)} / {row[m]['warned_share']:.2f}"
                for m in ("rules only", "models only", "rules + models")
            ]
            lines.append(
                f"| {row['story']} | {'yes' if row['held_out'] else ''} | {row['subjects']} "
                f"| {row['red']} | " + " | ".join(cells) + " |"
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
    return "\n".join(lines)
