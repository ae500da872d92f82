"""Joint reward and punishment measures (守信联合激励 / 失信联合惩戒) as data.

A credit check answers not only "what is the grade" but "what follows from it":
the measures that apply to the subject's grade (分级分类监管) and to every list it
is on. The catalogue below is the default; a deployment replaces it with a JSON
file of the same shape (``CREDITBRAIN_API__MEASURES_FILE``), e.g.::

    {"grades": {"A": [{"code": "fast_track_approval", "name": "信易批", ...}]},
     "lists": {"dishonest_debtor": [...]}}

>>> [m.code for m in DEFAULT_CATALOGUE.applicable("D", ["consumption_restriction"])]
['key_supervision', 'more_random_inspections', 'high_consumption_restricted']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from creditbrain.core.errors import ConfigurationError


class Measure(BaseModel):
    """One measure: what it is, whether it rewards or punishes, and its legal basis."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(min_length=1)
    name: str = Field(min_length=1, description="The measure's name on the platform (Chinese).")
    description: str
    kind: Literal["reward", "punishment", "supervision"]
    basis: str = ""


class MeasureCatalogue(BaseModel):
    """Measures by grade (``A``..``D``) and by list (``serious_dishonesty``, ...)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    grades: Mapping[str, tuple[Measure, ...]] = Field(default_factory=dict)
    lists: Mapping[str, tuple[Measure, ...]] = Field(default_factory=dict)

    def applicable(self, grade: str, lists: Iterable[str]) -> list[Measure]:
        """The measures of ``grade`` then of each list, each measure once."""
        found: dict[str, Measure] = {m.code: m for m in self.grades.get(grade, ())}
        for name in lists:
            for measure in self.lists.get(name, ()):
                found.setdefault(measure.code, measure)
        return list(found.values())

    @classmethod
    def load(cls, path: Path) -> MeasureCatalogue:
        """A catalogue from a JSON file; :class:`ConfigurationError` if it is unusable."""
        try:
            return cls.model_validate_json(path.read_bytes())
        except (OSError, ValidationError) as error:
            raise ConfigurationError(f"measure catalogue {path}: {error}") from None


_SC = "国办发〔2019〕35号 (credit-based supervision)"
_JOINT = "国办发〔2016〕33号 (joint reward and punishment)"
_COURT = "法释〔2015〕17号 (restrictions on judgment debtors' high consumption)"
_DEBTOR = "发改财金〔2016〕141号 (joint punishment of dishonest judgment debtors)"


def _m(code: str, name: str, description: str, kind: str, basis: str) -> Measure:
    return Measure.model_validate(
        {"code": code, "name": name, "description": description, "kind": kind, "basis": basis}
    )


_PUBLIC_FUNDS = _m(
    "public_funding_restricted",
    "限制财政资金支持",
    "Restricted from government subsidies and public funding.",
    "punishment",
    _JOINT,
)
_PROCUREMENT = _m(
    "procurement_excluded",
    "限制参与政府采购和招标投标",
    "Excluded from government procurement and public tenders.",
    "punishment",
    _JOINT,
)
_HIGH_CONSUMPTION = _m(
    "high_consumption_restricted",
    "限制高消费",
    "No air or first-class rail travel, luxury hotels, golf, real estate purchases.",
    "punishment",
    _COURT,
)

DEFAULT_CATALOGUE = MeasureCatalogue(
    grades={
        "A": (
            _m(
                "fast_track_approval",
                "信易批",
                "Fast-track administrative approval; "
                "commitments accepted in place of some documents.",
                "reward",
                _SC,
            ),
            _m(
                "credit_loans",
                "信易贷",
                "Eligible for unsecured credit loans from partner banks on the credit platform.",
                "reward",
                _SC,
            ),
            _m(
                "fewer_inspections",
                "减少抽查频次",
                "Lower frequency of random inspections (双随机、一公开).",
                "supervision",
                _SC,
            ),
        ),
        "D": (
            _m(
                "key_supervision",
                "重点监管",
                "Key supervision: listed as a focus of the competent department.",
                "supervision",
                _SC,
            ),
            _m(
                "more_random_inspections",
                "提高抽查比例",
                "Higher proportion and frequency of random inspections.",
                "supervision",
                _SC,
            ),
        ),
    },
    lists={
        "serious_dishonesty": (
            _PROCUREMENT,
            _PUBLIC_FUNDS,
            _m(
                "no_honours",
                "限制评优评先",
                "Excluded from honours and commendations.",
                "punishment",
                _JOINT,
            ),
            _m(
                "market_entry_restricted",
                "限制市场准入",
                "Restricted from entering the regulated sectors concerned.",
                "punishment",
                _JOINT,
            ),
        ),
        "dishonest_debtor": (
            _HIGH_CONSUMPTION,
            _PROCUREMENT,
            _m(
                "no_executive_posts",
                "限制担任法定代表人和高管",
                "May not serve as legal representative, director or senior manager.",
                "punishment",
                _DEBTOR,
            ),
            _m(
                "no_bond_issuance",
                "限制发行债券",
                "Restricted from issuing bonds.",
                "punishment",
                _DEBTOR,
            ),
        ),
        "consumption_restriction": (_HIGH_CONSUMPTION,),
        "key_attention": (
            _m(
                "focused_attention",
                "重点关注",
                "Closer attention in approvals and inspections.",
                "supervision",
                _SC,
            ),
        ),
        "red": (
            _m(
                "red_list_priority",
                "红名单优先便利",
                "Priority and convenience in public services (绿色通道).",
                "reward",
                _JOINT,
            ),
        ),
    },
)
