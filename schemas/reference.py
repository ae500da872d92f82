"""Reference tables of the default city (Rizhao, 371100): districts and sectors.

These are the defaults of ``DOMAIN.md``; a deployment passes its own tables to
:class:`Reference` (the parser only consults the instance it is given).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

DISTRICTS: Mapping[str, str] = MappingProxyType(
    {
        "371102": "东港区 Donggang",
        "371103": "岚山区 Lanshan",
        "371121": "五莲县 Wulian",
        "371122": "莒县 Juxian",
        "371171": "日照经济技术开发区 Economic and Technological Development Zone",
    }
)

SECTORS: Mapping[str, str] = MappingProxyType(
    {
        "market_regulation": "市场监管",
        "work_safety": "安全生产",
        "finance": "金融",
        "taxation": "税务",
        "customs": "海关",
        "construction": "工程建设",
        "bidding": "招标投标",
        "transport": "交通运输",
        "ecommerce": "电子商务",
        "domestic_services": "家政服务",
        "food_drug": "食品药品",
        "culture_tourism": "文化旅游",
        "ecology_environment": "生态环保",
        "medical_insurance": "医保基金",
        "internet_finance": "互联网金融",
        "grain_energy": "粮食能源",
        "emergency_management": "应急管理",
        "health": "卫生健康",
        "human_resources": "人力资源社会保障",
        "civil_affairs": "民政",
        "housing": "住房保障",
        "government": "政务诚信",
    }
)

#: The plan's target number of sectors under credit supervision.
PLAN_SECTOR_TARGET = 42


@dataclass(frozen=True)
class Reference:
    """The tables an event is validated against."""

    districts: Mapping[str, str] = field(default_factory=lambda: DISTRICTS)
    sectors: Mapping[str, str] = field(default_factory=lambda: SECTORS)
    credit_code_allow_list: frozenset[str] = frozenset()


DEFAULT_REFERENCE = Reference()
