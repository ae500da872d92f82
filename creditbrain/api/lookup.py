"""The read behind a credit check: one statement, no ``FINAL``.

A check needs a subject's current state, its last score changes, its open alerts with
their acknowledgements and the lists its list entries name. Asked one table at a time
with ``FINAL`` that was five round trips, each merging every unmerged part of its
table. Here it is one statement whose parts each read a few granules by primary key
and keep the latest version of a row themselves (``argMax`` by the column that
ReplacingMergeTree would keep), which is what ``FINAL`` would return:

- ``entity_state`` (ORDER BY subject_id): the row of the highest ``version``;
- ``scores`` (ORDER BY subject_id, as_of, event_id): each change once (the latest
  ``recorded_at``), the newest ``history`` of them;
- ``alerts`` (ORDER BY subject_id, rule, alert_id): each alert at its highest
  ``version``, those not resolved; ``alert_acks`` (ORDER BY alert_id, acknowledged_by)
  the latest acknowledgement per alert and person;
- ``events`` (ORDER BY subject_id, ...): the list named by each ``list_entry`` event.

Every candidate id of the check is read at once (an 18-digit id may be a credit code or
a resident id), one row per subject found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from creditbrain.infra.store import Store

__all__ = ["HISTORY_FIELDS", "SubjectRows", "fetch_subjects"]

#: The fields of one score change in :attr:`SubjectRows.history`.
HISTORY_FIELDS = ("as_of", "score", "grade", "cause", "event_id")
_ALERT_FIELDS = (
    "alert_id", "subject_id", "subject_type", "subject_name", "sector", "district", "rule",
    "level", "status", "score", "grade", "previous_grade", "reasons", "first_event_at",
    "event_time",
)  # fmt: skip
_ACK_FIELDS = ("by", "role", "at", "note")
_STATE_FIELDS = (
    "subject_type", "subject_name", "sector", "district", "score", "grade", "reasons",
    "last_event_at",
)  # fmt: skip


def _latest(fields: Sequence[str], version: str) -> str:
    return ", ".join(f"argMax({name}, {version}) AS {name}" for name in fields)


def _tuple(fields: Sequence[str]) -> str:
    return "tuple(" + ", ".join(fields) + ")"


_ALERT_KEY = ("subject_id", "rule", "alert_id")  # alerts' ORDER BY
_ALERT_VALUES = [name for name in _ALERT_FIELDS if name not in _ALERT_KEY]
_NEWEST = f"x.{_ALERT_FIELDS.index('event_time') + 1}"

#: ``{ids:Array(String)}`` the candidate subject ids, ``{n:UInt32}`` the history length.
#: Only constant column names are formatted in; values are bound parameters.
CHECK_SQL = f"""
SELECT subject_id, {", ".join(_STATE_FIELDS)}, history, alerts, list_entries
FROM
(
    SELECT subject_id, {_latest(_STATE_FIELDS, "version")}
    FROM entity_state WHERE subject_id IN {{ids:Array(String)}} GROUP BY subject_id
) AS state
LEFT JOIN
(
    SELECT subject_id,
           arraySlice(arrayReverseSort(x -> x.1, groupArray({_tuple(HISTORY_FIELDS)})),
                      1, {{n:UInt32}}) AS history
    FROM
    (
        SELECT subject_id, as_of, event_id, {_latest(("score", "grade", "cause"), "recorded_at")}
        FROM scores WHERE subject_id IN {{ids:Array(String)}}
        GROUP BY subject_id, as_of, event_id
    )
    GROUP BY subject_id
) AS changes USING subject_id
LEFT JOIN
(
    SELECT subject_id,
           arrayReverseSort(x -> {_NEWEST},
                            groupArray(({", ".join(_ALERT_FIELDS)}, acks))) AS alerts
    FROM
    (
        SELECT {", ".join(_ALERT_KEY)}, {_latest(_ALERT_VALUES, "version")}
        FROM alerts WHERE subject_id IN {{ids:Array(String)}}
        GROUP BY {", ".join(_ALERT_KEY)} HAVING status != 'resolved'
    ) AS unresolved
    LEFT JOIN
    (
        SELECT alert_id, arraySort(x -> x.3, groupArray({_tuple(_ACK_FIELDS)})) AS acks
        FROM
        (
            SELECT alert_id, acknowledged_by AS by, argMax(role, acknowledged_at) AS role,
                   max(acknowledged_at) AS at, argMax(note, acknowledged_at) AS note
            FROM alert_acks
            WHERE alert_id IN
                (SELECT alert_id FROM alerts WHERE subject_id IN {{ids:Array(String)}})
            GROUP BY alert_id, acknowledged_by
        )
        GROUP BY alert_id
    ) AS acknowledged USING alert_id
    GROUP BY subject_id
) AS warnings USING subject_id
LEFT JOIN
(
    SELECT subject_id,
           groupArray((toString(event_id), JSONExtractString(payload, 'list'))) AS list_entries
    FROM events
    WHERE subject_id IN {{ids:Array(String)}} AND kind = 'list_entry'
    GROUP BY subject_id
) AS entries USING subject_id
SETTINGS join_use_nulls = 0
"""  # noqa: S608


@dataclass(frozen=True)
class SubjectRows:
    """What the store holds on one subject, as plain values.

    ``state`` has the ``entity_state`` columns of the check; ``history`` the newest
    score changes first (keys :data:`HISTORY_FIELDS`); ``alerts`` the open alerts,
    newest first, each with ``acknowledgements`` (by, role, at, note; oldest first);
    ``list_entries`` maps the id of each ``list_entry`` event to the list it names.
    """

    subject_id: str
    state: dict[str, Any]
    history: list[dict[str, Any]]
    alerts: list[dict[str, Any]]
    list_entries: dict[str, str]


def fetch_subjects(store: Store, ids: Sequence[str], history: int) -> list[SubjectRows]:
    """The subjects among ``ids`` that the store knows, in the order of ``ids``."""
    rows = store.query_rows(CHECK_SQL, {"ids": list(ids), "n": history})
    found = [_subject(row) for row in rows]
    found.sort(key=lambda subject: list(ids).index(subject.subject_id))
    return found


def _subject(row: dict[str, Any]) -> SubjectRows:
    alerts = []
    for values in row["alerts"] or ():
        alert = dict(zip(_ALERT_FIELDS, values[:-1], strict=True))
        acks = values[-1] or ()
        alert["acknowledgements"] = [dict(zip(_ACK_FIELDS, ack, strict=True)) for ack in acks]
        alerts.append(alert)
    return SubjectRows(
        subject_id=str(row["subject_id"]),
        state={"subject_id": row["subject_id"], **{name: row[name] for name in _STATE_FIELDS}},
        history=[dict(zip(HISTORY_FIELDS, point, strict=True)) for point in row["history"] or ()],
        alerts=alerts,
        list_entries={str(event_id): str(name) for event_id, name in row["list_entries"] or ()},
    )
