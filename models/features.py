"""Per-subject features for the online early-warning models, one dict per re-scoring.

:func:`subject_features` turns a subject's state after a re-scoring (its sorted
records, the new :class:`~creditbrain.schemas.state.ScoreResult`, the event time)
into a flat dict of floats, every one in ``[0, 1]`` by construction: counts are
squashed (``c / (c + 2)``), months, workers and amounts are capped, score changes
are divided by 300 points and clipped. So half-space trees need no limits and no
scaler, and a logistic regression sees features of one scale.

What the features are (names in :data:`FEATURE_NAMES`):

* ``{group}_{30,90,365}d``: records of a kind group that occurred in the last 30,
  90 and 365 days of event time (groups in :data:`KIND_GROUPS`);
* ``si_months``, ``tax_months``, ``wage_workers``, ``arrears_amount``,
  ``open_arrears``: the arrears that count now (only the latest report of each kind
  counts, DOMAIN.md);
* ``score``, ``grade``, ``deductions``: the score after the re-scoring;
  ``fall_30d``, ``fall_90d``, ``rise_90d``: its change against 30 and 90 days ago;
* ``quiet``: time since the subject's previous record (1 for a first record);
* trajectory: ``arrears_kinds_90d`` (distinct arrears kinds reported in 90 days, of
  three), ``arrears_new`` (arrears reported in the last 90 days and none in the 275
  days before: a first-time sign), ``trouble_kinds_90d`` (distinct kinds of trouble,
  i.e. reporting departments, in 90 days, squashed), ``trouble_recent`` (share of the
  year's trouble records that fall in the last 90 days) and ``fall_speedup`` (the
  score's fall over the last 30 days beyond its 30-day average over the 60 before);
* ``type_*`` and ``sector_*``: one-hot subject type and sector group.

Only the score history cannot be read off the state, so the stream keeps a
:class:`FeatureState` per subject: the last few score changes, at most
:data:`HISTORY_LIMIT` pairs. Counting scans only the last 365 days of records
(found by bisection), so the cost does not grow with a subject's history.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from operator import itemgetter

import orjson

from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import EntityState, Record, ScoreResult

__all__ = [
    "FEATURE_NAMES",
    "FEATURE_STATE_FORMAT",
    "HISTORY_LIMIT",
    "KIND_GROUPS",
    "SECTOR_GROUPS",
    "FeatureState",
    "is_red",
    "subject_features",
]

DAY_MS = 86_400_000
_WINDOWS = ((30, "30d"), (90, "90d"), (365, "365d"))

#: Record class -> kind group counted in the windows; classes not listed (licences,
#: simple penalties, plaintiff judgments, objections) are not counted.
KIND_GROUPS: dict[tuple[str, str | None], str] = {
    ("penalty", "general"): "penalty",
    ("penalty", "serious"): "penalty",
    ("judgment", "defendant"): "judgment",
    ("judgment", "judgment_debtor"): "judgment",
    ("tax_arrears", None): "arrears",
    ("social_insurance_arrears", None): "arrears",
    ("wage_arrears", None): "arrears",
    ("dishonest_debtor", None): "listing",
    ("consumption_restriction", None): "listing",
    ("list_entry", "serious_dishonesty"): "listing",
    ("list_entry", "key_attention"): "listing",
    ("commitment_breach", None): "listing",
    ("commendation", "city"): "positive",
    ("commendation", "province"): "positive",
    ("commendation", "national"): "positive",
    ("commendation", None): "positive",
    ("list_entry", "red"): "positive",
    ("list_exit", "key_attention"): "positive",
    ("list_exit", "serious_dishonesty"): "positive",
    ("arrears_cleared", "tax_arrears"): "positive",
    ("arrears_cleared", "social_insurance_arrears"): "positive",
    ("arrears_cleared", "wage_arrears"): "positive",
    ("repair", None): "positive",
    ("commitment", None): "positive",
}
_GROUPS = ("penalty", "judgment", "arrears", "listing", "positive")
_TROUBLE = frozenset(("penalty", "judgment", "arrears", "listing"))

#: Sector -> sector group (a sector not listed is ``other``): groups of sectors whose
#: subjects meet similar records, few enough that every group sees enough of them.
SECTOR_GROUPS: dict[str, str] = {
    **dict.fromkeys(
        ("market_regulation", "food_drug", "ecommerce", "domestic_services", "culture_tourism"),
        "market",
    ),
    **dict.fromkeys(
        ("finance", "internet_finance", "taxation", "customs", "medical_insurance"), "money"
    ),
    **dict.fromkeys(
        (
            "construction",
            "bidding",
            "housing",
            "transport",
            "work_safety",
            "ecology_environment",
            "grain_energy",
            "emergency_management",
        ),
        "works",
    ),
    **dict.fromkeys(("government", "health", "human_resources", "civil_affairs"), "public"),
}
_SECTOR_NAMES = ("market", "money", "works", "public", "other")
_TYPES = tuple(member.value for member in SubjectType)

FEATURE_NAMES: tuple[str, ...] = (
    *(f"{group}_{suffix}" for group in _GROUPS for _, suffix in _WINDOWS),
    *("si_months", "tax_months", "wage_workers", "arrears_amount", "open_arrears"),
    *("score", "grade", "deductions", "fall_30d", "fall_90d", "rise_90d", "quiet"),
    *("arrears_kinds_90d", "arrears_new", "trouble_kinds_90d", "trouble_recent", "fall_speedup"),
    *(f"type_{name}" for name in _TYPES),
    *(f"sector_{name}" for name in _SECTOR_NAMES),
)

_GRADE_VALUE = {"A": 1.0, "B": 2 / 3, "C": 1 / 3, "D": 0.0}
_ARREARS = frozenset(("tax_arrears", "social_insurance_arrears", "wage_arrears"))
_CLEAN_SCORE = 1000
_TEN_YEARS_LOG = math.log1p(3650.0)
_AMOUNT_LOG = math.log1p(10_000_000.0)
_WORKERS_LOG = math.log1p(100.0)
_occurred = itemgetter(0)
#: The template every feature dict starts from (one dict copy instead of 40 stores).
_ZEROS = dict.fromkeys(FEATURE_NAMES, 0.0)

#: Score changes kept per subject: enough for a few per month over 90 days.
HISTORY_LIMIT = 12
#: Version of the JSON form of :class:`FeatureState`.
FEATURE_STATE_FORMAT = 1


def is_red(record: Record) -> bool:
    """Whether ``record`` alone fires a red warning (the red events of the ground truth).

    >>> is_red(Record(0, "e", "wage_arrears", quantity=12)), is_red(Record(0, "e", "penalty"))
    (True, False)
    """
    kind = record.kind
    if kind == "dishonest_debtor":
        return True
    if kind == "list_entry":
        label: str | None = record.label
        return label == "serious_dishonesty"
    workers: int = record.quantity or 0
    return kind == "wage_arrears" and workers >= 10


@dataclass(frozen=True, slots=True)
class FeatureState:
    """What the features need that the subject's state does not hold: the score history.

    Parameters
    ----------
    history
        ``(at_ms, score)`` after each change of the score, oldest first; entries
        older than 90 days are dropped except the newest of them (the score then).

    Examples
    --------
    >>> s = FeatureState().after(0, 1000).after(10 * DAY_MS, 900).after(50 * DAY_MS, 850)
    >>> s.score_at(20 * DAY_MS), s.score_at(-1)
    (900, 1000)
    >>> FeatureState.from_json(s.to_json()) == s
    True
    """

    history: tuple[tuple[int, int], ...] = ()

    def score_at(self, at_ms: int) -> int:
        """The score the subject had at ``at_ms`` (1000 before its first record)."""
        score = _CLEAN_SCORE
        for moment, value in self.history:
            if moment > at_ms:
                break
            score = value
        return score

    def after(self, at_ms: int, score: int) -> FeatureState:
        """The state once the subject scored ``score`` at ``at_ms`` (not before the last entry)."""
        history = self.history
        if history and history[-1][1] == score:
            return self
        horizon = at_ms - 90 * DAY_MS
        keep = 0
        while keep + 1 < len(history) and history[keep + 1][0] <= horizon:
            keep += 1
        kept = (*history[keep:], (at_ms, score))
        if len(kept) > HISTORY_LIMIT:
            kept = (kept[0], *kept[-(HISTORY_LIMIT - 1) :])
        return FeatureState(kept)

    def to_json(self) -> bytes:
        """Compact JSON: ``{"f": format, "h": [[at_ms, score], ...]}``."""
        return orjson.dumps({"f": FEATURE_STATE_FORMAT, "h": self.history})

    @classmethod
    def from_json(cls, data: bytes | str) -> FeatureState:
        """The state written by :meth:`to_json`."""
        doc = orjson.loads(data)
        if doc.get("f") != FEATURE_STATE_FORMAT:
            raise ValueError(
                f"feature state format {doc.get('f')!r}, expected {FEATURE_STATE_FORMAT}"
            )
        return cls(tuple((int(at), int(score)) for at, score in doc["h"]))


def _squash(count: int) -> float:
    return count / (count + 2.0)


def _clip(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value


def subject_features(
    state: EntityState, result: ScoreResult, at_ms: int, previous: FeatureState | None
) -> tuple[dict[str, float], FeatureState]:
    """The features of ``state`` re-scored as ``result`` at ``at_ms``, and the next feature state.

    Parameters
    ----------
    state
        The subject after the event (its records sorted by time).
    result
        The score as of ``at_ms``.
    at_ms
        Event time of the re-scoring, epoch ms; never before the previous call's.
    previous
        The subject's feature state from the previous call (``None`` for the first).

    Examples
    --------
    >>> state = EntityState("91350100M000100Y43", SubjectType.ENTERPRISE, sector="finance")
    >>> state.add(Record(0, "a", "social_insurance_arrears", amount_cny=9_000, quantity=3))
    >>> state.add(Record(40 * DAY_MS, "b", "penalty", "general"))
    >>> from creditbrain.schemas.state import ScoreReason
    >>> result = ScoreResult(950, "A", (ScoreReason("a", "social_insurance_arrears", -30),
    ...                                 ScoreReason("b", "penalty", -20)))
    >>> x, fs = subject_features(state, result, 40 * DAY_MS, FeatureState(((0, 970),)))
    >>> x["penalty_30d"], x["arrears_30d"], x["arrears_90d"], x["si_months"]
    (0.3333333333333333, 0.0, 0.3333333333333333, 0.25)
    >>> round(x["fall_90d"], 3), x["sector_money"], x["type_enterprise"], fs.history
    (0.167, 1.0, 1.0, ((0, 970), (3456000000, 950)))
    """
    features = _ZEROS.copy()
    records = state.records
    start = bisect_left(records, at_ms - 365 * DAY_MS, key=_occurred)
    end = bisect_right(records, at_ms, key=_occurred)
    if start < end:
        _count_windows(features, records, start, end, at_ms)
    if result.reasons:
        _open_arrears(features, records, result, end)
    previous = previous or FeatureState()
    score = result.score
    features["score"] = score / 1000.0
    features["grade"] = _GRADE_VALUE[result.grade]
    features["deductions"] = _squash(sum(1 for reason in result.reasons if reason.effect < 0))
    change_30 = score - previous.score_at(at_ms - 30 * DAY_MS)
    change_90 = score - previous.score_at(at_ms - 90 * DAY_MS)
    features["fall_30d"] = _clip(-change_30 / 300.0)
    features["fall_90d"] = _clip(-change_90 / 300.0)
    features["rise_90d"] = _clip(change_90 / 300.0)
    # Speeding up: the last 30 days fell by more than the 30-day average of the 60 before.
    features["fall_speedup"] = _clip((-change_30 + (change_90 - change_30) / 2) / 300.0)
    # The previous record is the latest one strictly before this moment.
    before = bisect_left(records, at_ms, key=_occurred)
    if before:
        days = (at_ms - records[before - 1].occurred_at) / DAY_MS
        features["quiet"] = min(1.0, math.log1p(days) / _TEN_YEARS_LOG)
    else:
        features["quiet"] = 1.0
    features["type_" + state.subject_type.value] = 1.0
    features["sector_" + SECTOR_GROUPS.get(state.sector, "other")] = 1.0
    return features, previous.after(at_ms, score)


def _count_windows(
    features: dict[str, float], records: list[Record], start: int, end: int, at_ms: int
) -> None:
    counts = dict.fromkeys(_GROUPS, 0)
    counts_30 = dict.fromkeys(_GROUPS, 0)
    counts_90 = dict.fromkeys(_GROUPS, 0)
    # Distinct kinds of trouble (and of arrears) reported in the last 90 days.
    kinds_90: set[str] = set()
    since_30, since_90 = at_ms - 30 * DAY_MS, at_ms - 90 * DAY_MS
    for index in range(start, end):
        record = records[index]
        group = KIND_GROUPS.get((record[2], record[3]))
        if group is None:
            continue
        counts[group] += 1
        occurred = record[0]
        if occurred > since_90:
            counts_90[group] += 1
            if group in _TROUBLE:
                kinds_90.add(record[2])
            if occurred > since_30:
                counts_30[group] += 1
    for group in _GROUPS:
        if counts[group]:
            features[group + "_365d"] = _squash(counts[group])
            features[group + "_90d"] = _squash(counts_90[group])
            features[group + "_30d"] = _squash(counts_30[group])
    if kinds_90:
        arrears_kinds = len(kinds_90 & _ARREARS)
        features["arrears_kinds_90d"] = arrears_kinds / 3
        if arrears_kinds and counts["arrears"] == counts_90["arrears"]:
            features["arrears_new"] = 1.0
        features["trouble_kinds_90d"] = _squash(len(kinds_90))
        trouble = counts["penalty"] + counts["judgment"] + counts["arrears"] + counts["listing"]
        recent = (
            counts_90["penalty"]
            + counts_90["judgment"]
            + counts_90["arrears"]
            + counts_90["listing"]
        )
        features["trouble_recent"] = recent / trouble


def _open_arrears(
    features: dict[str, float], records: list[Record], result: ScoreResult, end: int
) -> None:
    wanted = {reason.event_id for reason in result.reasons if reason.kind in _ARREARS}
    if not wanted:
        return
    amount = 0.0
    # Counting arrears are the latest report of their kind, so a backward scan finds them soon.
    for index in range(end - 1, -1, -1):
        record = records[index]
        if record[1] not in wanted:
            continue
        wanted.discard(record[1])
        kind, quantity = record[2], record[5] or 0
        amount += record[4] or 0.0
        if kind == "social_insurance_arrears":
            features["si_months"] = min(1.0, quantity / 12.0)
        elif kind == "tax_arrears":
            features["tax_months"] = min(1.0, quantity / 12.0)
        else:
            features["wage_workers"] = min(1.0, math.log1p(quantity) / _WORKERS_LOG)
        features["open_arrears"] += 1 / 3
        if not wanted:
            break
    features["arrears_amount"] = min(1.0, math.log1p(amount) / _AMOUNT_LOG)
