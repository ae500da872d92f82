"""Cases: grouping, levels, re-raising, the state machine, deadlines, overdue once per round."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditbrain.alerts.cases import (
    Case,
    CaseConfig,
    CaseError,
    Deadline,
    Route,
    act,
    join,
    mark_overdue,
    overdue_warning,
)
from creditbrain.alerts.cases.case import example_warning
from creditbrain.alerts.policy import DEFAULT_POLICIES, PolicySet
from creditbrain.core.workdays import cst, default_calendar

CAL = default_calendar()
CONFIG = CaseConfig(routes=(Route(sector="construction", district="371102", team="dg-build"),))


def opened(time: str = "2026-03-02T10:00:00+08:00", level: str = "orange") -> Case:
    step = join(None, example_warning("a1", time, level=level), CONFIG, CAL)  # type: ignore[arg-type]
    assert step is not None and step.transition is not None
    return step.case


def acting(case: Case, action: str, at: int, **kw: object) -> Case:
    step = act(case, action, at=at, actor="li", role="regulator", config=CONFIG, calendar=CAL, **kw)  # type: ignore[arg-type]
    return step.case


def test_one_case_per_subject_and_team_collects_warnings_at_the_highest_level() -> None:
    case = opened(level="orange")
    assert case.team == "dg-build" and case.level == "orange"
    step = join(case, example_warning("a2", "2026-03-02T11:00:00+08:00", level="red"), CONFIG, CAL)
    assert step is not None and step.transition is not None
    assert step.transition.event == "raised"
    assert step.case.level == "red" and [a.alert_id for a in step.case.alerts] == ["a1", "a2"]
    assert step.case.case_id == case.case_id
    # The red deadline is closer than the orange one: it applies.
    assert step.case.acknowledge_due < case.acknowledge_due
    lower = join(
        step.case, example_warning("a3", "2026-03-02T12:00:00+08:00", level="blue"), CONFIG, CAL
    )
    assert lower is not None and lower.case.level == "red"


def test_another_team_gets_another_case() -> None:
    here = opened()
    elsewhere = join(
        None, example_warning("a9", "2026-03-02T10:00:00+08:00", district="371103"), CONFIG, CAL
    )
    assert elsewhere is not None
    assert elsewhere.case.team == "construction@371103" and elsewhere.case.case_id != here.case_id


def test_the_same_warning_again_changes_nothing_to_act_on() -> None:
    case = opened()
    again = join(
        case, example_warning("a1", "2026-03-02T10:00:00+08:00", level="orange"), CONFIG, CAL
    )
    assert again is not None and again.transition is None and again.case.state == "new"
    later = example_warning(
        "a1", "2026-03-03T10:00:00+08:00", level="orange", status="resolved", version=2
    )
    resolved = join(case, later, CONFIG, CAL)
    assert resolved is not None and resolved.transition is None
    assert resolved.case.alerts[0].status == "resolved"
    gone = example_warning("zz", "2026-03-03T10:00:00+08:00", status="resolved")
    assert join(None, gone, CONFIG, CAL) is None


def test_states_and_a_new_warning_reopens_a_disposed_case() -> None:
    case = opened()
    t = case.opened_at + 60_000
    case = acting(case, "acknowledge", t)
    case = acting(case, "investigate", t)
    case = acting(case, "dispose", t, disposition="handled_with_measures", note="整改完成")
    assert (case.state, case.disposition, case.round) == ("disposed", "handled_with_measures", 1)
    step = join(case, example_warning("a2", "2026-03-10T10:00:00+08:00"), CONFIG, CAL)
    assert step is not None and step.transition is not None
    assert step.transition.event == "reopened"
    assert (step.case.state, step.case.disposition, step.case.round) == ("new", None, 2)
    reopened = acting(step.case, "dispose", t, disposition="duplicate")
    manual = acting(reopened, "reopen", t)
    assert (manual.state, manual.round) == ("investigating", 3)


@pytest.mark.parametrize(
    ("state_path", "action", "kw", "message"),
    [
        ([], "reopen", {}, "cannot reopen a new case"),
        ([], "dispose", {}, "names its disposition"),
        ([], "acknowledge", {"disposition": "false_alarm"}, "only a disposal"),
        ([], "note", {}, "a text or an attachment"),
        (["acknowledge"], "acknowledge", {}, "cannot acknowledge an? acknowledged"),
    ],
)
def test_refused_transitions(
    state_path: list[str], action: str, kw: dict[str, object], message: str
) -> None:
    case = opened()
    for step in state_path:
        case = acting(case, step, case.opened_at)
    with pytest.raises(CaseError, match=message):
        acting(case, action, case.opened_at, **kw)


def test_a_request_is_applied_once() -> None:
    case = opened()
    once = acting(case, "dispose", case.opened_at, disposition="false_alarm", request_id="r1")
    twice = act(once, "dispose", at=case.opened_at, actor="x", role="grid", config=CONFIG,
                calendar=CAL, disposition="false_alarm", request_id="r1")  # fmt: skip
    assert twice.transition is None and twice.case is once


def test_overdue_once_across_a_weekend_and_a_holiday() -> None:
    # Red warning on Friday 3 April 2026 at 16:00; Qingming is Saturday to Monday.
    case = opened("2026-04-03T16:00:00+08:00", level="red")
    assert cst(case.acknowledge_due) == "2026-04-07T11:00:00+08:00"
    assert cst(case.dispose_due) == "2026-04-09T17:30:00+08:00"
    hour = 3_600_000
    notices = []
    for now in range(case.opened_at, case.dispose_due + 48 * hour, hour):
        step = mark_overdue(case, now)
        if step is not None:
            case = step.case
            notices.append(overdue_warning(case, DEFAULT_POLICIES))
    assert len(notices) == 1 and notices[0] is not None
    warning = notices[0].warning
    assert warning.data.rule == "case_overdue" and warning.data.case is not None
    assert warning.data.case.deadline == "acknowledge"
    # The breach's event time: just past the deadline, whenever it was noticed.
    assert warning.time.isoformat() == "2026-04-07T11:00:00.001000+08:00"


def test_acknowledged_in_time_is_overdue_only_at_the_dispose_deadline() -> None:
    case = acting(opened(level="red"), "acknowledge", opened(level="red").opened_at)
    assert mark_overdue(case, case.acknowledge_due + 1) is None
    step = mark_overdue(case, case.dispose_due + 1)
    assert step is not None
    update = overdue_warning(step.case, DEFAULT_POLICIES)
    assert update is not None and update.warning.data.case is not None
    assert update.warning.data.case.deadline == "dispose"
    disabled = PolicySet.model_validate(
        {"overrides": {"sector=construction": {"rules": {"case_overdue": {"enabled": False}}}}}
    )
    assert overdue_warning(step.case, disabled) is None


def test_deadlines_per_sector() -> None:
    fast = Deadline(acknowledge_hours=1, dispose_days=1)
    config = CaseConfig(sector_deadlines={"construction": {"red": fast}})
    step = join(None, example_warning("a1", "2026-03-02T10:00:00+08:00"), config, CAL)
    assert step is not None and cst(step.case.acknowledge_due) == "2026-03-02T11:00:00+08:00"


@given(
    st.lists(
        st.sampled_from(["acknowledge", "investigate", "dispose", "reopen", "note"]), max_size=12
    )
)
def test_any_sequence_keeps_the_case_consistent(actions: list[str]) -> None:
    case = opened()
    for action in actions:
        kw: dict[str, object] = {"disposition": "false_alarm"} if action == "dispose" else {}
        if action == "note":
            kw = {"note": "n"}
        try:
            after = acting(case, action, case.opened_at, **kw)
        except CaseError:
            continue
        assert after.version == case.version + 1
        assert (after.state == "disposed") == (after.disposition is not None)
        assert after.state == "new" or after.acknowledged_at is not None
        case = after
    assert replace(case) == case
