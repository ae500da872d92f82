"""Two policy sets over the same history: what a candidate would change.

:func:`compare` runs :func:`~creditbrain.engine.replay.backtest` once under the set
in force and once under the candidate (rules only: the online models would learn
differently under each and blur the difference) and answers, for each side, the
warnings sent by level, rule, sector, district and month, the subjects warned at
each level, and how well the warnings foresaw a red outcome.

A warning counts as *sent* as in ``creditbrain backtest``'s summary: an opening or
an escalation that notifies (not one held back by a cooldown). The outcome is read
from the history itself: a subject *went red* at the first red warning the set in
force gave it (the same yardstick for both sides). A sent warning *foresaw* it when
it came strictly before and within ``horizon_days``; precision is the share of
warned subjects whose warnings foresaw their red, recall the share of subjects
that went red with a warning before, and the lead is the days from the first such
warning to the red.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from creditbrain.alerts.policy import PolicySet
from creditbrain.engine.replay import Backtest, backtest
from creditbrain.models.scorecard import ScorecardConfig
from creditbrain.schemas.events import ParseContext

_DAY_S = 86_400


@dataclass
class Side:
    """One policy set's warnings over the history."""

    summary: Backtest
    by_level: Counter[str] = field(default_factory=Counter)
    by_rule: Counter[str] = field(default_factory=Counter)
    by_sector: Counter[str] = field(default_factory=Counter)
    by_district: Counter[str] = field(default_factory=Counter)
    by_month: Counter[str] = field(default_factory=Counter)
    #: (subject id, level) of every sent warning, with the subject's type.
    warned: dict[tuple[str, str], str] = field(default_factory=dict)
    #: Subject id -> when (epoch s) each sent warning went out.
    sent_at: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def of(cls, changes: Iterable[dict[str, Any]], summary: Backtest) -> Side:
        """Tally the changes a backtest returned."""
        side = cls(summary)
        for change in changes:
            if change["status"] not in ("opened", "escalated") or not change["sent"]:
                continue
            side.by_level[change["level"]] += 1
            side.by_rule[change["rule"]] += 1
            side.by_sector[change["sector"]] += 1
            side.by_district[change["district"]] += 1
            side.by_month[change["time"][:7]] += 1
            side.warned[(change["subject_id"], change["level"])] = change["subject_type"]
            moment = datetime.fromisoformat(change["time"]).timestamp()
            side.sent_at.setdefault(change["subject_id"], []).append(moment)
        return side

    def outcomes(self, went_red: dict[str, float], horizon_days: int) -> dict[str, Any]:
        """Precision, recall and median lead (days) against the subjects that went red."""
        horizon = horizon_days * _DAY_S
        leads: dict[str, float] = {}
        for subject, red_at in went_red.items():
            before = [t for t in self.sent_at.get(subject, ()) if red_at - horizon <= t < red_at]
            if before:
                leads[subject] = (red_at - min(before)) / _DAY_S
        warned = len(self.sent_at)
        return {
            "warned_subjects": warned,
            "went_red": len(went_red),
            "foreseen": len(leads),
            "precision": round(len(leads) / warned, 4) if warned else None,
            "recall": round(len(leads) / len(went_red), 4) if went_red else None,
            "median_lead_days": round(statistics.median(leads.values()), 1) if leads else None,
        }

    def as_dict(self) -> dict[str, Any]:
        """The counts, as JSON."""
        return {
            "warnings": sum(self.by_level.values()),
            "by_level": dict(sorted(self.by_level.items())),
            "by_rule": dict(sorted(self.by_rule.items())),
            "by_sector": dict(sorted(self.by_sector.items())),
            "by_district": dict(sorted(self.by_district.items())),
            "by_month": dict(sorted(self.by_month.items())),
        }


@dataclass
class Comparison:
    """The set in force and a candidate over the same messages."""

    live: Side
    candidate: Side
    horizon_days: int

    def went_red(self) -> dict[str, float]:
        """Subject id -> the first red warning the set in force sent it (epoch s)."""
        reds: dict[str, float] = {}
        for (subject, level), _ in self.live.warned.items():
            if level == "red":
                reds[subject] = min(self.live.sent_at[subject])
        return reds

    def added(self) -> list[tuple[str, str, str]]:
        """(subject id, subject type, level) warned under the candidate only, sorted."""
        return sorted(
            (subject, kind, level)
            for (subject, level), kind in self.candidate.warned.items()
            if (subject, level) not in self.live.warned
        )

    def removed(self) -> list[tuple[str, str, str]]:
        """(subject id, subject type, level) warned under the set in force only, sorted."""
        return sorted(
            (subject, kind, level)
            for (subject, level), kind in self.live.warned.items()
            if (subject, level) not in self.candidate.warned
        )

    def as_dict(self, first: int = 100) -> dict[str, Any]:
        """Both sides' counts and outcomes; the first ``first`` subjects added and removed."""
        reds = self.went_red()
        added, removed = self.added(), self.removed()
        return {
            "messages": self.live.summary.counters.messages,
            "horizon_days": self.horizon_days,
            "live": self.live.as_dict() | {"outcomes": self.live.outcomes(reds, self.horizon_days)},
            "candidate": self.candidate.as_dict()
            | {"outcomes": self.candidate.outcomes(reds, self.horizon_days)},
            "subjects_added": len(added),
            "subjects_removed": len(removed),
            "added": [_subject(row) for row in added[:first]],
            "removed": [_subject(row) for row in removed[:first]],
        }


def _subject(row: tuple[str, str, str]) -> dict[str, str]:
    subject, kind, level = row
    return {"subject_id": subject, "subject_type": kind, "level": level}


def compare(
    lines: Sequence[bytes],
    ctx: ParseContext,
    config: ScorecardConfig,
    live: PolicySet,
    candidate: PolicySet,
    *,
    until_ms: int | None = None,
    horizon_days: int = 180,
    max_bytes: int = 1024 * 1024,
    progress: Callable[[float], None] | None = None,
) -> Comparison:
    """Run ``lines`` under ``live`` and under ``candidate`` (rules only) and tally both.

    ``progress`` hears the share of the work done (0 to 1) every 1,000 messages.
    """
    sides = []
    for run, policies in enumerate((live, candidate)):
        fed = _told(lines, run, progress) if progress is not None else lines
        changes, summary = backtest(fed, ctx, config, policies, None, until_ms, max_bytes)
        sides.append(Side.of(changes, summary))
    return Comparison(sides[0], sides[1], horizon_days)


def _told(lines: Sequence[bytes], run: int, progress: Callable[[float], None]) -> Iterator[bytes]:
    total = 2 * len(lines)
    for done, line in enumerate(lines, start=run * len(lines)):
        if done % 1000 == 0:
            progress(done / total)
        yield line
