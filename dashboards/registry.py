"""The registry counts the coverage targets divide by (登记主体数).

Coverage of enterprises, non-enterprise legal persons and persons is "subjects
with a current evaluation ÷ registered subjects of that type"; the store sees
only subjects that have records, so the denominator comes from the registers
and the deployment sets it (``creditbrain dashboards registry``), into
``subject_registry``, where the latest count per type wins.

Examples
--------
>>> from creditbrain.simulator import CityConfig
>>> registry_of_city(CityConfig.scaled(0.01))["enterprise"]
200
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from creditbrain.infra.store import Store
from creditbrain.schemas.events import SubjectType
from creditbrain.simulator import CityConfig

#: Subject type -> the simulated city's population field that is its register.
_CITY_FIELDS = {
    SubjectType.ENTERPRISE: "enterprises",
    SubjectType.NON_ENTERPRISE: "non_enterprises",
    SubjectType.INDIVIDUAL_BUSINESS: "individual_businesses",
    SubjectType.GOVERNMENT: "government_bodies",
    SubjectType.PERSON: "persons",
}


def set_registry(store: Store, counts: Mapping[str, int], source: str) -> None:
    """Record the registered subjects per type (types as on the wire)."""
    unknown = set(counts) - {t.value for t in SubjectType}
    if unknown:
        raise ValueError(f"unknown subject types {sorted(unknown)}")
    now = datetime.now(UTC)
    rows = [
        {"subject_type": kind, "registered": int(count), "as_of": now, "source": source}
        for kind, count in counts.items()
    ]
    store.insert_rows("subject_registry", rows, ("subject_type", "registered", "as_of", "source"))


def registry_of_city(config: CityConfig) -> dict[str, int]:
    """A simulated city's registers: its whole population per type, with records or not."""
    return {kind.value: int(getattr(config, field)) for kind, field in _CITY_FIELDS.items()}
