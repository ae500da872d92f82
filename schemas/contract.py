"""Topic layout of the wire contract (CONTRACT.md §1, §2).

Topic names carry a configurable prefix (default ``credit``). Which topic a kind
travels on is part of the contract, so producers and the stream agree on it here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: Input topic suffix -> the kinds it carries.
INPUT_TOPICS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "events.penalty": ("penalty",),
        "events.judgment": ("judgment", "dishonest_debtor", "consumption_restriction"),
        "events.arrears": (
            "tax_arrears",
            "social_insurance_arrears",
            "wage_arrears",
            "arrears_cleared",
        ),
        "events.positive": ("license", "commendation", "commitment"),
        "events.lists": ("list_entry", "list_exit", "commitment_breach"),
        "events.repair": ("repair", "objection"),
    }
)

KIND_TO_TOPIC: Mapping[str, str] = MappingProxyType(
    {kind: suffix for suffix, kinds in INPUT_TOPICS.items() for kind in kinds}
)

DLQ = "events.dlq"
SCORES = "scores"
WARNINGS = "warnings"
WARNINGS_GRID = "warnings.grid"
POLICIES = "policies"
#: Shadow policy sets judged beside the live one (engine/shadow.py), compacted too.
SHADOW_POLICIES = "policies.shadow"
#: Snoozes of a subject's warnings (alerts/snooze.py), compacted like the policies.
SNOOZES = "snoozes"
#: Disposition reports of cases from the grid and departments (schemas/dispositions.py).
DISPOSITIONS = "dispositions"
#: Departments' reports of joint measures applied (CONTRACT "Measures applied");
#: read by the sink, not the worker: they change no score.
MEASURES = "measures.applied"


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: name, partitions, replication and whether it is compacted."""

    name: str
    partitions: int
    replication_factor: int = 1
    compacted: bool = False
    retention_ms: int | None = None


def topic_name(prefix: str, suffix: str) -> str:
    """``credit`` + ``events.penalty`` -> ``credit.events.penalty``.

    >>> topic_name("credit", DLQ)
    'credit.events.dlq'
    """
    return f"{prefix}.{suffix}"


def topic_for_kind(prefix: str, kind: str) -> str:
    """The input topic that carries ``kind``.

    >>> topic_for_kind("credit", "repair")
    'credit.events.repair'
    """
    return topic_name(prefix, KIND_TO_TOPIC[kind])


def input_topics(prefix: str) -> list[str]:
    """Every input topic, in contract order."""
    return [topic_name(prefix, suffix) for suffix in INPUT_TOPICS]


def topic_specs(prefix: str, partitions: int, replication_factor: int = 1) -> list[TopicSpec]:
    """Every topic of the contract, with the shadows, snoozes and policies topics compacted.

    >>> [s.name for s in topic_specs("credit", 4)][-1]
    'credit.policies'
    """
    keyed = [*INPUT_TOPICS, SCORES, WARNINGS, WARNINGS_GRID, DISPOSITIONS, MEASURES]
    specs = [TopicSpec(topic_name(prefix, s), partitions, replication_factor) for s in keyed]
    specs.append(TopicSpec(topic_name(prefix, DLQ), partitions, replication_factor))
    specs.append(
        TopicSpec(topic_name(prefix, SHADOW_POLICIES), 1, replication_factor, compacted=True)
    )
    specs.append(TopicSpec(topic_name(prefix, SNOOZES), 1, replication_factor, compacted=True))
    specs.append(TopicSpec(topic_name(prefix, POLICIES), 1, replication_factor, compacted=True))
    return specs
