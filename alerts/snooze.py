"""Snoozes: one subject's warnings kept out of delivery until a moment of event time.

A regulator snoozes one rule of a subject (or all its rules, ``rule`` ``None``)
until ``until_ms`` with a reason. While a snooze covers a warning change, the
change is still stored (``alerts.log``, marked snoozed) but not delivered: not on
``credit.warnings``, the grid's topic or the webhooks. The snooze ends by itself
when event time reaches ``until_ms``: a change at or after it is delivered again.
Event time, not the wall clock, so that the worker and a replay of the same
events agree on which changes were held back.

Snoozes travel on the compacted topic ``credit.snoozes`` (key: the snooze id,
value: :meth:`Snooze.to_json`, empty to lift it early), followed by the workers
like ``credit.policies``. :class:`SnoozeSet` is the value the engine consults.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .lifecycle import AlertUpdate
from .rules import RULE_NAMES

__all__ = ["Snooze", "SnoozeError", "SnoozeMessage", "SnoozeSet", "apply_snooze_message"]


class SnoozeError(ValueError):
    """A snooze message that cannot be read (named field and reason)."""


@dataclass(frozen=True, slots=True)
class Snooze:
    """One snooze: ``subject_id``'s ``rule`` (``None``: every rule) held back until ``until_ms``.

    >>> s = Snooze("s1", "91350100M000100Y43", "wage_arrears", 1_000, "under review", "reg-1")
    >>> s.covers("91350100M000100Y43", "wage_arrears", 999), s.covers(
    ...     "91350100M000100Y43", "wage_arrears", 1_000)
    (True, False)
    >>> Snooze.from_json("s1", s.to_json()) == s
    True
    """

    id: str
    subject_id: str
    rule: str | None
    until_ms: int
    reason: str
    by: str = ""
    created_ms: int = 0

    def covers(self, subject_id: str, rule: str, at_ms: int) -> bool:
        """Whether a change of ``subject_id``'s ``rule`` at event time ``at_ms`` is held back."""
        return (
            subject_id == self.subject_id
            and (self.rule is None or self.rule == rule)
            and at_ms < self.until_ms
        )

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "subject_id": self.subject_id,
                "rule": self.rule,
                "until_ms": self.until_ms,
                "reason": self.reason,
                "by": self.by,
                "created_ms": self.created_ms,
            }
        )

    @classmethod
    def from_json(cls, snooze_id: str, value: bytes | str) -> Snooze:
        try:
            doc = SnoozeMessage.model_validate_json(value)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "value"
            raise SnoozeError(f"snooze {snooze_id}: {where}: {first['msg']}") from None
        return cls(
            snooze_id, doc.subject_id, doc.rule, doc.until_ms, doc.reason, doc.by, doc.created_ms
        )


class SnoozeMessage(BaseModel):
    """The value of a ``credit.snoozes`` message (its key is the snooze id)."""

    model_config = ConfigDict(extra="forbid")

    subject_id: str = Field(min_length=1, description="The subject whose warnings are held back.")
    rule: str | None = Field(
        default=None, description="The rule held back; null: every rule of the subject."
    )
    until_ms: int = Field(description="End of the snooze, event time, epoch milliseconds.")
    reason: str = Field(default="", description="Why the warnings are held back.")
    by: str = Field(default="", description="Who snoozed them.")
    created_ms: int = Field(default=0, description="When, wall clock, epoch milliseconds.")

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, rule: str | None) -> str | None:
        if rule is not None and rule not in RULE_NAMES:
            raise ValueError(f"unknown rule {rule!r}")
        return rule


@dataclass(frozen=True)
class SnoozeSet:
    """The snoozes in force, by subject; replaced whole (like a policy set) on each message.

    >>> snoozes = SnoozeSet().with_snooze(Snooze("a", "S", None, 50, "why"))
    >>> snoozes.covers("S", "score_drop", 10), snoozes.covers("S", "score_drop", 50)
    (True, False)
    >>> snoozes.covers("T", "score_drop", 10), len(snoozes.without("a").by_id)
    (False, 0)
    """

    by_id: Mapping[str, Snooze] = field(default_factory=lambda: MappingProxyType({}))
    _by_subject: Mapping[str, tuple[Snooze, ...]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False
    )

    @classmethod
    def of(cls, snoozes: Mapping[str, Snooze]) -> SnoozeSet:
        by_subject: dict[str, tuple[Snooze, ...]] = {}
        for snooze in snoozes.values():
            by_subject[snooze.subject_id] = (*by_subject.get(snooze.subject_id, ()), snooze)
        return cls(MappingProxyType(dict(snoozes)), MappingProxyType(by_subject))

    def with_snooze(self, snooze: Snooze) -> SnoozeSet:
        return SnoozeSet.of({**self.by_id, snooze.id: snooze})

    def without(self, snooze_id: str) -> SnoozeSet:
        return SnoozeSet.of({k: v for k, v in self.by_id.items() if k != snooze_id})

    def covers(self, subject_id: str, rule: str, at_ms: int) -> bool:
        return any(s.covers(subject_id, rule, at_ms) for s in self._by_subject.get(subject_id, ()))

    def hold(self, subject_id: str, update: AlertUpdate, at_ms: int) -> AlertUpdate:
        """``update`` as it goes out: stored only, marked snoozed, when a snooze covers it."""
        if not self._by_subject or not self.covers(subject_id, update.rule, at_ms):
            return update
        return replace(update, notify=False, grid=False, snoozed=True)

    def for_subject(self, subject_id: str) -> tuple[Snooze, ...]:
        return self._by_subject.get(subject_id, ())


def apply_snooze_message(
    snoozes: SnoozeSet, key: bytes | str, value: bytes | str | None
) -> SnoozeSet:
    """The set after one ``credit.snoozes`` message (an empty value lifts the snooze).

    >>> s = Snooze("k", "S", "score_drop", 9, "r")
    >>> after = apply_snooze_message(SnoozeSet(), b"k", s.to_json())
    >>> after.by_id["k"] == s, apply_snooze_message(after, "k", b"").by_id
    (True, mappingproxy({}))
    """
    snooze_id = key.decode(errors="replace") if isinstance(key, bytes) else key
    if not value:
        return snoozes.without(snooze_id)
    return snoozes.with_snooze(Snooze.from_json(snooze_id, value))
