"""Who may read what through the dashboards: a read-only role over views, scoped by row policies.

The dashboards read only the ``dash_*`` views (migration ``0013_dashboard_views``):
no secret, no person's name in clear, no raw dead-letter bytes, of the audit log
only policy changes and when credit checks happened. This module renders the
access control a ClickHouse server needs around them (``creditbrain db render
--access``); chDB has no access control, so it is applied by an administrator:

- ``creditbrain_dashboard_reader``: ``SELECT`` on the views, nothing else (not
  the tables, not ``webhook_subscriptions``, not ``audit``);
- ``creditbrain_city``: the reader plus a row policy ``USING 1`` on every scoped
  view: the city's leadership sees every sector and district;
- ``creditbrain_scope_<name>``: the reader plus a row policy on every scoped view
  that keeps the scope's sectors and districts (a :class:`Scope`).

ClickHouse combines permissive row policies with OR, and once a view has any row
policy a user covered by none of them reads no rows: so a supervisor's Grafana user
is granted exactly one scope role, never ``creditbrain_city`` as well.

Examples
--------
>>> Scope("food_donggang", sectors=("food_drug",), districts=("371102",)).condition()
"sector IN ('food_drug') AND district IN ('371102')"
>>> Scope("lanshan", districts=("371103",)).role
'creditbrain_scope_lanshan'
"""

from __future__ import annotations

import importlib.resources
import re
from collections.abc import Sequence
from dataclasses import dataclass

from creditbrain.schemas.reference import DISTRICTS, SECTORS

READER = "creditbrain_dashboard_reader"
CITY = "creditbrain_city"
#: The migrations that create the views the dashboards read.
_VIEWS_MIGRATIONS = ("0013_dashboard_views.sql", "0015_shadow.sql")
#: The views whose rows carry a sector and a district: the ones row policies scope.
SCOPED_VIEWS = (
    "dash_events",
    "dash_entity_state",
    "dash_scores",
    "dash_alerts",
    "dash_alert_events",
    "dash_metric_counts",
    "dash_metric_anomalies",
    "dash_cases",
    "dash_shadow_alerts",
)
_NAME = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True)
class Scope:
    """A supervisor's scope: the sectors and districts one Grafana user may see (empty: all)."""

    name: str
    sectors: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"scope name {self.name!r}: 1-40 of a-z 0-9 _")
        unknown = (set(self.sectors) - set(SECTORS)) | (set(self.districts) - set(DISTRICTS))
        if unknown:
            raise ValueError(f"scope {self.name}: unknown sectors or districts {sorted(unknown)}")
        if not self.sectors and not self.districts:
            raise ValueError(f"scope {self.name} limits nothing: use the {CITY} role")

    @property
    def role(self) -> str:
        return f"creditbrain_scope_{self.name}"

    def condition(self) -> str:
        """The row policy's ``USING`` expression (keys are checked, so quoting is safe)."""
        parts = []
        for column, keys in (("sector", self.sectors), ("district", self.districts)):
            if keys:
                parts.append(f"{column} IN ({', '.join(repr(key) for key in keys)})")
        return " AND ".join(parts)

    @classmethod
    def parse(cls, text: str) -> Scope:
        """``name:sector,sector:district,district`` (either list may be empty).

        >>> Scope.parse("grid_east::371102,371171").districts
        ('371102', '371171')
        """
        name, _, rest = text.partition(":")
        sectors, _, districts = rest.partition(":")
        return cls(
            name,
            tuple(s for s in sectors.split(",") if s),
            tuple(d for d in districts.split(",") if d),
        )


def dashboard_views() -> list[str]:
    """The views the dashboards read, as the migration creates them."""
    migrations = importlib.resources.files("creditbrain.infra").joinpath("migrations")
    views = []
    for name in _VIEWS_MIGRATIONS:
        sql = migrations.joinpath(name).read_text(encoding="utf-8")
        views += re.findall(r"CREATE VIEW IF NOT EXISTS \{database\}\.(\w+)", sql)
    return views


def access_statements(
    database: str, cluster: str | None = None, scopes: Sequence[Scope] = ()
) -> list[str]:
    """The roles, grants and row policies, one statement each (no trailing ``;``)."""
    db = _quote(database)
    on = f" ON CLUSTER {_quote(cluster)}" if cluster else ""
    statements = [f"CREATE ROLE IF NOT EXISTS {READER}{on}"]
    statements += [f"GRANT{on} SELECT ON {db}.{_quote(v)} TO {READER}" for v in dashboard_views()]
    roles = [
        (CITY, "cb_city", "1"),
        *((s.role, f"cb_scope_{s.name}", s.condition()) for s in scopes),
    ]
    for role, policy, condition in roles:
        statements.append(f"CREATE ROLE IF NOT EXISTS {role}{on}")
        statements.append(f"GRANT{on} {READER} TO {role}")
        statements += [
            f"CREATE ROW POLICY IF NOT EXISTS {policy} ON {db}.{_quote(view)}{on} "
            f"FOR SELECT USING {condition} AS permissive TO {role}"
            for view in SCOPED_VIEWS
        ]
    return statements


def _quote(identifier: str) -> str:
    return "`" + identifier.replace("\\", "\\\\").replace("`", "\\`") + "`"
