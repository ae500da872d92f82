"""Raw bytes in, a valid event or a dead-letter record out.

:func:`parse_event` is the single door of the system: department messages, JSON
Lines files and replays all pass through it, so a file and the topics give the
same verdicts. It never raises for bad input; it returns a :class:`DeadLetter`
with one reason code from the contract, chosen by a fixed precedence when a
message has several faults, so the same message always gets the same reason.

Dead letters keep the message as it came, except that anything shaped like a
resident identity number is replaced by its pseudonym when the message is about
a person (or cannot be read at all), and in any other message every number whose
resident-id check digit holds is (a garbled ``subject.type`` must not let a person's
number through): personal data must not pass the door in clear.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from pydantic import ValidationError

from creditbrain.schemas.events import EVENT_ADAPTER, CreditEvent, ParseContext, event_to_json
from creditbrain.schemas.identifiers import is_valid_resident_id, pseudonymise_person_id


class Reason(StrEnum):
    """Why a message went to the dead-letter topic (CONTRACT.md §1)."""

    BAD_JSON = "bad_json"
    TOO_LARGE = "too_large"
    UNKNOWN_KIND = "unknown_kind"
    MISSING_FIELD = "missing_field"
    BAD_FIELD = "bad_field"
    BAD_CREDIT_CODE = "bad_credit_code"
    BAD_PERSON_ID = "bad_person_id"
    UNKNOWN_SECTOR = "unknown_sector"
    UNKNOWN_DISTRICT = "unknown_district"
    NEGATIVE_AMOUNT = "negative_amount"
    FUTURE_EVENT = "future_event"
    UNKNOWN_REFERENCE = "unknown_reference"
    REPAIR_TOO_EARLY = "repair_too_early"


#: When a message has several faults, the first in this order names it.
PRECEDENCE: tuple[Reason, ...] = tuple(Reason)

_AMOUNT_FIELDS = frozenset(
    {"amount_cny", "months_overdue", "workers_affected", "employees_affected"}
)
_PYDANTIC_TO_REASON = {
    "json_invalid": Reason.BAD_JSON,
    "json_type": Reason.BAD_JSON,
    "union_tag_not_found": Reason.MISSING_FIELD,
    "union_tag_invalid": Reason.UNKNOWN_KIND,
    "missing": Reason.MISSING_FIELD,
    "bad_credit_code": Reason.BAD_CREDIT_CODE,
    "bad_person_id": Reason.BAD_PERSON_ID,
    "unknown_sector": Reason.UNKNOWN_SECTOR,
    "unknown_district": Reason.UNKNOWN_DISTRICT,
    "future_event": Reason.FUTURE_EVENT,
}
_RESIDENT_ID_SHAPE = re.compile(rb"(?<![0-9A-Za-z])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that cannot be applied, with the reason code and a short human detail."""

    reason: Reason
    detail: str
    raw: bytes
    event_id: str = ""


ParseResult = CreditEvent | DeadLetter


def redact(raw: bytes, key: bytes, only_valid: bool = False) -> bytes:
    """Replace resident-id-shaped numbers in ``raw`` by their pseudonyms.

    With ``only_valid``, only numbers whose check digit holds are replaced.

    >>> redact(b'{"id": "11010519491231002X"}', b"k").startswith(b'{"id": "p:')
    True
    >>> redact(b'{"id": "110105194912310021"}', b"k", only_valid=True)
    b'{"id": "110105194912310021"}'
    """

    def pseudonym(match: re.Match[bytes]) -> bytes:
        number = match.group().decode()
        if only_valid and not is_valid_resident_id(number.upper()):
            return match.group()
        return pseudonymise_person_id(number, key).encode()

    return _RESIDENT_ID_SHAPE.sub(pseudonym, raw)


def _protect(raw: bytes, key: bytes, readable: bool) -> bytes:
    if not readable or b'"person"' in raw:
        return redact(raw, key)
    # The subject's type may be the broken part: a real resident id never passes in clear.
    return redact(raw, key, only_valid=True)


def _event_id_of(raw: bytes) -> str:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return ""
    if isinstance(value, dict):
        candidate = value.get("event_id")
        if isinstance(candidate, str) and len(candidate) <= 64:
            return candidate
    return ""


def _reason_of(error: ValidationError) -> tuple[Reason, str]:
    found: dict[Reason, str] = {}
    for item in error.errors(include_url=False, include_input=False):
        kind = item["type"]
        where = ".".join(str(part) for part in item["loc"] if not isinstance(part, int))
        if kind in _PYDANTIC_TO_REASON:
            reason = _PYDANTIC_TO_REASON[kind]
        elif kind == "greater_than_equal" and item["loc"] and item["loc"][-1] in _AMOUNT_FIELDS:
            reason = Reason.NEGATIVE_AMOUNT
        else:
            reason = Reason.BAD_FIELD
        # Keep the first detail per reason; the message text is pydantic's, the input is not
        # echoed so that no personal data reaches the detail.
        found.setdefault(reason, f"{where}: {item['msg']}" if where else item["msg"])
    reason = next(r for r in PRECEDENCE if r in found)
    return reason, found[reason][:300]


def parse_event(raw: bytes, ctx: ParseContext, max_bytes: int = 1024 * 1024) -> ParseResult:
    """Validate one wire message.

    Parameters
    ----------
    raw
        The message value as received (UTF-8 JSON).
    ctx
        Reference tables, allow-list and pseudonym key of the deployment.
    max_bytes
        Messages larger than this are ``too_large`` without being read.

    Examples
    --------
    >>> ctx = ParseContext(pseudonym_key=b"k")
    >>> parse_event(b"{not json", ctx).reason
    <Reason.BAD_JSON: 'bad_json'>
    >>> parse_event(b'{"kind": "gossip"}', ctx).reason
    <Reason.UNKNOWN_KIND: 'unknown_kind'>
    """
    if len(raw) > max_bytes:
        return DeadLetter(Reason.TOO_LARGE, f"{len(raw)} bytes > {max_bytes}", b"", "")
    try:
        return EVENT_ADAPTER.validate_json(raw, context=ctx)
    except ValidationError as error:
        reason, detail = _reason_of(error)
        readable = reason is not Reason.BAD_JSON
        event_id = _event_id_of(raw) if readable else ""
        return DeadLetter(reason, detail, _protect(raw, ctx.pseudonym_key, readable), event_id)


def rejected(event: CreditEvent, reason: Reason, detail: str) -> DeadLetter:
    """A dead letter for a parsed event that the stream rejects against the subject's state."""
    return DeadLetter(reason, detail, event_to_json(event), str(event.event_id))
