"""The record classes a scorecard weighs: a record's kind, refined where that changes its score.

Kept apart from :mod:`.scorecard` so that the scorecard and its per-sector
overrides (:mod:`.overrides`) can both name them.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["RECORD_CLASSES", "CommendationLevel", "RecordClass"]

RecordClass = Literal[
    "penalty.simple",
    "penalty.general",
    "penalty.serious",
    "judgment.defendant",
    "judgment.plaintiff",
    "judgment.judgment_debtor",
    "dishonest_debtor",
    "consumption_restriction",
    "tax_arrears",
    "social_insurance_arrears",
    "wage_arrears",
    "list_entry.serious_dishonesty",
    "list_entry.key_attention",
    "list_entry.red",
    "commitment_breach",
    "commendation.city",
    "commendation.province",
    "commendation.national",
    "license",
    "commitment",
]
CommendationLevel = Literal["city", "province", "national"]

#: Every record class, in the order above.
RECORD_CLASSES: tuple[str, ...] = get_args(RecordClass)
