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
* any accumulation of trouble, whatever its kind: ``{penalty,judgment,arrears,listing}_accel``
  (the group's records in 90 days beyond the 90-day average of the 275 days before),
  ``trouble_90d``, ``trouble_weighted`` (each record of trouble of the year weighted
  by ``exp(-age / 45 days)``) and ``relapses`` (arrears reported again after arrears of
  that kind were cleared), all squashed; ``peer_excess`` (the weighted trouble beyond
  the running mean of the subject's sector × district) is written by the model, which
  keeps those means (:func:`subject_features` leaves it 0);
* persistence: ``trouble_months``, the share of the last six 30-day months (counted
  back from the event time) in which trouble was reported: a decline reports trouble
  month after month, a false start or a subject that turns round in a burst.

Only the score history cannot be read off the state, so the stream keeps a
:class:`FeatureState` per subject: the last few score changes, at most
:data:`HISTORY_LIMIT` pairs. Counting scans only the last 365 days of records
(found by bisection), once for all groups and windows, so the cost does not grow
with a subject's history.

The models call :func:`sparse_features`, which builds only the non-zero features
(most are zero for most transitions), in the order of :data:`FEATURE_NAMES`;
:func:`subject_features` gives all of them.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from operator import itemgetter
from typing import Any

import orjson

from creditbrain.alerts.policy import DEFAULT_POLICIES, PolicySet
from creditbrain.alerts.rules import RED_KINDS, is_red_event
from creditbrain.core.eventtime import DAY_MS
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
    "sparse_features",
    "subject_features",
]

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
    # Any accumulation of trouble, whatever its kind (no one script's signs):
    *(f"{group}_accel" for group in ("penalty", "judgment", "arrears", "listing")),
    # (persistence: a decline keeps reporting trouble month after month, a false start
    # comes in a burst)
    *("trouble_90d", "trouble_weighted", "relapses", "trouble_months", "peer_excess"),
)

_GRADE_VALUE = {"A": 1.0, "B": 2 / 3, "C": 1 / 3, "D": 0.0}
_ARREARS = frozenset(("tax_arrears", "social_insurance_arrears", "wage_arrears"))
_CLEAN_SCORE = 1000
_TEN_YEARS_LOG = math.log1p(3650.0)
_AMOUNT_LOG = math.log1p(10_000_000.0)
_WORKERS_LOG = math.log1p(100.0)
_occurred = itemgetter(0)
#: The template of the full feature dict.
_ZEROS = dict.fromkeys(FEATURE_NAMES, 0.0)

# One bit per kind of trouble (the reporting department's kind of record), so the
# distinct kinds seen in a window are an int, and the arrears kinds a mask of it.
_TROUBLE_KINDS = sorted({kind for (kind, _), group in KIND_GROUPS.items() if group in _TROUBLE})
_KIND_BIT = {kind: 1 << index for index, kind in enumerate(_TROUBLE_KINDS)}
_ARREARS_BITS = sum(_KIND_BIT[kind] for kind in _ARREARS)
#: Record class -> (index of its group's 30-day count in FEATURE_NAMES, its trouble-kind
#: bit or 0); the 90- and 365-day counts follow the 30-day one.
_CLASSES: dict[tuple[str, str | None], tuple[int, int]] = {
    key: (FEATURE_NAMES.index(f"{group}_30d"), _KIND_BIT[key[0]] if group in _TROUBLE else 0)
    for key, group in KIND_GROUPS.items()
}
_COUNTS = len(_GROUPS) * len(_WINDOWS)
_TYPE_FEATURE = {member: f"type_{member.value}" for member in SubjectType}
_SECTOR_FEATURE = {sector: f"sector_{group}" for sector, group in SECTOR_GROUPS.items()}
_WINDOW_365 = 365 * DAY_MS
_WINDOW_90 = 90 * DAY_MS
_WINDOW_30 = 30 * DAY_MS
_WINDOW_180 = 180 * DAY_MS

#: Score changes kept per subject: enough for a few per month over 90 days.
HISTORY_LIMIT = 12
#: Version of the JSON form of :class:`FeatureState` (format 1, pairs, is still read).
FEATURE_STATE_FORMAT = 2


def is_red(
    record: Record, state: EntityState | None = None, policies: PolicySet | None = None
) -> bool:
    """Whether ``record`` alone fires a red warning: the red events the models learn to foresee.

    What is red is what the rules say under the policy in force
    (:func:`creditbrain.alerts.rules.is_red_event`), resolved for the subject's
    sector and district (``state``; none: the city-wide policy); ``policies``
    ``None`` means the built-in defaults. So a supervisor who lowers the workers
    that make wage arrears red also changes the models' label.

    >>> is_red(Record(0, "e", "wage_arrears", quantity=12)), is_red(Record(0, "e", "penalty"))
    (True, False)
    >>> lowered = PolicySet.model_validate(
    ...     {"overrides": {"*": {"rules": {"wage_arrears": {"thresholds": {"red_workers": 3}}}}}})
    >>> is_red(Record(0, "e", "wage_arrears", quantity=5), policies=lowered)
    True
    """
    if record.kind not in RED_KINDS:
        return False
    in_force = DEFAULT_POLICIES if policies is None else policies
    if state is None:
        return is_red_event(record, SubjectType.ENTERPRISE, in_force.resolve_all("", ""))
    rules = in_force.resolve_all(state.sector, state.district)
    return is_red_event(record, state.subject_type, rules)


class FeatureState:
    """What the features need that the subject's state does not hold: the score history.

    Immutable; :meth:`after` gives the next state.

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
    >>> s.to_json()
    b'{"f":2,"h":[0,1000,864000000,900,4320000000,850]}'
    """

    # The pairs are kept flat, (at, score, at, score, ...): the JSON form is then one
    # list of ints, which reads back without building a tuple per pair.
    __slots__ = ("flat",)

    def __init__(self, history: Iterable[tuple[int, int]] = ()) -> None:
        #: The history flattened: ``(at_ms, score, at_ms, score, ...)``.
        self.flat: tuple[int, ...] = tuple([value for pair in history for value in pair])

    @classmethod
    def from_flat(cls, flat: tuple[int, ...]) -> FeatureState:
        """The state of the flattened history ``flat`` (:attr:`flat`)."""
        state = cls.__new__(cls)
        state.flat = flat
        return state

    @property
    def history(self) -> tuple[tuple[int, int], ...]:
        """``(at_ms, score)`` pairs, oldest first."""
        flat = self.flat
        return tuple(zip(flat[::2], flat[1::2], strict=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FeatureState):
            return NotImplemented
        return self.flat == other.flat

    def __hash__(self) -> int:
        return hash(self.flat)

    def __repr__(self) -> str:
        return f"FeatureState(history={self.history!r})"

    def score_at(self, at_ms: int) -> int:
        """The score the subject had at ``at_ms`` (1000 before its first record)."""
        flat = self.flat
        score = _CLEAN_SCORE
        for index in range(0, len(flat), 2):
            if flat[index] > at_ms:
                break
            score = flat[index + 1]
        return score

    def after(self, at_ms: int, score: int) -> FeatureState:
        """The state once the subject scored ``score`` at ``at_ms`` (not before the last entry)."""
        flat = self.flat
        if flat and flat[-1] == score:
            return self
        horizon = at_ms - _WINDOW_90
        size = len(flat)
        keep = 0
        while keep + 2 < size and flat[keep + 2] <= horizon:
            keep += 2
        kept = (*flat[keep:], at_ms, score)
        if len(kept) > 2 * HISTORY_LIMIT:
            kept = (*kept[:2], *kept[-2 * (HISTORY_LIMIT - 1) :])
        return FeatureState.from_flat(kept)

    def to_json(self) -> bytes:
        """Compact JSON: ``{"f": format, "h": [at_ms, score, at_ms, score, ...]}``."""
        return orjson.dumps({"f": FEATURE_STATE_FORMAT, "h": self.flat})

    @classmethod
    def from_json(cls, data: bytes | str) -> FeatureState:
        """The state written by :meth:`to_json`, of this format or of format 1.

        Format 1 held the pairs as lists: ``{"f": 1, "h": [[at_ms, score], ...]}``.

        >>> FeatureState.from_json('{"f": 1, "h": [[0, 1000], [5, 990]]}').history
        ((0, 1000), (5, 990))
        """
        doc: Any = orjson.loads(data)
        version = doc.get("f")
        if version == FEATURE_STATE_FORMAT:
            flat = doc["h"]
            if len(flat) % 2:
                raise ValueError("feature state history of odd length")
            return cls.from_flat(tuple(flat))
        if version == 1:
            return cls((int(at), int(score)) for at, score in doc["h"])
        raise ValueError(f"feature state format {version!r}, expected {FEATURE_STATE_FORMAT}")


_NO_HISTORY = FeatureState()


def _clip(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value


def sparse_features(
    state: EntityState, result: ScoreResult, at_ms: int, previous: FeatureState | None
) -> tuple[dict[str, float], FeatureState]:
    """The non-zero features of ``state`` re-scored as ``result`` at ``at_ms``, and the next
    feature state.

    The items are those of :func:`subject_features` that are not zero, in the same
    order (the order of :data:`FEATURE_NAMES`); the zero ones are never built.
    Parameters as for :func:`subject_features`.

    Examples
    --------
    >>> state = EntityState("91350100M000100Y43", SubjectType.PERSON)
    >>> state.add(Record(0, "a", "penalty", "general"))
    >>> from creditbrain.schemas.state import ScoreReason
    >>> x, fs = sparse_features(state, ScoreResult(980, "A", (ScoreReason("a", "penalty", -20),)),
    ...                         0, None)
    >>> x  # doctest: +NORMALIZE_WHITESPACE
    {'penalty_30d': 0.3333333333333333, 'penalty_90d': 0.3333333333333333,
     'penalty_365d': 0.3333333333333333, 'score': 0.98, 'grade': 1.0,
     'deductions': 0.3333333333333333, 'fall_30d': 0.06666666666666667,
     'fall_90d': 0.06666666666666667, 'quiet': 1.0, 'trouble_kinds_90d': 0.3333333333333333,
     'trouble_recent': 1.0, 'fall_speedup': 0.06666666666666667, 'type_person': 1.0,
     'sector_other': 1.0, 'penalty_accel': 0.3333333333333333, 'trouble_90d': 0.3333333333333333,
     'trouble_weighted': 0.3333333333333333, 'trouble_months': 0.16666666666666666}
    """
    x: dict[str, float] = {}
    records = state.records
    end = bisect_right(records, at_ms, key=_occurred)
    start = bisect_left(records, at_ms - _WINDOW_365, hi=end, key=_occurred)
    trajectory = _count_windows(x, records, start, end, at_ms) if start < end else None
    deductions = 0
    wanted: set[str] | None = None
    for event_id, kind, effect in result.reasons:
        if effect < 0:
            deductions += 1
        if kind in _ARREARS:
            if wanted is None:
                wanted = set()
            wanted.add(event_id)
    if wanted:
        _open_arrears(x, records, wanted, end)
    if previous is None:
        previous = _NO_HISTORY
    score = result.score
    speedup = _score_features(x, result, deductions, previous, at_ms)
    _quiet(x, records, end, at_ms)
    if trajectory is not None:
        _trajectory(x, *trajectory)
    if speedup > 0.0:
        x["fall_speedup"] = _clip(speedup)
    x[_TYPE_FEATURE[state.subject_type]] = 1.0
    x[_SECTOR_FEATURE.get(state.sector or "", "sector_other")] = 1.0
    if trajectory is not None:
        _accumulation(x, records, start, end, at_ms)
    return x, previous.after(at_ms, score)


def _quiet(x: dict[str, float], records: list[Record], end: int, at_ms: int) -> None:
    """Write ``quiet``: the time since the previous record, on a log scale to ten years."""
    # The previous record is the latest one strictly before this moment (records[:end]
    # are at or before it; usually only the event's own record is at it).
    before = end
    while before and records[before - 1][0] == at_ms:
        before -= 1
    if before:
        days = (at_ms - records[before - 1][0]) / DAY_MS
        quiet = min(1.0, math.log1p(days) / _TEN_YEARS_LOG)
        if quiet:
            x["quiet"] = quiet
    else:
        x["quiet"] = 1.0


def subject_features(
    state: EntityState, result: ScoreResult, at_ms: int, previous: FeatureState | None
) -> tuple[dict[str, float], FeatureState]:
    """All the features of ``state`` re-scored as ``result`` at ``at_ms``, and the next
    feature state.

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
    sparse, after = sparse_features(state, result, at_ms, previous)
    features = _ZEROS.copy()
    features.update(sparse)
    return features, after


def _score_features(
    x: dict[str, float],
    result: ScoreResult,
    deductions: int,
    previous: FeatureState,
    at_ms: int,
) -> float:
    """Write the score's features into ``x``; return the fall's speed-up (not yet clipped)."""
    score = result.score
    if score:
        x["score"] = score / 1000.0
    grade = _GRADE_VALUE[result.grade]
    if grade:
        x["grade"] = grade
    if deductions:
        x["deductions"] = deductions / (deductions + 2.0)
    change_30 = score - previous.score_at(at_ms - _WINDOW_30)
    change_90 = score - previous.score_at(at_ms - _WINDOW_90)
    if change_30 < 0:
        x["fall_30d"] = _clip(-change_30 / 300.0)
    if change_90 < 0:
        x["fall_90d"] = _clip(-change_90 / 300.0)
    elif change_90 > 0:
        x["rise_90d"] = _clip(change_90 / 300.0)
    # Speeding up: the last 30 days fell by more than the 30-day average of the 60 before.
    return (-change_30 + (change_90 - change_30) / 2) / 300.0


def _count_windows(
    x: dict[str, float], records: list[Record], start: int, end: int, at_ms: int
) -> tuple[int, bool, float] | None:
    """Write the window counts of ``records[start:end]`` into ``x``, in one pass.

    Returns, when trouble was reported in the last 90 days, its kinds (bits of
    ``_KIND_BIT``), whether every arrears report of the year is of those 90 days, and
    the share of the year's trouble records within them; otherwise ``None``.
    """
    # counts[3 * group + window]: the first 15 features, in their order.
    counts = [0] * _COUNTS
    kinds = 0
    since_30, since_90 = at_ms - _WINDOW_30, at_ms - _WINDOW_90
    classes = _CLASSES
    for record in records[start:end]:
        found = classes.get((record[2], record[3]))
        if found is None:
            continue
        base, bit = found
        occurred = record[0]
        if occurred > since_90:
            kinds |= bit
            if occurred > since_30:
                counts[base] += 1
            counts[base + 1] += 1
        counts[base + 2] += 1
    for base in range(0, _COUNTS, 3):
        count = counts[base + 2]
        if count:
            recent = counts[base]
            if recent:
                x[FEATURE_NAMES[base]] = recent / (recent + 2.0)
            recent = counts[base + 1]
            if recent:
                x[FEATURE_NAMES[base + 1]] = recent / (recent + 2.0)
            x[FEATURE_NAMES[base + 2]] = count / (count + 2.0)
    if not kinds:
        return None
    # Groups 0-3 are the trouble groups, 2 the arrears (the order of ``_GROUPS``).
    trouble = counts[2] + counts[5] + counts[8] + counts[11]
    recent = counts[1] + counts[4] + counts[7] + counts[10]
    return kinds, counts[8] == counts[7], recent / trouble


def _trajectory(x: dict[str, float], kinds: int, arrears_new: bool, trouble_recent: float) -> None:
    """Write the trajectory features (but the speed-up) of :func:`_count_windows`' findings."""
    arrears_kinds = (kinds & _ARREARS_BITS).bit_count()
    if arrears_kinds:
        x["arrears_kinds_90d"] = arrears_kinds / 3
        if arrears_new:
            x["arrears_new"] = 1.0
    distinct = kinds.bit_count()
    x["trouble_kinds_90d"] = distinct / (distinct + 2.0)
    x["trouble_recent"] = trouble_recent


_ACCEL_GROUPS = (("penalty", 0), ("judgment", 3), ("arrears", 6), ("listing", 9))
_PRIOR_SHARE = 90 / 275
_RECENCY_MS = 45 * DAY_MS


def _accumulation(
    x: dict[str, float], records: list[Record], start: int, end: int, at_ms: int
) -> None:
    """Write the features of any accumulation of trouble (called when some is recent).

    * ``{group}_accel``: records of the group in the last 90 days beyond the 90-day
      average of the 275 days before (a rate that grows), squashed;
    * ``trouble_90d``: every record of trouble in 90 days, squashed;
    * ``trouble_weighted``: records of trouble over the year, each weighted by
      ``exp(-age / 45 days)``, squashed: recent trouble counts most;
    * ``relapses``: arrears reported again after arrears of that kind were cleared
      within the year, squashed;
    * ``trouble_months``: of the last six 30-day months, the share with trouble.
    """
    counts = [0] * _COUNTS
    since_90 = at_ms - _WINDOW_90
    weighted = 0.0
    relapses = 0
    cleared = 0
    months = 0  # bit m: trouble between m and m + 1 months (30 days) before at_ms
    since_180 = at_ms - _WINDOW_180
    classes = _CLASSES
    for record in records[start:end]:
        kind = record[2]
        if kind == "arrears_cleared":
            cleared |= _KIND_BIT.get(record[3] or "", 0)
            continue
        found = classes.get((kind, record[3]))
        if found is None or not found[1]:
            continue  # not trouble
        base = found[0]
        counts[base + 2] += 1
        if record[0] > since_90:
            counts[base + 1] += 1
        weighted += math.exp((record[0] - at_ms) / _RECENCY_MS)
        if record[0] > since_180:
            months |= 1 << ((at_ms - record[0]) // _WINDOW_30)
        if found[1] & cleared:
            relapses += 1
    _accelerations(x, counts)
    if weighted:
        x["trouble_weighted"] = weighted / (weighted + 2.0)
    if relapses:
        x["relapses"] = relapses / (relapses + 2.0)
    if months:
        x["trouble_months"] = months.bit_count() / 6


def _accelerations(x: dict[str, float], counts: list[int]) -> None:
    """Write ``{group}_accel`` and ``trouble_90d`` of :func:`_accumulation`'s counts."""
    recent_total = 0
    for group, base in _ACCEL_GROUPS:
        recent = counts[base + 1]
        recent_total += recent
        accel = recent - (counts[base + 2] - recent) * _PRIOR_SHARE
        if accel > 0:
            x[f"{group}_accel"] = accel / (accel + 2.0)
    if recent_total:
        x["trouble_90d"] = recent_total / (recent_total + 2.0)


def _open_arrears(x: dict[str, float], records: list[Record], wanted: set[str], end: int) -> None:
    amount = 0.0
    si_months = tax_months = wage_workers = open_arrears = 0.0
    # Counting arrears are the latest report of their kind, so a backward scan finds them soon.
    for index in range(end - 1, -1, -1):
        record = records[index]
        if record[1] not in wanted:
            continue
        wanted.discard(record[1])
        kind, quantity = record[2], record[5] or 0
        amount += record[4] or 0.0
        if kind == "social_insurance_arrears":
            si_months = min(1.0, quantity / 12.0)
        elif kind == "tax_arrears":
            tax_months = min(1.0, quantity / 12.0)
        else:
            wage_workers = min(1.0, math.log1p(quantity) / _WORKERS_LOG)
        open_arrears += 1 / 3
        if not wanted:
            break
    if si_months:
        x["si_months"] = si_months
    if tax_months:
        x["tax_months"] = tax_months
    if wage_workers:
        x["wage_workers"] = wage_workers
    amount = min(1.0, math.log1p(amount) / _AMOUNT_LOG)
    if amount:
        x["arrears_amount"] = amount
    if open_arrears:
        x["open_arrears"] = open_arrears
