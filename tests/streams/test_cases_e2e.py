"""Cases end to end on the embedded broker and the real store, with the API beside them.

Warnings go onto ``credit.warnings`` as the worker writes them; the case desk reads
them with its own consumer group, stores cases, sends ``case_overdue`` warnings back
onto the topic and applies the grid's reports from ``credit.dispositions``; people act
through the HTTP API on the same store. Event time only: nothing waits for a deadline.
"""

from __future__ import annotations

import asyncio
import threading
import time
import warnings
from collections.abc import Callable, Iterator

import orjson
import pytest
from kafka import KafkaProducer
from starlette.exceptions import StarletteDeprecationWarning

from creditbrain.alerts.cases import CaseConfig, Route, case_id_of
from creditbrain.alerts.cases.case import example_warning
from creditbrain.alerts.policy import DEFAULT_POLICIES
from creditbrain.api import create_app
from creditbrain.core.workdays import cst, default_calendar
from creditbrain.infra.broker import EmbeddedBroker, ensure_topics
from creditbrain.infra.cases import CaseRepository
from creditbrain.infra.store import Store
from creditbrain.schemas.contract import topic_name, topic_specs
from creditbrain.streams.cases import CaseDesk, CaseDeskRunner
from tests.api.conftest import FakePublisher, audit_rows, key_header, settings_for_tests
from tests.fixtures.broker import read_topic

with warnings.catch_warnings():
    # starlette 1.10 prefers httpx2 for its test client; httpx is what the project pins.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

pytestmark = pytest.mark.integration

TEAM = "donggang-construction"
CONFIG = CaseConfig(routes=(Route(sector="construction", district="371102", team=TEAM),))
S1, S2, S3 = "91371100MA3C0011X1", "91371100MA3C0012X1", "91371100MA3C0013X1"


class RunningDesk:
    """A case desk consuming in a thread of its own until closed."""

    def __init__(self, desk: CaseDesk, runner: CaseDeskRunner) -> None:
        self.desk, self.runner = desk, runner
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(runner.run(),), daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.runner.stop)
        self.thread.join(timeout=30)
        self.loop.close()


@pytest.fixture
def desk(
    embedded_broker: EmbeddedBroker, store: Store, fresh_topic: Callable[[str], str]
) -> Iterator[RunningDesk]:
    prefix = fresh_topic("cases")
    ensure_topics(embedded_broker.bootstrap, topic_specs(prefix, 1))
    desk = CaseDesk(CaseRepository(store), CONFIG, default_calendar(), lambda: DEFAULT_POLICIES)
    running = RunningDesk(
        desk, CaseDeskRunner(desk, embedded_broker.bootstrap, prefix, f"{prefix}-desk")
    )
    running.prefix = prefix  # type: ignore[attr-defined]
    yield running
    running.close()


def send(bootstrap: str, topic: str, *bodies: bytes) -> None:
    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for body in bodies:
        producer.send(topic, body)
    producer.flush()
    producer.close()


def wait_for(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {timeout} s for {what}")
        time.sleep(0.1)


def test_red_warning_case_states_overdue_once_and_a_grid_report_twice(
    embedded_broker: EmbeddedBroker, store: Store, desk: RunningDesk
) -> None:
    bootstrap, prefix = embedded_broker.bootstrap, desk.prefix  # type: ignore[attr-defined]
    warnings_topic = topic_name(prefix, "warnings")
    repo = CaseRepository(store)
    # Friday 3 April 2026, 16:00: Qingming follows (Saturday to Monday).
    friday = "2026-04-03T16:00:00+08:00"
    first = example_warning("w1", friday, subject_id=S1, rule="grade_fell_to_D")
    second = example_warning("w2", friday, subject_id=S2, rule="dishonest_debtor_listed")
    send(bootstrap, warnings_topic, first.to_bytes(), second.to_bytes())
    case1, case2 = case_id_of(S1, TEAM), case_id_of(S2, TEAM)
    wait_for(lambda: repo.get(case1) is not None and repo.get(case2) is not None, "two cases")
    opened = repo.get(case2)
    assert opened is not None and (opened.team, opened.level, opened.state) == (TEAM, "red", "new")
    assert cst(opened.dispose_due) == "2026-04-09T17:30:00+08:00"

    # Case 1 goes through the API: acknowledged, then disposed, each audited.
    app = create_app(settings_for_tests(), lambda: store, FakePublisher())
    with TestClient(app) as client:
        dispose = {"action": "dispose", "disposition": "confirmed_risk", "note": "已约谈"}
        for body in ({"action": "acknowledge"}, dispose):
            answer = client.post(
                f"/cases/{case1}/transitions", json=body, headers=key_header("k-regulator")
            )
            assert answer.status_code == 200, answer.text
        events = [
            t["event"]
            for t in client.get(f"/cases/{case1}", headers=key_header("k-admin")).json()[
                "transitions"
            ]
        ]
    assert events == ["opened", "acknowledged", "disposed"]
    assert len(audit_rows(store, "case_acknowledge")) == len(audit_rows(store, "case_dispose")) == 1

    # Event time moves past case 2's deadlines: a warning of Friday 10 April, then Monday 13.
    later = example_warning("w3", "2026-04-10T10:00:00+08:00", subject_id=S3, level="orange")
    send(bootstrap, warnings_topic, later.to_bytes())
    case3 = case_id_of(S3, TEAM)
    wait_for(lambda: (c := repo.get(case2)) is not None and bool(c.overdue_alert_id), "overdue")
    resolved = example_warning("w3", "2026-04-13T10:00:00+08:00", subject_id=S3, level="orange",
                               status="resolved", version=2)  # fmt: skip
    send(bootstrap, warnings_topic, resolved.to_bytes())
    wait_for(lambda: (c := repo.get(case3)) is not None and c.alerts[0].status == "resolved", "w3")

    # The grid reports on case 3, and the report is delivered twice.
    report = orjson.dumps({
        "specversion": "1.0", "id": "grid-2026-0413-001", "type": "cn.creditbrain.case.disposition",
        "source": "grid/371102", "subject": case3, "time": "2026-04-13T11:00:00+08:00",
        "datacontenttype": "application/json",
        "data": {"case_id": case3, "disposition": "referred_to_grid", "by": "grid-371102-017",
                 "at": "2026-04-13T10:40:00+08:00", "attachments": ["doc:RZ-2026-0413"]},
    })  # fmt: skip
    send(bootstrap, topic_name(prefix, "dispositions"), report, report)
    wait_for(lambda: desk.desk.counters.dispositions_repeated == 1, "the second delivery")

    overdue = [
        orjson.loads(r.value)
        for r in read_topic(bootstrap, warnings_topic)
        if orjson.loads(r.value)["data"]["rule"] == "case_overdue"
    ]
    by_case = [w["data"]["case"]["case_id"] for w in overdue]
    assert by_case.count(case2) == 1 and case1 not in by_case
    notice = next(w for w in overdue if w["data"]["case"]["case_id"] == case2)
    # Both deadlines had passed when event time reached 10 April: the notice names the
    # first, and its time is the breach's, not the moment it was noticed.
    assert notice["data"]["case"]["deadline"] == "acknowledge"
    assert notice["data"]["case"]["due_at"] == "2026-04-07T11:00:00+08:00"
    assert notice["time"] == "2026-04-07T11:00:00.001+08:00"
    assert notice["data"]["level"] == "orange" and notice["subject"] == S2

    closed = repo.get(case3)
    assert closed is not None and (closed.state, closed.disposition) == (
        "disposed",
        "referred_to_grid",
    )
    assert [t["event"] for t in repo.transitions(case3)].count("disposed") == 1
    assert desk.desk.counters.dispositions_applied == 1
    assert len(audit_rows(store, "case_disposition")) == 1
