"""A seeded corpus of hostile and broken wire messages, with the outcome each must get.

Every message is built from a valid event of a corpus subject (an enterprise, an
individual business or a person, each with a real check digit), then broken in one
of the ways listed in :data:`CATEGORIES`. The corpus does not say what the stream
must do with a message: the offline reference does
(:func:`creditbrain.engine.replay.score_lines`, which uses the same door,
:func:`creditbrain.schemas.parse.parse_event`), and :func:`expected` returns its
verdict. So a test compares the running stream with the offline path, message for
message, and the corpus itself can never encode a wrong expectation.

The same seed gives the same bytes: the generator draws from one ``random.Random``.

Examples
--------
>>> first = build_corpus(seed=3, per_category=5)
>>> [m.value for m in first] == [m.value for m in build_corpus(seed=3, per_category=5)]
True
>>> sorted({m.category for m in first}) == sorted(CATEGORIES)
True
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from creditbrain.engine.replay import OfflineScores, score_lines
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.contract import INPUT_TOPICS, KIND_TO_TOPIC
from creditbrain.schemas.events import ParseContext
from creditbrain.schemas.identifiers import (
    CREDIT_CODE_CHARSET,
    credit_code_check_digit,
    generate_credit_code,
    generate_resident_id,
    is_valid_resident_id,
    resident_id_check_digit,
)
from creditbrain.schemas.reference import DISTRICTS, SECTORS

#: The pseudonym key the corpus is judged with (the serve fixture's key).
PSEUDONYM_KEY = b"test-pseudonym-key"
MIB = 1024 * 1024

#: Strings that must travel as data, never as SQL, markup or format syntax.
HOSTILE_STRINGS: tuple[str, ...] = (
    "'",
    "''",
    '"',
    "\\",
    "\\'",
    "'; DROP TABLE events; --",
    '"; DROP TABLE dlq; --',
    "Robert'); DROP TABLE alerts;--",
    "1' OR '1'='1",
    "x' UNION SELECT name FROM system.tables --",
    "{id:String}",
    "{ids:Array(String)}",
    "{{braces}}",
    "%s",
    "%(name)s",
    "%%",
    "$1 ? :name",
    "a\x00b",
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "日照\u202e反转",
    "emoji 😀 \U0010fffd",
    "tab\tand\nnewline",
    "\\N",
    "NULL",
)

_FIELD_SWAPS: tuple[Any, ...] = (0, -1, 1.5, "x", "", [], {}, None, True, [1, 2], {"a": 1})
_ENVELOPE_FIELDS = (
    "schema_version", "event_id", "kind", "subject", "source", "sector", "district",
    "occurred_at", "reported_at", "payload",
)  # fmt: skip
_SUBJECT_FIELDS = ("type", "id", "name")
_KINDS_PLAIN = (
    "penalty", "judgment", "dishonest_debtor", "consumption_restriction", "tax_arrears",
    "social_insurance_arrears", "wage_arrears", "arrears_cleared", "license", "commendation",
    "commitment", "commitment_breach", "list_entry", "list_exit",
)  # fmt: skip
_T0 = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Message:
    """One corpus message: what it tests, the input topic suffix, key and value."""

    category: str
    suffix: str
    key: bytes | None
    value: bytes


@dataclass
class _Subject:
    type: str
    id: str
    name: str


@dataclass
class Corpus:
    """The messages and every clear resident id they carry (for the personal-data scan)."""

    messages: list[Message] = field(default_factory=list)
    clear_ids: set[str] = field(default_factory=set)


def _individual_business(rng: random.Random, district: str) -> str:
    code = "92" + generate_credit_code(rng, district)[2:17]
    return code + credit_code_check_digit(code)


def _payload(kind: str, rng: random.Random) -> dict[str, Any]:
    ref = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return {
        "penalty": {
            "decision_no": "日市监罚〔2025〕1号",
            "severity": "serious",
            "amount_cny": 250_000,
        },
        "judgment": {"case_no": "(2025)鲁1102民初1号", "role": "defendant", "amount_cny": 5_000},
        "dishonest_debtor": {"case_no": "(2025)鲁1102执1号", "amount_cny": 80_000},
        "consumption_restriction": {"case_no": "(2025)鲁1102执2号"},
        "tax_arrears": {"amount_cny": 12_000, "months_overdue": 4, "tax_type": "vat"},
        "social_insurance_arrears": {"amount_cny": 9_000, "months_overdue": 3},
        "wage_arrears": {"amount_cny": 60_000, "workers_affected": 4},
        "arrears_cleared": {"ref_kind": "tax_arrears"},
        "license": {"licence_no": "JY13711020001", "licence_type": "food"},
        "commendation": {"title": "守合同重信用企业", "level": "city"},
        "commitment": {"commitment_no": "CN-1", "commitment_type": "approval"},
        "commitment_breach": {"commitment_no": "CN-1"},
        "list_entry": {"list": "key_attention", "reason": "测试"},
        "list_exit": {"list": "key_attention"},
        "repair": {"ref_event_id": ref},
        "objection": {"ref_event_id": ref, "status": "filed"},
    }[kind]


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "+08:00")


class _Builder:
    """Draws subjects and valid events; every category method breaks them its own way."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.corpus = Corpus()

    # --- valid material ----------------------------------------------------------------------

    def subject(self, subject_type: str | None = None) -> _Subject:
        rng = self.rng
        kind = subject_type or rng.choice(("enterprise", "individual_business", "person"))
        district = rng.choice(sorted(DISTRICTS))
        if kind == "person":
            number = generate_resident_id(rng, district)
            self.corpus.clear_ids.add(number)
            return _Subject("person", number, rng.choice(("王小明", "欧阳娜娜", "李")))
        if kind == "individual_business":
            return _Subject(kind, _individual_business(rng, district), "日照东港区张记小吃店")
        return _Subject(kind, generate_credit_code(rng, district), "日照某某建材有限公司")

    def event(
        self, subject: _Subject, kind: str | None = None, at: datetime | None = None
    ) -> dict[str, Any]:
        rng = self.rng
        kind = kind or rng.choice(_KINDS_PLAIN)
        occurred = at or _T0 + timedelta(seconds=rng.randrange(300 * 86_400))
        return {
            "schema_version": 1,
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "kind": kind,
            "subject": {"type": subject.type, "id": subject.id, "name": subject.name},
            "source": "municipal_market_regulation",
            "sector": rng.choice(sorted(SECTORS)),
            "district": rng.choice(sorted(DISTRICTS)),
            "occurred_at": _stamp(occurred),
            "reported_at": _stamp(occurred + timedelta(hours=rng.randrange(48))),
            "payload": _payload(kind, rng),
        }

    def emit(
        self,
        category: str,
        doc: dict[str, Any] | bytes,
        *,
        kind: str | None = None,
        key: bytes | None | str = "subject",
    ) -> None:
        """Add a message; ``key="subject"`` keys it by the subject id as departments do."""
        value = doc if isinstance(doc, bytes) else json.dumps(doc, ensure_ascii=False).encode()
        known = kind if kind in KIND_TO_TOPIC else None
        if known is None and isinstance(doc, dict) and isinstance(doc.get("kind"), str):
            known = doc["kind"] if doc["kind"] in KIND_TO_TOPIC else None
        suffix = KIND_TO_TOPIC[known] if known else self.rng.choice(sorted(INPUT_TOPICS))
        if key == "subject":
            subject = doc.get("subject") if isinstance(doc, dict) else None
            ident = subject.get("id") if isinstance(subject, dict) else None
            key = str(ident).encode() if ident is not None else None
        elif isinstance(key, str):
            key = key.encode()
        self.corpus.messages.append(Message(category, suffix, key, value))

    def fresh(self, category: str) -> dict[str, Any]:
        """A valid event of a subject used nowhere else."""
        return self.event(self.subject())

    # --- categories ----------------------------------------------------------------------------

    def random_bytes(self, n: int) -> None:
        for _ in range(n):
            size = self.rng.choice((1, 7, 64, 500, 4000))
            self.emit("random_bytes", self.rng.randbytes(size), key=self.rng.randbytes(8))

    def empty(self, n: int) -> None:
        for _ in range(n):
            self.emit("empty", b"", key=self.rng.choice((None, b"", b"k")))

    def truncated(self, n: int) -> None:
        for _ in range(n):
            raw = json.dumps(self.fresh("truncated"), ensure_ascii=False).encode()
            cut = self.rng.randrange(1, len(raw))
            self.emit("truncated", raw[:cut], key=None)

    def deep_nesting(self, n: int) -> None:
        depth = 100_000
        shapes: list[Callable[[], bytes]] = [
            lambda: b"[" * depth + b"]" * depth,
            lambda: b'{"a":' * depth + b"1" + b"}" * depth,
            lambda: b"[" * depth,
            lambda: self._nested_payload(depth),
        ]
        for i in range(n):
            self.emit("deep_nesting", shapes[i % len(shapes)](), key=b"nested")

    def _nested_payload(self, depth: int) -> bytes:
        event = self.fresh("deep_nesting")
        event["payload"]["extra"] = "@@"
        raw = json.dumps(event, ensure_ascii=False).encode()
        return raw.replace(b'"@@"', b"[" * depth + b"]" * depth)

    def oversize(self) -> None:
        """At the limit (accepted if valid), one byte over, 2 MB and 5 MB (with a person's id)."""
        for total in (MIB, MIB + 1, 2 * 1000 * 1000, 5 * MIB):
            event = self.event(self.subject("person"))
            event["payload"]["padding"] = ""
            raw = json.dumps(event, ensure_ascii=False).encode()
            raw = raw.replace(b'"padding": ""', b'"padding": "' + b"x" * (total - len(raw)) + b'"')
            assert len(raw) == total
            self.emit("oversize", raw, kind=event["kind"])

    def wrong_types(self) -> None:
        """Every envelope, subject and payload field once with every wrong type."""
        for swap in _FIELD_SWAPS:
            for name in _ENVELOPE_FIELDS:
                event = self.fresh("wrong_type")
                event[name] = swap
                self.emit("wrong_type", event)
            for name in _SUBJECT_FIELDS:
                event = self.fresh("wrong_type")
                event["subject"][name] = swap
                self.emit("wrong_type", event)
            for kind in (*_KINDS_PLAIN, "repair", "objection"):
                event = self.event(self.subject(), kind)
                for name in list(event["payload"]):
                    broken = json.loads(json.dumps(event))
                    broken["event_id"] = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
                    broken["payload"][name] = swap
                    self.emit("wrong_type", broken)

    def missing(self, n: int) -> None:
        for i in range(n):
            event = self.fresh("missing_field")
            where = i % 3
            if where == 0:
                del event[self.rng.choice(_ENVELOPE_FIELDS)]
            elif where == 1:
                del event["subject"][self.rng.choice(_SUBJECT_FIELDS)]
            elif event["payload"]:
                del event["payload"][next(iter(event["payload"]))]
            self.emit("missing_field", event, key=None if i % 5 == 0 else "subject")

    def bad_check_digits(self, n: int) -> None:
        for i in range(n):
            subject = self.subject("person" if i % 2 else "enterprise")
            event = self.event(subject)
            ident = subject.id
            if subject.type == "person":
                wrong = next(d for d in "0123456789X" if d != resident_id_check_digit(ident[:17]))
                event["subject"]["id"] = ident[:17] + wrong
                category = "bad_person_id"
            else:
                wrong = next(c for c in CREDIT_CODE_CHARSET if c != ident[17])
                event["subject"]["id"] = ident[:17] + wrong
                category = "bad_credit_code"
            self.emit(category, event)

    def unknown_names(self, n: int) -> None:
        for i in range(n):
            event = self.fresh("unknown")
            choice = i % 3
            if choice == 0:
                event["kind"] = self.rng.choice(("gossip", "PENALTY", "penalty ", "", "日照"))
                self.emit("unknown_kind", event, kind="penalty")
            elif choice == 1:
                event["sector"] = self.rng.choice(("piracy", "Finance", "", "food-drug"))
                self.emit("unknown_sector", event)
            else:
                event["district"] = self.rng.choice(("371100", "110101", "3711O2", ""))
                self.emit("unknown_district", event)

    def odd_times(self) -> None:
        stamps = (
            "0001-01-01T00:00:00+08:00",
            "1899-12-31T23:59:59+08:00",
            "1969-12-31T23:59:59+00:00",
            "1970-01-01T00:00:00+00:00",
            "2199-12-31T23:59:59+00:00",
            "2262-04-12T00:00:00+00:00",
            "2300-01-01T00:00:00+00:00",
            "9999-12-31T23:59:59-14:00",
            "2025-02-30T00:00:00+08:00",
            "2025-03-01T00:00:00",
            "2025-03-01T00:00:00+25:00",
        )
        for stamp in stamps:
            for both in (True, False):
                event = self.fresh("odd_time")
                event["occurred_at"] = stamp
                if both:
                    event["reported_at"] = stamp
                self.emit("odd_time", event)
        event = self.fresh("odd_time")
        event["occurred_at"], event["reported_at"] = event["reported_at"], event["occurred_at"]
        event["occurred_at"] = _stamp(_T0 + timedelta(days=400))
        self.emit("odd_time", event)

    def duplicates_and_order(self, n: int) -> None:
        """Repeats, and a subject's history with repairs and objections ahead of their records."""
        for _ in range(n):
            subject = self.subject()
            record = self.event(subject, self.rng.choice(("dishonest_debtor", "judgment")))
            late = _stamp(datetime.fromisoformat(record["occurred_at"]) + timedelta(days=30))
            repair = self.event(subject, "repair")
            repair["payload"]["ref_event_id"] = record["event_id"]
            repair["occurred_at"] = repair["reported_at"] = late
            objection = self.event(subject, "objection")
            objection["payload"] = {"ref_event_id": record["event_id"], "status": "upheld"}
            objection["occurred_at"] = objection["reported_at"] = late
            early = self.event(subject, "penalty")
            early["payload"]["severity"] = "general"
            too_early = self.event(subject, "repair")
            too_early["payload"]["ref_event_id"] = early["event_id"]
            soon = datetime.fromisoformat(early["occurred_at"]) + timedelta(days=10)
            too_early["occurred_at"] = too_early["reported_at"] = _stamp(soon)
            dangling = self.event(subject, "repair")
            history = [repair, objection, record, record, early, too_early, too_early, dangling]
            for doc in history:
                self.emit("duplicate_or_order", doc)

    def hostile(self) -> None:
        """Valid events whose free text is hostile: they must be applied, stored as sent."""
        for text in HOSTILE_STRINGS:
            event = self.fresh("hostile_string")
            event["subject"]["name"] = text
            event["source"] = text if text.strip() else "s" + text
            event["payload"] = {"decision_no": text, "severity": "general", "authority": text}
            event["kind"] = "penalty"
            self.emit("hostile_string", event)
            bad = self.fresh("hostile_string")
            bad["sector"] = text
            self.emit("hostile_string", bad)

    def encoding(self, n: int) -> None:
        for i in range(n):
            raw = json.dumps(self.fresh("encoding"), ensure_ascii=False).encode()
            choice = i % 5
            if choice == 0:
                raw = raw.replace(b"municipal", b"muni\xffcipal", 1)
                category = "invalid_utf8"
            elif choice == 1:
                raw = raw.replace(b"municipal", b"\xc3(\xa0\xa1", 1)
                category = "invalid_utf8"
            elif choice == 2:
                raw = raw.replace(b"municipal", b"muni\x00cipal", 1)
                category = "nul_byte"
            elif choice == 3:
                raw = raw.replace(b"municipal", b"muni\\u0000cipal", 1)
                category = "nul_byte"
            else:
                raw = b"\xef\xbb\xbf" + raw
                category = "invalid_utf8"
            self.emit(category, raw, key=None)

    def numbers(self) -> None:
        literals = (
            b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"1e308", b"-0.0",
            b"10000000000000000000000000000000", b"1" + b"0" * 5000, b"-5", b"0x10", b"01",
            b"1_000",
        )  # fmt: skip
        for literal in literals:
            for field_name in ("amount_cny", "months_overdue"):
                event = self.event(self.subject(), "tax_arrears")
                event["payload"][field_name] = "@@"
                raw = json.dumps(event, ensure_ascii=False).encode()
                category = "nan_infinity" if b"N" in literal or b"I" in literal else "huge_number"
                self.emit(category, raw.replace(b'"@@"', literal), kind="tax_arrears")

    def keys(self, n: int) -> None:
        """Valid events of fresh subjects with no key, another subject's key, or junk."""
        for i in range(n):
            event = self.fresh("key")
            choice = i % 4
            if choice == 0:
                self.emit("missing_key", event, key=None)
            elif choice == 1:
                self.emit("wrong_key", event, key=self.subject("enterprise").id)
            elif choice == 2:
                self.emit("wrong_key", event, key=self.rng.randbytes(40))
            else:
                self.emit("wrong_key", event, key=b"")

    def negative(self, n: int) -> None:
        for _ in range(n):
            event = self.event(self.subject(), "wage_arrears")
            event["payload"][self.rng.choice(("amount_cny", "workers_affected"))] = -1
            self.emit("negative_amount", event)


def valid_event(seed: int) -> dict[str, Any]:
    """One valid wire event (as a dict) of a subject drawn from ``seed``."""
    builder = _Builder(seed)
    return builder.event(builder.subject())


#: What the corpus covers (every category is present once ``per_category`` is 5 or more).
CATEGORIES: tuple[str, ...] = (
    "random_bytes", "empty", "truncated", "deep_nesting", "oversize", "wrong_type",
    "missing_field", "bad_person_id", "bad_credit_code", "unknown_kind", "unknown_sector",
    "unknown_district", "odd_time", "duplicate_or_order", "hostile_string", "invalid_utf8",
    "nul_byte", "nan_infinity", "huge_number", "missing_key", "wrong_key", "negative_amount",
)  # fmt: skip


def build_corpus(seed: int = 0, per_category: int = 40, oversize: bool = True) -> list[Message]:
    """The corpus for ``seed``: ``per_category`` messages of each countable category.

    Fixed-size categories (every wrong type of every field, every odd timestamp, every
    hostile string, every odd number) are always complete. ``oversize=False`` leaves out
    the four messages of 1 MiB and more.
    """
    return build(seed, per_category, oversize).messages


def build(seed: int = 0, per_category: int = 40, oversize: bool = True) -> Corpus:
    """:func:`build_corpus` with the clear resident ids the messages carry."""
    b = _Builder(seed)
    n = per_category
    b.random_bytes(n)
    b.empty(max(3, n // 10))
    b.truncated(n)
    b.deep_nesting(max(4, n // 10))
    if oversize:
        b.oversize()
    else:
        b.emit("oversize", b"x" * (MIB + 1), key=None)
    b.wrong_types()
    b.missing(n)
    b.bad_check_digits(n)
    b.unknown_names(n)
    b.odd_times()
    b.duplicates_and_order(max(2, n // 4))
    b.hostile()
    b.encoding(n)
    b.numbers()
    b.keys(n)
    b.negative(n)
    b.corpus.clear_ids = {i for i in b.corpus.clear_ids if is_valid_resident_id(i)}
    return b.corpus


def expected(
    values: Iterable[bytes], key: bytes = PSEUDONYM_KEY, max_bytes: int = MIB
) -> OfflineScores:
    """The offline verdict on ``values`` in this order: applied, duplicates, dead letters."""
    return score_lines(values, ParseContext(pseudonym_key=key), DEFAULT_SCORECARD, None, max_bytes)


def by_category(messages: Sequence[Message]) -> dict[str, int]:
    """How many messages of each category."""
    counts: dict[str, int] = {}
    for message in messages:
        counts[message.category] = counts.get(message.category, 0) + 1
    return counts
