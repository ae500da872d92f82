"""The working-day calendar: the shipped data, deadlines across holidays, the data checks."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditbrain.core.errors import ConfigurationError
from creditbrain.core.eventtime import CST, to_epoch_ms
from creditbrain.core.workdays import WorkCalendar, cst, default_calendar

CAL = default_calendar()


def at(*parts: int) -> int:
    return to_epoch_ms(datetime(*parts, tzinfo=CST))  # type: ignore[misc]


def test_the_data_holds_the_years_the_simulator_and_the_demo_cover() -> None:
    assert set(CAL.years) >= {2024, 2025, 2026, 2027}
    assert not any(CAL.schedule(year).provisional for year in (2024, 2025, 2026))


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 14), True),  # Saturday worked before the Spring Festival
        (date(2026, 2, 15), False),
        (date(2026, 2, 23), False),  # Monday, last day of the break
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # Saturday worked after it
        (date(2026, 3, 7), False),  # an ordinary Saturday
        (date(2025, 10, 8), False),  # National Day and Mid-Autumn, eight days in 2025
        (date(2025, 9, 28), True),
        (date(2024, 6, 10), False),  # Dragon Boat Festival
        (date(2024, 2, 4), True),
    ],
)
def test_working_days_follow_the_notices(day: date, working: bool) -> None:
    assert CAL.is_working_day(day) is working


def test_objection_filed_on_the_friday_before_a_holiday() -> None:
    # Friday 3 April 2026, before Qingming (4-6 April): Tuesday, Wednesday, Thursday.
    assert cst(CAL.add_working_days(at(2026, 4, 3, 10, 0), 3)) == "2026-04-09T17:30:00+08:00"
    # Friday 26 September 2025: the adjusted Sunday 28th counts, 1-8 October does not.
    assert cst(CAL.add_working_days(at(2025, 9, 26, 16, 0), 3)) == "2025-09-30T17:30:00+08:00"
    assert cst(CAL.add_working_days(at(2025, 9, 26, 16, 0), 4)) == "2025-10-09T17:30:00+08:00"


def test_working_hours_cross_the_weekend_and_the_holiday() -> None:
    # Thursday 30 April 2026, 17:00: half an hour left, then 1-5 May off, then Wednesday.
    assert cst(CAL.add_working_hours(at(2026, 4, 30, 17, 0), 4)) == "2026-05-06T12:00:00+08:00"
    # Lunch does not count.
    assert cst(CAL.add_working_hours(at(2026, 3, 5, 11, 0), 2)) == "2026-03-05T14:30:00+08:00"


@given(
    st.integers(min_value=0, max_value=900).map(lambda d: date(2024, 1, 1) + timedelta(days=d)),
    st.integers(min_value=1, max_value=10),
)
def test_n_working_days_end_on_a_working_day_with_n_working_days_between(day: date, n: int) -> None:
    start = to_epoch_ms(datetime(day.year, day.month, day.day, 12, tzinfo=CST))
    end = CAL.add_working_days(start, n)
    end_day = datetime.fromtimestamp(end / 1000, CST).date()
    assert CAL.is_working_day(end_day)
    between = [day + timedelta(days=i) for i in range(1, (end_day - day).days + 1)]
    assert sum(CAL.is_working_day(d) for d in between) == n


@given(
    st.integers(min_value=0, max_value=600 * 24 * 60).map(
        lambda minutes: at(2024, 1, 2, 0, 0) + minutes * 60_000
    ),
    st.integers(min_value=1, max_value=40),
    st.integers(min_value=1, max_value=40),
)
def test_working_hours_add_up(start: int, a: int, b: int) -> None:
    assert CAL.add_working_hours(CAL.add_working_hours(start, a), b) == CAL.add_working_hours(
        start, a + b
    )


def test_a_year_outside_the_data_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="no data for 2031"):
        CAL.add_working_days(at(2031, 3, 2, 9, 0), 1)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("[years.2026]\nwork = [2026-03-04]", "is a weekday"),
        ('[years.2026]\noff = ["2026-12-30..2027-01-02"]', "within 2026"),
        ('[years.2026]\noff = ["2026-10-01", "2026-10-01"]', "listed twice"),
        ('[hours]\nwindows = [["12:00", "09:00"]]', "ends before"),
        ('[hours]\nwindows = [["08:00", "12:00"], ["11:00", "17:00"]]', "overlap"),
    ],
)
def test_bad_calendar_data_is_refused(body: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        WorkCalendar.from_toml(body)


def test_a_deployment_adds_a_year_from_its_own_file(tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text('[years.2031]\noff = ["2031-01-01"]\n', encoding="utf-8")
    cal = WorkCalendar.load(path)
    assert not cal.is_working_day(date(2031, 1, 1)) and cal.is_working_day(date(2031, 1, 2))
