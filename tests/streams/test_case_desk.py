"""The case desk without a broker: messages in, cases stored, dead letters and notices out."""

from __future__ import annotations

import orjson

from creditbrain.alerts.cases import CaseConfig, case_id_of
from creditbrain.alerts.cases.case import example_warning
from creditbrain.alerts.policy import DEFAULT_POLICIES
from creditbrain.core.workdays import default_calendar
from creditbrain.infra.cases import CaseRepository
from creditbrain.infra.store import Store
from creditbrain.streams.cases import CaseDesk
from tests.fixtures.store import on_every_store

SUBJECT = "91371100MA3C0021X1"
CASE = case_id_of(SUBJECT, "construction@371102")
POSITION = ("credit.dispositions", 0, 7)


def desk(store: Store) -> CaseDesk:
    return CaseDesk(
        CaseRepository(store), CaseConfig(), default_calendar(), lambda: DEFAULT_POLICIES
    )


def report(case_id: str, disposition: str | None = "false_alarm", report_id: str = "r1") -> bytes:
    return orjson.dumps({
        "specversion": "1.0", "id": report_id, "type": "cn.creditbrain.case.disposition",
        "source": "grid/371102", "subject": case_id, "time": "2026-03-03T10:00:00+08:00",
        "data": {"case_id": case_id, "disposition": disposition, "by": "grid-7",
                 "at": "2026-03-03T09:00:00+08:00", "note": "核实"},
    })  # fmt: skip


@on_every_store
def test_refused_reports_are_dead_letters_with_their_reason(store: Store) -> None:
    d = desk(store)
    d.on_warning(example_warning("a1", "2026-03-02T10:00:00+08:00", subject_id=SUBJECT).to_bytes())
    reasons = []
    for body in (b"{not json", report("unknown-case"), report(CASE), report(CASE, report_id="r2")):
        out = d.on_disposition(body, POSITION)
        reasons.append(dict(out[0].headers)["reason"].decode() if out else "")
    assert reasons == ["invalid_disposition", "unknown_case", "", "refused_by_case"]
    assert dict(d.on_disposition(b"{", POSITION)[0].headers)["source-offset"] == b"7"
    assert d.counters.dispositions_applied == 1 and d.counters.dispositions_refused == 4


@on_every_store
def test_an_overdue_notice_is_sent_until_confirmed_then_never_again(store: Store) -> None:
    d = desk(store)
    d.on_warning(example_warning("a1", "2026-03-02T10:00:00+08:00", subject_id=SUBJECT).to_bytes())
    d.on_warning(
        example_warning(
            "b1", "2026-03-20T10:00:00+08:00", subject_id="91371100MA3C0022X1"
        ).to_bytes()
    )
    first = d.tick()
    assert [m.topic for m in first] == ["alerts.log", "warnings"]
    d._marks.clear()  # a crash before the mark was stored
    again = d.tick()
    assert [m.value for m in again] == [m.value for m in first]
    d.confirm()
    assert d.tick() == []
    case = CaseRepository(store).get(CASE)
    assert case is not None and case.overdue_alert_id
