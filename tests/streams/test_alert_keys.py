"""Alerts stay keyed by their alert id downstream, although a warning's CloudEvents
``id`` names one change of it (``<alert id>:<version>``)."""

from __future__ import annotations

from creditbrain.streams.messages import ALERTS_LOG, alert_messages
from creditbrain.streams.rows import alert_rows
from creditbrain.streams.sent import ALERT_ID, ALERT_VERSION, change_of
from tests.alerts.driver import Driver
from tests.strategies import DAY, make_event


def test_the_store_and_the_headers_key_alerts_by_alert_id_and_each_change_by_version() -> None:
    d = Driver()
    d.apply(make_event("wage_arrears", {"amount_cny": 1, "workers_affected": 3}, at=DAY))
    d.apply(make_event("wage_arrears", {"amount_cny": 1, "workers_affected": 30}, at=2 * DAY))
    d.apply(make_event("arrears_cleared", {"ref_kind": "wage_arrears"}, at=3 * DAY))
    wage = [u for u in d.log if u.rule == "wage_arrears"]
    assert [u.change for u in wage] == ["opened", "escalated", "resolved"]
    (alert,) = {u.alert_id for u in wage}
    assert ":" not in alert
    for update in wage:
        messages = alert_messages(update)
        [log] = [m for m in messages if m.topic == ALERTS_LOG]
        tables = alert_rows(log.value)
        assert tables["alerts"][0][0] == alert  # ReplacingMergeTree key: one row per alert
        assert tables["alerts"][0][-1] == update.version
        assert tables["alert_events"][0][0] == alert
        for notice in (m for m in messages if m.topic != ALERTS_LOG):
            assert change_of(notice.headers) == (alert.encode(), str(update.version).encode())
            names = [name for name, _ in notice.headers]
            assert {ALERT_ID, ALERT_VERSION, "content-type"} <= set(names)
    assert [u.doc["id"] for u in wage] == [f"{alert}:{u.version}" for u in wage]
