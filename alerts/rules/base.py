"""What every rule file uses: the :class:`Rule` it declares, the verdicts, the helpers.

A rule file defines one :class:`Rule` named ``RULE``. Its check looks at the state
*after* a transition and answers with a :class:`Finding` (its condition holds: at
which level, because of which records, and what the transition added to it,
:class:`News`), ``None`` (it does not hold: an open alert resolves) or
:data:`UNDECIDED` (a model gave no output: leave things as they are).

"Counts" means what the scorecard says: the record is among the reasons of the
score after the transition. A rule's condition is re-judged on every transition of
the subject, publicity expiries included, so an alert resolves on the first
transition at which its cause no longer counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum, IntEnum
from typing import Annotated, Final, Literal, NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from creditbrain.alerts.transition import Facts
from creditbrain.schemas.events import SubjectType
from creditbrain.schemas.state import Record, ScoreReason
from creditbrain.schemas.warnings import LEVEL_RANK, Level

_DAY_MS = 86_400_000
#: A threshold as given: a JSON number, never a string or a boolean.
Number = StrictInt | StrictFloat
Probability = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[Number, Field(ge=0)]


class Thresholds(BaseModel):
    """Base of a rule's threshold model: its fields and their defaults are the rule's numbers."""

    # Strict: a threshold is a JSON number, never "3" or true.
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class NoThresholds(Thresholds):
    """The rule has no threshold: it fires on the records themselves."""


class Policy(Protocol):
    """What a check reads of the policy in force (a ``RulePolicy``)."""

    @property
    def level(self) -> Level: ...

    @property
    def thresholds(self) -> Mapping[str, float]: ...


class News(IntEnum):
    """What a transition adds to a condition that already held."""

    #: Nothing: it holds as before.
    NONE = 0
    #: The same cause with fresh data (a new report of the same arrears, a further
    #: small fall of the score): the alert is updated and stored, never re-sent.
    UPDATE = 1
    #: A new cause (another listing, another penalty of the burst, a further fall of
    #: the grade, another drop of ``points`` at once): stored, and re-sent once the
    #: cooldown since the alert was last sent has passed.
    REPEAT = 2


class Finding(NamedTuple):
    """A rule's condition holds.

    Parameters
    ----------
    level
        The level it holds at.
    causes
        The counting records that make it hold (the warning's reasons).
    news
        What this transition added (:class:`News`); when no alert is open, any
        finding opens one.
    anchor
        What the rule remembers while its alert is open (change rules only).
    """

    level: Level
    causes: tuple[ScoreReason, ...]
    news: News
    anchor: int | None = None


class Undecided(Enum):
    """The rule cannot tell: no model output for this transition."""

    UNDECIDED = "undecided"


UNDECIDED: Final = Undecided.UNDECIDED

Verdict = Finding | Literal[Undecided.UNDECIDED] | None
#: ``check(facts, policy, anchor)``; ``anchor`` is the open alert's, ``None`` when none is open.
Check = Callable[[Facts, Policy, "int | None"], Verdict]
#: ``red_event(record, subject_type, policy)``: the record alone makes the rule hold at red.
RedEvent = Callable[[Record, SubjectType, Policy], bool]


@dataclass(frozen=True, slots=True)
class Rule:
    """One warning rule: its name, defaults and condition, as its file declares it.

    Parameters
    ----------
    name
        The name on the wire (``data.rule``) and in policies.
    order
        Its row in DOMAIN.md's table: rules are judged, and a transition's warnings
        listed, in this order.
    level
        The default level.
    check
        The condition on a subject's transition; ``None`` for a rule that is not about
        a subject (``metric_anomaly``, judged by :mod:`creditbrain.alerts.metric`).
        A subject with no alert open and no counting record is asked only about the
        two model rules (:func:`~creditbrain.alerts.judge` compares their outputs with
        their thresholds first): a rule that can hold for such a subject must be
        added to that shortcut.
    thresholds
        The model of its thresholds; the field defaults are the default thresholds.
    grid
        Routed to the grid governance system by default.
    cooldown_days
        Default days of event time during which a repeat is stored but not re-sent.
    requires
        The kind of record without which the rule cannot hold: with no alert open and
        no such record counting, the check is not even asked.
    red_event
        For a rule that a single record can make red: whether ``record`` does so under
        ``policy``. These are the red events the early-warning models learn to foresee
        (:func:`creditbrain.alerts.rules.is_red_event`); needs ``requires``.
    """

    name: str
    order: int
    level: Level
    check: Check | None
    thresholds: type[Thresholds] = NoThresholds
    grid: bool = False
    cooldown_days: int = 7
    requires: str | None = None
    red_event: RedEvent | None = None


def held(facts: Facts, policy: Policy, causes: Sequence[ScoreReason], news: News) -> Verdict:
    """Holds at the policy's level while ``causes`` count; ``news`` when one of them is new."""
    if not causes:
        return None
    return Finding(policy.level, tuple(causes), news if facts.any_fresh(causes) else News.NONE)


def model_says(
    facts: Facts,
    policy: Policy,
    value: float | None,
    threshold: float,
    anchor: int | None = None,
    resolve_below: float | None = None,
    hold_days: float = 0,
) -> Verdict:
    """Whether a model's ``value`` makes its rule hold; undecided without one.

    With no alert open (``anchor`` ``None``) it holds at or above ``threshold``. Once
    open (``anchor``: when it opened), it holds until ``value`` falls below
    ``resolve_below`` (hysteresis; default ``threshold``) *and* ``hold_days`` have
    passed since the opening, so a probability wavering around the threshold opens
    one warning, not one per wobble.
    """
    if value is None:
        return UNDECIDED
    at = facts.transition.at_ms
    if anchor is None:
        if value < threshold:
            return None
        return Finding(policy.level, facts.deductions, News.NONE, at)
    lower = threshold if resolve_below is None else resolve_below
    if value < lower and at - anchor >= hold_days * _DAY_MS:
        return None
    return Finding(policy.level, facts.deductions, News.NONE, anchor)


def higher(level: Level, than: Level) -> bool:
    """Whether ``level`` is more severe than ``than``.

    >>> higher("red", "orange"), higher("blue", "yellow")
    (True, False)
    """
    return bool(LEVEL_RANK[level] > LEVEL_RANK[than])
