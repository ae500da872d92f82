"""The published contract (docs/contract.md) names what the code accepts and sends."""

from __future__ import annotations

import re
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from creditbrain.alerts.policy import PolicyOverride, RuleOverride
from creditbrain.schemas.contract import KIND_TO_TOPIC
from creditbrain.schemas.events import CreditEvent, Subject
from creditbrain.schemas.outputs import MetricDay, ScoreChange, ScoreReason
from creditbrain.schemas.parse import Reason
from creditbrain.schemas.reference import DISTRICTS, SECTORS
from creditbrain.schemas.warnings import (
    MetricInfo,
    WarningData,
    WarningEvent,
    WarningReason,
    WarningSubject,
)

ROOT = Path(__file__).parents[2]
DOC = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")


def event_models() -> list[type[BaseModel]]:
    """Every input event's model and its payload's (the members of the tagged union)."""
    union = typing.get_args(typing.get_args(CreditEvent)[0])
    events = [member for member in union if isinstance(member, type)]
    assert len(events) == len(KIND_TO_TOPIC)
    payloads = [event.model_fields["payload"].annotation for event in events]
    return [*events, *(p for p in payloads if isinstance(p, type) and issubclass(p, BaseModel))]


PUBLISHED_MODELS: list[type[BaseModel]] = [
    *event_models(),
    Subject,
    WarningEvent,
    WarningData,
    WarningSubject,
    WarningReason,
    MetricInfo,
    ScoreChange,
    ScoreReason,
    MetricDay,
    PolicyOverride,
    RuleOverride,
]


def test_every_kind_topic_reason_sector_and_district_is_in_the_contract() -> None:
    missing = [
        name
        for name in (*KIND_TO_TOPIC, *KIND_TO_TOPIC.values(), *(r.value for r in Reason))
        if f"`{name}`" not in DOC and f"`credit.{name}`" not in DOC
    ]
    missing += [key for key in (*DISTRICTS, *SECTORS) if f"| `{key}` |" not in DOC]
    assert missing == []


@pytest.mark.parametrize("model", PUBLISHED_MODELS, ids=lambda m: m.__name__)
def test_every_field_of_the_published_models_is_named_in_the_contract(
    model: type[BaseModel],
) -> None:
    """Named in the text, in backticks, not only shown in an example."""
    prose = re.sub(r"```.*?```", "", DOC, flags=re.S)
    missing = [
        field
        for field in model.model_fields
        if not re.search(rf"`(?:[\w.]+\.)?{re.escape(field)}`", prose)
    ]
    assert missing == []


def test_the_contract_links_every_published_schema() -> None:
    published = sorted(p.name for p in (ROOT / "docs" / "schemas").iterdir())
    assert published
    for name in published:
        assert f"](schemas/{name})" in DOC, name


def test_the_readme_links_the_contract_inside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/contract.md" in readme
    assert "docs/schemas/asyncapi.json" in readme
    assert "../shared" not in readme
    for target in re.findall(r"\]\(([^)#]+)", readme):
        if "://" not in target:
            assert (ROOT / target).exists(), target
