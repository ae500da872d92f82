"""City-level warnings: a sector × district × kind series behaves anomalously (systemic risk).

``metric_anomaly`` is not about a subject, so it has no transition and no state:
the series detector (:mod:`creditbrain.models.series`) scores each day's count, and
:func:`metric_alert` turns a score at or above the policy's threshold into one
warning for that series and day. Its id is uuid5 over the series and the day, so
re-running a day gives the same warning (collapsed by id downstream) and a day is
warned about once. Such a warning is a point-in-time fact: it is opened, never
escalated nor resolved.

Its ``data.subject`` is the series (``type`` ``"series"``, ``id`` the series key);
``score``, ``grade`` and ``previous_grade`` are ``null``; ``data.metric`` holds the
kind, day, value and anomaly score.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple
from uuid import uuid5

import orjson

from creditbrain.alerts.lifecycle import ALERT_NAMESPACE, AlertUpdate
from creditbrain.alerts.policy import PolicySet
from creditbrain.alerts.routing import DataDoc, warning_doc
from creditbrain.alerts.rules.metric_anomaly import anomalous
from creditbrain.core.eventtime import CST, DAY_MS, to_epoch_ms
from creditbrain.schemas.reference import DEFAULT_REFERENCE, Reference
from creditbrain.schemas.warnings import SERIES, format_time


class SeriesKey(NamedTuple):
    """A city-level series: events of ``kind`` in ``sector`` and ``district``."""

    sector: str
    district: str
    kind: str

    @property
    def key(self) -> str:
        """``sector=food_drug|district=371102|kind=penalty``."""
        return f"sector={self.sector}|district={self.district}|kind={self.kind}"


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
    """The warning for ``series`` on ``day`` (China Standard Time), or ``None``.

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
    start = to_epoch_ms(datetime(day.year, day.month, day.day, tzinfo=CST))
    end = start + DAY_MS
    sector = reference.sectors.get(series.sector, series.sector)
    district = reference.districts.get(series.district, series.district)
    data: DataDoc = {
        "alert_id": str(uuid5(ALERT_NAMESPACE, f"metric_anomaly\x1f{series.key}\x1f{day}")),
        "level": policy.level,
        "rule": "metric_anomaly",
        "subject": {
            "type": SERIES,
            "id": series.key,
            "name": f"{sector} · {district} · {series.kind}",
        },
        "sector": series.sector,
        "district": series.district,
        "score": None,
        "grade": None,
        "previous_grade": None,
        "reasons": [],
        "first_event_at": format_time(start),
        "status": "open",
        "metric": {
            "kind": series.kind,
            "day": day.isoformat(),
            "value": float(value),
            "anomaly_score": float(anomaly_score),
        },
    }
    doc = warning_doc(data, end if at_ms is None else at_ms)
    body = orjson.dumps(doc)
    return AlertUpdate("opened", True, policy.grid, 1, doc, body, body if policy.grid else None)
