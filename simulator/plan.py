"""What is decided about a record before it happens.

Background records are drawn entirely at random (:data:`RANDOM`). Stories,
arrears chains and follow-ups fix some values in advance (a deteriorating
company's months overdue, the record a repair references) and say what must
follow the record once its event id exists (``then``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Plan:
    """Values fixed for one future record; ``None`` means draw at random."""

    severity: str | None = None
    role: str | None = None
    amount_cny: float | None = None
    months_overdue: int | None = None
    workers: int | None = None
    case_no: str | None = None
    commitment_no: str | None = None
    commitment_type: str | None = None
    list_name: str | None = None
    level: str | None = None
    ref_event_id: str | None = None
    ref_kind: str | None = None
    status: str | None = None
    #: Part of a story or chain: no random follow-ups (repairs, objections) are added.
    scripted: bool = False
    #: What follows this record, as (seconds after it, kind, variant): a repair or objection
    #: referencing it, the consumption restriction of its case, the exit from its list.
    #: ``variant`` is an objection's status, empty otherwise.
    then: tuple[tuple[int, str, str], ...] = ()
    #: A later report of an arrears chain already open (not a new chain).
    chained: bool = False
    #: Index of the systemic episode this record belongs to.
    episode: int | None = None


#: The plan of a record drawn entirely at random; never mutated.
RANDOM = Plan()
