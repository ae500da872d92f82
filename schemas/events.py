"""The input events of the wire contract (CONTRACT.md §1) as pydantic v2 models.

An event is an envelope (who, where, when) around a payload whose shape depends
on ``kind``. :data:`CreditEvent` is the discriminated union of the sixteen kinds,
so ``kind`` selects the payload model in one step.

Validation that needs the deployment's configuration (credit-code allow-list,
sector and district tables, the pseudonym key) reads a :class:`ParseContext`
passed as pydantic's validation context; :mod:`creditbrain.schemas.parse` does that.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from creditbrain.schemas.identifiers import (
    is_pseudonym,
    is_valid_credit_code,
    is_valid_resident_id,
    normalise_credit_code,
    pseudonymise_person_id,
)
from creditbrain.schemas.reference import DEFAULT_REFERENCE, Reference


class SubjectType(StrEnum):
    """Who a record is about."""

    ENTERPRISE = "enterprise"
    NON_ENTERPRISE = "non_enterprise"
    INDIVIDUAL_BUSINESS = "individual_business"
    PERSON = "person"
    GOVERNMENT = "government"


@dataclass(frozen=True)
class ParseContext:
    """What validation needs to know about the deployment."""

    pseudonym_key: bytes
    reference: Reference = DEFAULT_REFERENCE
    #: Accept ``subject.id`` already in pseudonym form for persons (events re-read from our own
    #: topics or files written by us); department systems always send clear ids.
    accept_pseudonyms: bool = False


def _context(info: ValidationInfo) -> ParseContext | None:
    ctx = info.context
    return ctx if isinstance(ctx, ParseContext) else None


_STRICT = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True, allow_inf_nan=False)
#: Event times the pipeline can carry: epoch milliseconds stay positive and their
#: versioned forms (ms x 10^6) fit 64 bits, and every expiry stays inside ClickHouse's
#: DateTime64 range (1900-2299). A time outside is a ``bad_field``, not a crash downstream.
EARLIEST_EVENT_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_EVENT_TIME = datetime(2200, 1, 1, tzinfo=UTC)
#: Numbers travel in the subject's state as 64-bit JSON integers (orjson's limit).
_LARGEST = 2**63 - 1
Amount = Annotated[int | float, Field(ge=0, le=_LARGEST, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=_LARGEST)]
NonEmpty = Annotated[str, Field(min_length=1, max_length=200)]


class Subject(BaseModel):
    """The subject of a record. For persons, ``id`` is the pseudonym once parsed."""

    model_config = _STRICT

    type: SubjectType
    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(max_length=200)] = ""

    @model_validator(mode="after")
    def _check_identifier(self, info: ValidationInfo) -> Subject:
        ctx = _context(info)
        if self.type is SubjectType.PERSON:
            if is_pseudonym(self.id) and (ctx is None or ctx.accept_pseudonyms):
                return self
            number = self.id.upper()
            if not is_valid_resident_id(number):
                raise PydanticCustomError("bad_person_id", "resident id check digit fails")
            if ctx is None:
                raise PydanticCustomError("bad_person_id", "no pseudonym key to protect the id")
            object.__setattr__(self, "id", pseudonymise_person_id(number, ctx.pseudonym_key))
            return self
        code = normalise_credit_code(self.id)
        allowed = ctx.reference.credit_code_allow_list if ctx else frozenset()
        if not is_valid_credit_code(code) and code not in allowed:
            raise PydanticCustomError("bad_credit_code", "credit code check digit fails")
        object.__setattr__(self, "id", code)
        return self


class Severity(StrEnum):
    SIMPLE = "simple"
    GENERAL = "general"
    SERIOUS = "serious"


class PenaltyPayload(BaseModel):
    """行政处罚: an administrative penalty decision."""

    model_config = _STRICT
    decision_no: NonEmpty
    severity: Severity
    amount_cny: Amount | None = None
    authority: str | None = None
    publicity_until: datetime | None = None


class JudgmentPayload(BaseModel):
    """A court judgment naming the subject in a role."""

    model_config = _STRICT
    case_no: NonEmpty
    role: Literal["defendant", "plaintiff", "judgment_debtor"]
    amount_cny: Amount | None = None
    court: str | None = None


class DishonestDebtorPayload(BaseModel):
    """失信被执行人: listing as a dishonest judgment debtor."""

    model_config = _STRICT
    case_no: NonEmpty
    amount_cny: Amount | None = None
    court: str | None = None


class ConsumptionRestrictionPayload(BaseModel):
    """限制高消费: a restriction on high consumption."""

    model_config = _STRICT
    case_no: NonEmpty


class TaxArrearsPayload(BaseModel):
    """欠税: a report of tax in arrears (only the latest report counts)."""

    model_config = _STRICT
    amount_cny: Amount
    months_overdue: Count
    tax_type: str | None = None


class SocialInsuranceArrearsPayload(BaseModel):
    """欠缴社保: social-insurance contributions in arrears."""

    model_config = _STRICT
    amount_cny: Amount
    months_overdue: Count
    employees_affected: Count | None = None


class WageArrearsPayload(BaseModel):
    """拖欠工资: wages owed to workers."""

    model_config = _STRICT
    amount_cny: Amount
    workers_affected: Count


ArrearsKind = Literal["tax_arrears", "social_insurance_arrears", "wage_arrears"]


class ArrearsClearedPayload(BaseModel):
    """The arrears of one kind have been paid."""

    model_config = _STRICT
    ref_kind: ArrearsKind


class LicensePayload(BaseModel):
    model_config = _STRICT
    licence_no: NonEmpty
    licence_type: str | None = None


class CommendationPayload(BaseModel):
    """表彰: a commendation, city / province / national."""

    model_config = _STRICT
    title: NonEmpty
    level: Literal["city", "province", "national"] | None = None


class CommitmentPayload(BaseModel):
    """信用承诺: a credit commitment made by the subject."""

    model_config = _STRICT
    commitment_no: NonEmpty
    commitment_type: str | None = None


class CommitmentBreachPayload(BaseModel):
    model_config = _STRICT
    commitment_no: NonEmpty


ListName = Literal["serious_dishonesty", "key_attention", "red"]


class ListPayload(BaseModel):
    """Entry to or exit from a list: 严重失信主体名单, 重点关注名单, 红名单."""

    model_config = _STRICT
    list: ListName
    reason: str | None = None


class RepairPayload(BaseModel):
    """信用修复: the referenced record stops counting from the repair's ``occurred_at``."""

    model_config = _STRICT
    ref_event_id: UUID


class ObjectionPayload(BaseModel):
    """异议: an upheld objection voids the referenced record from the start."""

    model_config = _STRICT
    ref_event_id: UUID
    status: Literal["filed", "upheld", "rejected"]


class _Envelope(BaseModel):
    model_config = _STRICT

    schema_version: Literal[1]
    event_id: UUID
    subject: Subject
    source: Annotated[str, Field(min_length=1, max_length=200)]
    sector: str
    district: str
    occurred_at: AwareDatetime
    reported_at: AwareDatetime

    @field_validator("sector")
    @classmethod
    def _known_sector(cls, value: str, info: ValidationInfo) -> str:
        ctx = _context(info)
        sectors = ctx.reference.sectors if ctx else DEFAULT_REFERENCE.sectors
        if value not in sectors:
            raise PydanticCustomError(
                "unknown_sector", "sector {sector} is not configured", {"sector": value[:40]}
            )
        return value

    @field_validator("district")
    @classmethod
    def _known_district(cls, value: str, info: ValidationInfo) -> str:
        ctx = _context(info)
        districts = ctx.reference.districts if ctx else DEFAULT_REFERENCE.districts
        if value not in districts:
            raise PydanticCustomError(
                "unknown_district",
                "district {district} is not configured",
                {"district": value[:40]},
            )
        return value

    @field_validator("occurred_at", "reported_at")
    @classmethod
    def _within_supported_times(cls, value: datetime) -> datetime:
        if not EARLIEST_EVENT_TIME <= value < LATEST_EVENT_TIME:
            raise PydanticCustomError(
                "time_out_of_range", "time outside 1970-01-01 .. 2200-01-01 (UTC)"
            )
        return value

    @model_validator(mode="after")
    def _not_reported_before_it_happened(self) -> _Envelope:
        if self.occurred_at > self.reported_at:
            raise PydanticCustomError("future_event", "occurred_at is later than reported_at")
        return self


class PenaltyEvent(_Envelope):
    kind: Literal["penalty"]
    payload: PenaltyPayload


class JudgmentEvent(_Envelope):
    kind: Literal["judgment"]
    payload: JudgmentPayload


class DishonestDebtorEvent(_Envelope):
    kind: Literal["dishonest_debtor"]
    payload: DishonestDebtorPayload


class ConsumptionRestrictionEvent(_Envelope):
    kind: Literal["consumption_restriction"]
    payload: ConsumptionRestrictionPayload


class TaxArrearsEvent(_Envelope):
    kind: Literal["tax_arrears"]
    payload: TaxArrearsPayload


class SocialInsuranceArrearsEvent(_Envelope):
    kind: Literal["social_insurance_arrears"]
    payload: SocialInsuranceArrearsPayload


class WageArrearsEvent(_Envelope):
    kind: Literal["wage_arrears"]
    payload: WageArrearsPayload


class ArrearsClearedEvent(_Envelope):
    kind: Literal["arrears_cleared"]
    payload: ArrearsClearedPayload


class LicenseEvent(_Envelope):
    kind: Literal["license"]
    payload: LicensePayload


class CommendationEvent(_Envelope):
    kind: Literal["commendation"]
    payload: CommendationPayload


class CommitmentEvent(_Envelope):
    kind: Literal["commitment"]
    payload: CommitmentPayload


class CommitmentBreachEvent(_Envelope):
    kind: Literal["commitment_breach"]
    payload: CommitmentBreachPayload


class ListEntryEvent(_Envelope):
    kind: Literal["list_entry"]
    payload: ListPayload


class ListExitEvent(_Envelope):
    kind: Literal["list_exit"]
    payload: ListPayload


class RepairEvent(_Envelope):
    kind: Literal["repair"]
    payload: RepairPayload


class ObjectionEvent(_Envelope):
    kind: Literal["objection"]
    payload: ObjectionPayload


CreditEvent = Annotated[
    PenaltyEvent
    | JudgmentEvent
    | DishonestDebtorEvent
    | ConsumptionRestrictionEvent
    | TaxArrearsEvent
    | SocialInsuranceArrearsEvent
    | WageArrearsEvent
    | ArrearsClearedEvent
    | LicenseEvent
    | CommendationEvent
    | CommitmentEvent
    | CommitmentBreachEvent
    | ListEntryEvent
    | ListExitEvent
    | RepairEvent
    | ObjectionEvent,
    Field(discriminator="kind"),
]

#: Validates raw JSON into a :data:`CreditEvent`.
EVENT_ADAPTER: TypeAdapter[CreditEvent] = TypeAdapter(CreditEvent)

#: Every kind on the wire.
KINDS: tuple[str, ...] = (
    "penalty",
    "judgment",
    "dishonest_debtor",
    "consumption_restriction",
    "tax_arrears",
    "social_insurance_arrears",
    "wage_arrears",
    "arrears_cleared",
    "license",
    "commendation",
    "commitment",
    "commitment_breach",
    "list_entry",
    "list_exit",
    "repair",
    "objection",
)


def event_to_json(event: CreditEvent) -> bytes:
    """The event as wire JSON; for persons the id is the pseudonym."""
    return event.model_dump_json(exclude_unset=True).encode()
