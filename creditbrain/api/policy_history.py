"""The versions of each scope's policy, as the audit keeps them.

Every change is audited (action ``policy_change``, the scope as ``subject_id``, the
:class:`~creditbrain.alerts.policy_changes.PolicyChange` as ``details``) *before*
it is published; a change the broker then refused gets a second row,
``policy_change_failed``, naming its version. So the scope's history is its
``policy_change`` rows without a failed twin, and the next version is one more than
any version ever audited for the scope (a failed version is never handed out again,
so a version names one change for good).

Versions are counted per scope: ``sector=food_drug`` at version 4 has been changed
four times. The API serialises the changes of one scope (one lock per scope in the
process that writes policies), so reading the latest version and auditing the next
one cannot interleave with another change of that scope.
"""

# Queries join constant fragments; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import orjson

from creditbrain.alerts.policy import PolicyOverride, PolicySet
from creditbrain.alerts.policy_changes import PolicyChange
from creditbrain.infra.store import Store

log = logging.getLogger(__name__)

#: The ``policy_change`` rows whose version a ``policy_change_failed`` row names.
_PUBLISHED = (
    "action = 'policy_change' AND (subject_id, JSONExtractUInt(details, 'version')) NOT IN "
    "(SELECT subject_id, JSONExtractUInt(details, 'version') FROM audit "
    "WHERE action = 'policy_change_failed')"
)
_VERSION = "JSONExtractUInt(details, 'version')"


def latest(store: Store, scope: str) -> PolicyChange | None:
    """The change in force for ``scope`` (its highest published version), if any."""
    rows = store.query_rows(
        f"SELECT details FROM audit WHERE {_PUBLISHED} AND subject_id = {{scope:String}} "
        f"ORDER BY {_VERSION} DESC, ts DESC LIMIT 1",
        {"scope": scope},
    )
    return _changes(rows)[0] if rows else None


def next_version(store: Store, scope: str) -> int:
    """The version the next change of ``scope`` gets: one above any audited, failed or not."""
    rows = store.query_rows(
        f"SELECT max({_VERSION}) AS top FROM audit "
        "WHERE action = 'policy_change' AND subject_id = {scope:String}",
        {"scope": scope},
    )
    return int(str(rows[0]["top"] or 0)) + 1 if rows else 1


def version(store: Store, scope: str, number: int) -> PolicyChange | None:
    """Version ``number`` of ``scope``, if it was published."""
    rows = store.query_rows(
        f"SELECT details FROM audit WHERE {_PUBLISHED} AND subject_id = {{scope:String}} "
        f"AND {_VERSION} = {{number:UInt64}} LIMIT 1",
        {"scope": scope, "number": number},
    )
    return _changes(rows)[0] if rows else None


def history(
    store: Store, scope: str | None, after: Sequence[int | str] | None, limit: int
) -> list[tuple[int, PolicyChange]]:
    """Published changes, newest first, with the millisecond each was audited at.

    ``scope`` keeps one scope's; ``after`` is the ``(ms, scope, version)`` a previous
    page ended on.
    """
    where = [_PUBLISHED]
    parameters: dict[str, object] = {"limit": limit}
    if scope is not None:
        where.append("subject_id = {scope:String}")
        parameters["scope"] = scope
    if after is not None:
        where.append(
            f"(toUnixTimestamp64Milli(ts), subject_id, {_VERSION}) < "
            "({ms:Int64}, {last_scope:String}, {last_version:UInt64})"
        )
        parameters |= {"ms": after[0], "last_scope": after[1], "last_version": after[2]}
    rows = store.query_rows(
        f"SELECT toUnixTimestamp64Milli(ts) AS ms, details FROM audit WHERE {' AND '.join(where)} "
        f"ORDER BY ms DESC, subject_id DESC, {_VERSION} DESC LIMIT {{limit:UInt32}}",
        parameters,
    )
    return [(int(str(row["ms"])), change) for row, change in zip(rows, _changes(rows), strict=True)]


def policies_in_audit(store: Store) -> PolicySet:
    """The set the audited changes make: each scope's highest published version.

    What ``credit.policies`` holds as far as the audit knows it; the API reads the
    topic itself where it has a broker.
    """
    rows = store.query_rows(
        "SELECT subject_id AS scope, "
        f"argMax(details, tuple({_VERSION}, ts)) AS latest FROM audit WHERE {_PUBLISHED} "
        "GROUP BY scope"
    )
    overrides: dict[str, PolicyOverride] = {}
    for row in rows:
        try:
            after = orjson.loads(str(row["latest"])).get("after")
            if after is not None:
                overrides[str(row["scope"])] = PolicyOverride.model_validate(after)
        except (ValueError, AttributeError):  # ValidationError is a ValueError
            # A row no change of this API wrote: the rest of the set is still right.
            log.warning("audited policy of %r unreadable; left out", row["scope"])
    return PolicySet(overrides=overrides)


def _changes(rows: Sequence[Mapping[str, object]]) -> list[PolicyChange]:
    return [PolicyChange.model_validate(orjson.loads(str(row["details"]))) for row in rows]
