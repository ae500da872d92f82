"""One catalogue of every name the dashboards show, in Chinese (default) and English.

Dashboards are written in English as code; what a reader sees comes from here:
:func:`text` for titles, descriptions, labels and column headers, and
:func:`value_names` for the keys a query returns (sectors, districts, levels,
rules, kinds, statuses, subject types, dead-letter reasons, departments). Queries
keep returning keys, so data links carry the key and only the display changes:
Grafana gets the names as value mappings, the offline snapshot applies the same.

Sector and district names are the reference's (``schemas/reference.py``), so a
deployment that configures other sectors names them in one place.

Examples
--------
>>> text("Open warnings", "zh"), text("Open warnings", "en")
('在办预警', 'Open warnings')
>>> shown("sector", "food_drug", "zh"), shown("level", "red", "en"), shown("score", 3, "zh")
('食品药品', 'red', '3')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, get_args

from creditbrain.dashboards.text_zh import COLUMNS_ZH, TEXT_ZH, VALUES_ZH
from creditbrain.schemas.reference import DISTRICTS, SECTORS

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = get_args(Lang)
#: The time zone every time is shown in (warnings carry +08:00 as well).
TIME_ZONE = "Asia/Shanghai"

#: Result columns whose values are keys with a name, and the kind of key they hold.
KEYED_COLUMNS: Mapping[str, str] = {
    "sector": "sector",
    "district": "district",
    "level": "level",
    "rule": "rule",
    "status": "status",
    "subject_type": "subject_type",
    "kind": "kind",
    "reason": "reason",
    "source": "department",
    "department": "department",
    "type": "warning_type",
    "decision": "decision",
    "cause": "kind",
    "measure_type": "measure_type",
    "state": "case_state",
    "disposition": "disposition",
    "indicator": "text",
    "target": "text",
    "side": "shadow_side",
}


class UnnamedError(KeyError):
    """A dashboard text without its Chinese name in the catalogue."""


def text(english: str, lang: Lang) -> str:
    """A title, description, label or unit in ``lang``."""
    if lang == "en" or not english:
        return english
    try:
        return TEXT_ZH[english]
    except KeyError:
        raise UnnamedError(f"no Chinese text for {english!r} in dashboards/text_zh.py") from None


def column(name: str, lang: Lang) -> str:
    """The header of a result column.

    >>> column("open_warnings", "zh"), column("open_warnings", "en")
    ('在办预警', 'Open warnings')
    """
    if lang == "en":
        return name.replace("_", " ").capitalize().replace("Avg ", "Average ")
    try:
        return COLUMNS_ZH[name]
    except KeyError:
        raise UnnamedError(f"no Chinese header for column {name!r}") from None


def value_names(column_name: str, lang: Lang) -> Mapping[str, str]:
    """The names of the keys a column holds (empty when its values are shown as they are)."""
    kind = KEYED_COLUMNS.get(column_name)
    if kind is None:
        return {}
    if kind == "sector":
        return dict(SECTORS) if lang == "zh" else {k: k.replace("_", " ") for k in SECTORS}
    if kind == "district":
        return {code: _district_name(name, lang) for code, name in DISTRICTS.items()}
    if kind == "text":
        return TEXT_ZH if lang == "zh" else {}
    names = VALUES_ZH[kind]
    if lang == "zh":
        return names
    return {key: key.replace("_", " ") for key in names}


def shown(column_name: str, value: object, lang: Lang) -> str:
    """How a cell of ``column_name`` holding ``value`` is shown (names for keys)."""
    key = str(value)
    return value_names(column_name, lang).get(key, key)


def _district_name(name: str, lang: Lang) -> str:
    """The reference holds "东港区 Donggang": the Chinese or the English half."""
    chinese, _, english = name.partition(" ")
    return chinese if lang == "zh" else (english or chinese)
