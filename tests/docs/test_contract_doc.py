"""The published contract (docs/contract.md) names what the code accepts and sends."""

from __future__ import annotations

from pathlib import Path

from creditbrain.schemas.contract import KIND_TO_TOPIC
from creditbrain.schemas.parse import Reason
from creditbrain.schemas.reference import DISTRICTS, SECTORS

DOC = (Path(__file__).parents[2] / "docs" / "contract.md").read_text(encoding="utf-8")


def test_every_kind_topic_reason_sector_and_district_is_in_the_contract() -> None:
    missing = [
        name
        for name in (*KIND_TO_TOPIC, *KIND_TO_TOPIC.values(), *(r.value for r in Reason))
        if f"`{name}`" not in DOC and f"`credit.{name}`" not in DOC
    ]
    missing += [key for key in (*DISTRICTS, *SECTORS) if f"| `{key}` |" not in DOC]
    assert missing == []


def test_the_readme_links_the_contract_inside_the_repository() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    assert "docs/contract.md" in readme
    assert "../shared" not in readme
