import datetime as dt
import logging

import chinese_calendar
import pytest

from casework.deadlines import LOCAL, case_deadlines, end_of_day
from casework.workdays import KNOWN_YEARS, WorkingCalendar, statutory_holidays

D = dt.date


def test_spring_festival_2026_is_off_and_the_adjusted_saturdays_are_worked():
    calendar = WorkingCalendar()
    assert calendar.is_working_day(D(2026, 2, 14))  # Saturday, worked
    assert not any(calendar.is_working_day(D(2026, 2, day)) for day in range(15, 24))
    assert calendar.is_working_day(D(2026, 2, 28))  # Saturday, worked


def test_three_working_days_from_the_eve_of_spring_festival():
    calendar = WorkingCalendar()
    # Received Friday 13 Feb: Sat 14 (worked), then the holiday, then Tue 24 and Wed 25.
    assert calendar.add_working_days(D(2026, 2, 13), 3) == D(2026, 2, 25)
    assert calendar.add_working_days(D(2026, 2, 13), 5) == D(2026, 2, 27)


def test_national_day_2026_and_its_adjusted_working_weekends():
    calendar = WorkingCalendar()
    assert calendar.is_working_day(D(2026, 9, 20))  # Sunday, worked
    assert calendar.is_working_day(D(2026, 10, 10))  # Saturday, worked
    assert not calendar.is_working_day(D(2026, 10, 1))
    # Received on Wed 30 Sept: 8 Oct, 9 Oct, Sat 10 Oct.
    assert calendar.add_working_days(D(2026, 9, 30), 3) == D(2026, 10, 10)
    assert calendar.working_days_between(D(2026, 9, 30), D(2026, 10, 12)) == 4


def test_overrides_from_config_win_over_the_library():
    calendar = WorkingCalendar(holidays=[D(2026, 11, 23)], workdays=[D(2026, 11, 22)])
    assert not calendar.is_working_day(D(2026, 11, 23))  # a Monday declared off locally
    assert calendar.is_working_day(D(2026, 11, 22))  # a Sunday declared worked


def test_a_year_the_library_does_not_know_falls_back_to_weekdays_and_statutory_holidays(caplog):
    calendar = WorkingCalendar()
    assert calendar.is_working_day(D(2099, 3, 2))  # Monday
    assert not calendar.is_working_day(D(2099, 3, 1))  # Sunday
    assert not calendar.is_working_day(D(2099, 10, 1)) and calendar.is_holiday(D(2099, 10, 1))  # a Thursday
    assert "does not know 2099" in caplog.text and "春节" in caplog.text  # no lunar dates that far


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_statutory_holidays_are_days_off_in_the_years_the_library_knows(year):
    days = statutory_holidays(year)
    assert len(days) == 13  # 元旦 1, 春节 4, 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3
    assert [day for day in days if not chinese_calendar.is_holiday(day)] == []


def test_2027_falls_back_to_its_statutory_holidays_and_says_so(caplog):
    assert 2027 not in KNOWN_YEARS  # chinese-calendar 1.11; update this test when it learns 2027
    calendar = WorkingCalendar(workdays=[D(2027, 2, 20)])  # an adjusted Saturday, as config.yml would list it
    with caplog.at_level(logging.WARNING, logger="casework.workdays"):
        assert not calendar.is_working_day(D(2027, 1, 1))  # 元旦, a Friday
        assert calendar.is_working_day(D(2027, 1, 4))
    assert [r.getMessage() for r in caplog.records if "does not know 2027" in r.getMessage()] != []
    # 春节: the eve (Fri 5 Feb) to 初三 (Mon 8 Feb); the adjusted Saturday from the config is worked.
    assert [day.day for day in days(D(2027, 2, 4), D(2027, 2, 9)) if calendar.is_holiday(day)] == [5, 6, 7, 8]
    assert calendar.add_working_days(D(2027, 2, 4), 3) == D(2027, 2, 11)
    assert calendar.is_working_day(D(2027, 2, 20))
    for day in (D(2027, 4, 5), D(2027, 5, 1), D(2027, 5, 2), D(2027, 6, 9), D(2027, 9, 15), D(2027, 10, 1)):
        assert calendar.is_holiday(day), day
    caplog.clear()
    calendar.is_working_day(D(2027, 3, 1))
    assert "does not know 2027" not in caplog.text  # once per calendar and year


def test_deadlines_of_a_case_received_at_the_year_end_skip_new_years_day(clock):
    clock.freeze(dt.datetime(2026, 12, 31, 23, 50, tzinfo=LOCAL))  # a Thursday night
    received = clock.now()
    deadlines = case_deadlines(
        received, WorkingCalendar(), transfer_hours=24, reply_working_days=3, overdue_working_days=5
    )
    assert deadlines.transfer_due_at == received + dt.timedelta(hours=24)
    # Fri 1 Jan 2027 is New Year's Day even though chinese-calendar does not know 2027; then the weekend.
    assert deadlines.reply_due_at == end_of_day(D(2027, 1, 6))  # Mon 4, Tue 5, Wed 6
    assert deadlines.overdue_at == end_of_day(D(2027, 1, 8))


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
