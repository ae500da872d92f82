"""City-level warnings: a sector × district × kind series behaves anomalously (systemic risk).

``metric_anomaly`` is not about a subject, so it has no transition and no state:
the series detector (:mod:`creditbrain.models.series`) scores each day's count, and
:func:`metric_alert` turns a score at or above the policy's threshold into one
warning for that series and day. Its alert id is uuid5 over the series and the day,
so re-running a day gives the same warning (collapsed by alert id downstream).

A warning stands for an incident, not a day: :func:`judge_metric` keeps it open
(:class:`MetricIncident`, held by the series watch) while the days keep scoring
anomalous, sends nothing more for them, and resolves it, under the same alert id
(version 2, so another CloudEvents ``id``), once
``calm_days`` days in a row (:data:`CALM_DAYS` by default) have scored below the
threshold. Without that, open
city-level warnings would only ever grow. It is never escalated: the level is the
policy's, whatever the score.

Its ``data.subject`` is the series (``type`` ``"series"``, ``id``
``<sector>|<district>|<kind>``, :attr:`SeriesKey.subject_id`, also the CloudEvents
``subject``);
``score``, ``grade`` and ``previous_grade`` are ``null``; ``data.metric`` holds the
kind, day, value and anomaly score.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple
from uuid import uuid5

import orjson

from creditbrain.alerts.lifecycle import ALERT_NAMESPACE, AlertUpdate, Change
from creditbrain.alerts.policy import PolicySet, RulePolicy
from creditbrain.alerts.routing import DataDoc, warning_doc
from creditbrain.alerts.rules.metric_anomaly import anomalous
from creditbrain.core.eventtime import CST, DAY_MS, to_epoch_ms
from creditbrain.schemas.reference import DEFAULT_REFERENCE, Reference
from creditbrain.schemas.warnings import SERIES, Level, format_time

#: Calm days in a row that end an incident: one quiet day inside a surge (a weekend,
#: a holiday) must not end it, and a week is too long for a warning already over.
CALM_DAYS = 3


class SeriesKey(NamedTuple):
    """A city-level series: events of ``kind`` in ``sector`` and ``district``."""

    sector: str
    district: str
    kind: str

    @property
    def key(self) -> str:
        """``sector=food_drug|district=371102|kind=penalty``: names the series inside the system.

        Alert ids are derived from it, so it stays as it is.
        """
        return f"sector={self.sector}|district={self.district}|kind={self.kind}"

    @property
    def subject_id(self) -> str:
        """The series as a warning's subject (CONTRACT.md §2).

        >>> SeriesKey("food_drug", "371102", "penalty").subject_id
        'food_drug|371102|penalty'
        """
        return f"{self.sector}|{self.district}|{self.kind}"


@dataclass
class MetricIncident:
    """The open warning of one series, as much of it as resolving it needs.

    ``opened`` is the day the incident began (its id is derived from it), ``calm``
    the number of days in a row that have scored below the threshold since the
    last anomalous one.
    """

    alert_id: str
    opened: date
    level: Level
    grid: bool
    version: int = 1
    calm: int = 0


def metric_alert(
    series: SeriesKey,
    day: date,
    value: float,
    anomaly_score: float,
    policies: PolicySet,
    *,
    at_ms: int | None = None,
    reference: Reference = DEFAULT_REFERENCE,
) -> AlertUpdate | None:
    """The warning opened for ``series`` on ``day`` (China Standard Time), or ``None``.

    ``None`` when the rule is disabled for the series' sector and district or the
    score is below the threshold. ``at_ms`` is the event time of the warning
    (default: the end of the day, when its count is complete).

    Examples
    --------
    >>> from creditbrain.alerts.policy import DEFAULT_POLICIES
    >>> series = SeriesKey("food_drug", "371102", "penalty")
    >>> update = metric_alert(series, date(2026, 3, 4), 41, 0.99, DEFAULT_POLICIES)
    >>> update.warning.data.subject.name, update.warning.time.isoformat()
    ('食品药品 · 东港区 Donggang · penalty', '2026-03-05T00:00:00+08:00')
    >>> update.alert_id == metric_alert(series, date(2026, 3, 4), 41, 0.99,
    ...                                 DEFAULT_POLICIES).alert_id
    True
    >>> metric_alert(series, date(2026, 3, 4), 41, 0.5, DEFAULT_POLICIES) is None
    True
    """
    policy = policies.resolve("metric_anomaly", series.sector, series.district)
    if not policy.enabled or not anomalous(anomaly_score, policy):
        return None
    alert_id = str(uuid5(ALERT_NAMESPACE, f"metric_anomaly\x1f{series.key}\x1f{day}"))
    incident = MetricIncident(alert_id, day, policy.level, policy.grid)
    return _update(series, incident, "opened", day, value, anomaly_score, policy, at_ms, reference)


def judge_metric(
    series: SeriesKey,
    day: date,
    value: float,
    anomaly_score: float,
    incident: MetricIncident | None,
    policies: PolicySet,
    *,
    calm_days: int = CALM_DAYS,
    at_ms: int | None = None,
    reference: Reference = DEFAULT_REFERENCE,
) -> tuple[MetricIncident | None, AlertUpdate | None]:
    """The series' open incident after ``day`` is scored, and the warning change it makes.

    No incident open: an anomalous day opens one (:func:`metric_alert`). One open:
    an anomalous day only resets its calm count; a calm day adds to it, and the
    ``calm_days``-th calm day in a row resolves the warning (also when the rule was
    disabled meanwhile: disabling it does not make the series normal again).

    Examples
    --------
    >>> from creditbrain.alerts.policy import DEFAULT_POLICIES
    >>> series = SeriesKey("food_drug", "371102", "penalty")
    >>> incident, update = judge_metric(series, date(2026, 3, 4), 41, 0.99, None,
    ...                                 DEFAULT_POLICIES)
    >>> update.change, incident.opened.isoformat()
    ('opened', '2026-03-04')
    >>> changes = []
    >>> for n, score in enumerate([0.97, 0.2, 0.3, 0.1]):
    ...     incident, update = judge_metric(series, date(2026, 3, 5 + n), 9, score, incident,
    ...                                     DEFAULT_POLICIES)
    ...     changes.append(update and (update.change, update.version))
    >>> changes, incident
    ([None, None, None, ('resolved', 2)], None)
    >>> update.warning.data.first_event_at.isoformat(), update.warning.data.metric.day
    ('2026-03-04T00:00:00+08:00', '2026-03-08')
    """
    policy = policies.resolve("metric_anomaly", series.sector, series.district)
    if incident is None:
        update = metric_alert(
            series, day, value, anomaly_score, policies, at_ms=at_ms, reference=reference
        )
        if update is None:
            return None, None
        opened = MetricIncident(update.alert_id, day, policy.level, policy.grid)
        return opened, update
    if anomalous(anomaly_score, policy):
        incident.calm = 0
        return incident, None
    incident.calm += 1
    if incident.calm < calm_days:
        return incident, None
    incident.version += 1
    incident.grid = incident.grid or policy.grid
    resolved = _update(
        series, incident, "resolved", day, value, anomaly_score, policy, at_ms, reference
    )
    return None, resolved


def _update(
    series: SeriesKey,
    incident: MetricIncident,
    change: Change,
    day: date,
    value: float,
    anomaly_score: float,
    policy: RulePolicy,
    at_ms: int | None,
    reference: Reference,
) -> AlertUpdate:
    def day_start(d: date) -> int:
        return to_epoch_ms(datetime(d.year, d.month, d.day, tzinfo=CST))

    sector = reference.sectors.get(series.sector, series.sector)
    district = reference.districts.get(series.district, series.district)
    data: DataDoc = {
        "alert_id": incident.alert_id,
        "version": incident.version,
        "level": incident.level,
        "rule": "metric_anomaly",
        "subject": {
            "type": SERIES,
            "id": series.subject_id,
            "name": f"{sector} · {district} · {series.kind}",
        },
        "sector": series.sector,
        "district": series.district,
        "score": None,
        "grade": None,
        "previous_grade": None,
        "reasons": [],
        "first_event_at": format_time(day_start(incident.opened)),
        "status": "resolved" if change == "resolved" else "open",
        "metric": {
            "kind": series.kind,
            "day": day.isoformat(),
            "value": float(value),
            "anomaly_score": float(anomaly_score),
        },
    }
    doc = warning_doc(data, day_start(day) + DAY_MS if at_ms is None else at_ms)
    body = orjson.dumps(doc)
    # A series names no person: the grid gets the same body.
    grid_body = body if incident.grid else None
    return AlertUpdate(change, True, incident.grid, incident.version, doc, body, grid_body)
