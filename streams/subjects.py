"""The worker's table entry: a subject's record and the input partition it belongs to.

A subject's events arrive on one input partition, and its changelog record must be
written to the same partition of the table's changelog, so that the worker taking
that partition after a rebalance also takes the subject. That partition is the
one piece of transport the worker keeps per subject; it is kept here, beside the
domain's :class:`~creditbrain.engine.subject.SubjectRecord`, not inside it, and
written with the record under the key ``p``.

>>> from creditbrain.schemas.events import SubjectType
>>> from creditbrain.schemas.state import EntityState
>>> held = HeldSubject(EntityState("a", SubjectType.PERSON), partition=3)
>>> HeldSubject.from_json(held.to_json()).partition
3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from creditbrain.engine.subject import SubjectRecord, shadows_of
from creditbrain.schemas.events import CreditEvent
from creditbrain.schemas.state import EntityState

__all__ = ["HeldSubject"]


@dataclass(slots=True)
class HeldSubject(SubjectRecord):
    """A :class:`SubjectRecord` held by a worker, with its input partition (-1: not known yet)."""

    partition: int = -1

    @classmethod
    def for_event(cls, event: CreditEvent) -> HeldSubject:
        return cls(EntityState.for_event(event))

    def to_doc(self) -> dict[str, object]:
        doc = SubjectRecord.to_doc(self)
        if self.partition >= 0:
            doc["p"] = self.partition
        return doc

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> HeldSubject:
        return cls(
            EntityState.from_doc(doc),
            doc.get("al", ""),
            doc.get("m", ""),
            shadows_of(doc),
            doc.get("p", -1),
        )
