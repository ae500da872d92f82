"""One record per subject: the scorecard's ledger, the open warnings and the models' memory.

Each part belongs to its owner: the :class:`~creditbrain.schemas.state.EntityState`
(records, score) to the scorecard, the :class:`~creditbrain.alerts.AlertState` to
the warning lifecycle, the :class:`~creditbrain.models.features.FeatureState` to the
online models. They are composed here into the one :class:`SubjectRecord` the engine
keeps per subject and the worker writes as one changelog record: a crash can never
save the events applied without the warnings they opened (with two tables, a kill
did: 160 of 6,600 alerts differed).

The warnings and the models' memory are parsed only when first used: a worker
restoring a million subjects reads each record's JSON text and keeps it as text
until the subject is seen again (:class:`Memos`).

Examples
--------
>>> from creditbrain.schemas.events import SubjectType
>>> subject = SubjectRecord(EntityState("91350100M000100Y43", SubjectType.ENTERPRISE))
>>> again = SubjectRecord.from_json(subject.to_json())
>>> again.state == subject.state, again.alerts, again.features
(True, '', '')
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import orjson

from creditbrain.alerts import AlertState
from creditbrain.models.features import FeatureState
from creditbrain.schemas.events import CreditEvent
from creditbrain.schemas.state import EntityState

__all__ = [
    "AlertStates",
    "FeatureStates",
    "Memo",
    "Memos",
    "SubjectRecord",
    "Subjects",
    "shadows_of",
]


class Memo(Protocol):
    """A part of a subject's record that writes itself as JSON."""

    def to_json(self) -> bytes: ...


@dataclass(slots=True)
class SubjectRecord:
    """Everything kept about one subject, as one record.

    Parameters
    ----------
    state
        The scorecard's ledger and the latest score.
    alerts
        The subject's open warnings: JSON text as read back, the live object once used,
        empty while it has none.
    features
        The online models' memory of the subject, in the same two forms; empty until
        a model has seen the subject.
    shadows
        The subject's open warnings under each shadow policy set
        (:mod:`creditbrain.engine.shadow`), by shadow name; empty without shadows.
    """

    state: EntityState
    alerts: str | Memo = ""
    features: str | Memo = ""
    shadows: dict[str, AlertState] = field(default_factory=dict)

    @classmethod
    def for_event(cls, event: CreditEvent) -> SubjectRecord:
        """A blank record for the subject of ``event``."""
        return cls(EntityState.for_event(event))

    def to_doc(self) -> dict[str, object]:
        """The ledger's document with the other parts under their keys (``al``, ``m``)."""
        doc = self.state.to_doc()
        for key, memo in (("m", self.features), ("al", self.alerts)):
            if memo:
                doc[key] = memo if isinstance(memo, str) else memo.to_json().decode()
        if self.shadows:
            doc["sh"] = {name: alerts.to_doc() for name, alerts in self.shadows.items()}
        return doc

    def to_json(self) -> bytes:
        """The record as one JSON document (records and reasons as arrays)."""
        return orjson.dumps(self.to_doc(), default=tuple)

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> SubjectRecord:
        """The inverse of :meth:`to_doc`."""
        return cls(EntityState.from_doc(doc), doc.get("al", ""), doc.get("m", ""), shadows_of(doc))

    @classmethod
    def from_json(cls, data: bytes | str) -> SubjectRecord:
        """The inverse of :meth:`to_json`."""
        return cls.from_doc(orjson.loads(data))


def shadows_of(doc: Mapping[str, Any]) -> dict[str, AlertState]:
    """The shadows' open warnings kept in a record's document (key ``sh``)."""
    kept = doc.get("sh") or {}
    return {str(name): AlertState.from_doc(alerts) for name, alerts in kept.items()}


M = TypeVar("M", bound=Memo)


class Memos(MutableMapping[str, M]):
    """One part of the subjects' records, seen as ``subject id -> object``.

    The part holds JSON text after a restore and the live object once something has
    asked for it: each is parsed on first use, then kept parsed. A subject without
    the part (empty) is a missing key.

    >>> class Note(str):
    ...     def to_json(self) -> bytes:
    ...         return self.encode()
    >>> from creditbrain.schemas.events import SubjectType
    >>> subjects = {"a": SubjectRecord(EntityState("a", SubjectType.PERSON))}
    >>> notes = Memos(subjects, "alerts", Note)
    >>> notes["a"] = Note("x"); list(notes), subjects["a"].to_json().endswith(b'"al":"x"}')
    (['a'], True)
    """

    def __init__(
        self, subjects: Mapping[str, SubjectRecord], part: str, parse: Callable[[str], M]
    ) -> None:
        self.subjects = subjects
        self.part = part
        self.parse = parse

    def __getitem__(self, subject_id: str) -> M:
        subject = self.subjects[subject_id]
        memo = getattr(subject, self.part)
        if not isinstance(memo, str):
            return memo  # type: ignore[no-any-return]
        if not memo:
            raise KeyError(subject_id)
        parsed = self.parse(memo)
        setattr(subject, self.part, parsed)
        return parsed

    def __setitem__(self, subject_id: str, value: M) -> None:
        # Kept as the object; the subject's record writes it as JSON.
        setattr(self.subjects[subject_id], self.part, value)

    def __delitem__(self, subject_id: str) -> None:
        subject = self.subjects[subject_id]
        if not getattr(subject, self.part):
            raise KeyError(subject_id)
        setattr(subject, self.part, "")

    def __iter__(self) -> Iterator[str]:
        part = self.part
        return (key for key, subject in self.subjects.items() if getattr(subject, part))

    def __len__(self) -> int:
        part = self.part
        return sum(1 for subject in self.subjects.values() if getattr(subject, part))


class AlertStates(Memos[AlertState]):
    """The subjects' open warnings, held in each record's ``alerts``."""

    def __init__(self, subjects: Mapping[str, SubjectRecord]) -> None:
        super().__init__(subjects, "alerts", AlertState.from_json)


class FeatureStates(Memos[FeatureState]):
    """The early-warning models' memory of each subject, held in each record's ``features``."""

    def __init__(self, subjects: Mapping[str, SubjectRecord]) -> None:
        super().__init__(subjects, "features", FeatureState.from_json)


#: Subject id -> record: what a driver hands the engine to keep.
Subjects = MutableMapping[str, SubjectRecord]
