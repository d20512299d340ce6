import datetime as dt

import chinese_calendar
import pytest

from casework.deadlines import LOCAL, case_deadlines, end_of_day
from casework.workdays import KNOWN_YEARS, Source, WorkingCalendar, statutory_holidays
from settings import PublishedYear

D = dt.date


def days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


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


def test_a_year_the_library_does_not_know_counts_weekdays_and_its_statutory_holidays():
    calendar = WorkingCalendar()
    assert calendar.is_working_day(D(2099, 3, 2))  # Monday
    assert not calendar.is_working_day(D(2099, 3, 1))  # Sunday
    assert not calendar.is_working_day(D(2099, 10, 1)) and calendar.is_holiday(D(2099, 10, 1))  # a Thursday
    assert calendar.is_holiday(D(2099, 1, 21))  # 春节 (正月初一), from the `holidays` package's lunar tables
    assert calendar.arrangement(2099).source is Source.STATUTORY and not calendar.arrangement(2099).complete


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_statutory_holidays_are_days_off_in_the_years_the_library_knows(year):
    days = statutory_holidays(year)
    assert {"元旦", "农历除夕", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节"} <= set(days.values())
    assert [day for day in days if not chinese_calendar.is_holiday(day)] == []


def test_2027s_statutory_holidays_and_their_days_in_lieu():
    assert 2027 not in KNOWN_YEARS  # chinese-calendar 1.11; update these tests when it learns 2027
    days = statutory_holidays(2027)
    # 13 statutory days; those on a weekend (春节 6-7 Feb, 劳动节 1-2 May, 国庆 2-3 Oct) give a weekday in lieu.
    assert [(day.month, day.day) for day, name in days.items() if "补假" not in name] == [
        (1, 1),
        (2, 5),
        (2, 6),
        (2, 7),
        (2, 8),
        (4, 5),
        (5, 1),
        (5, 2),
        (6, 9),
        (9, 15),
        (10, 1),
        (10, 2),
        (10, 3),
    ]
    assert [(day.month, day.day) for day, name in days.items() if "补假" in name] == [
        (2, 9),
        (2, 10),
        (5, 3),
        (5, 4),
        (10, 4),
        (10, 5),
    ]


def test_2027_counts_its_statutory_holidays_and_the_days_in_lieu():
    calendar = WorkingCalendar()
    assert not calendar.is_working_day(D(2027, 1, 1))  # 元旦, a Friday
    assert calendar.is_working_day(D(2027, 1, 4))
    # 春节: the eve (Fri 5 Feb) to 初二 (Mon 8 Feb), and Tue 9 and Wed 10 in lieu of the weekend.
    assert [day.day for day in days(D(2027, 2, 4), D(2027, 2, 11)) if calendar.is_holiday(day)] == [5, 6, 7, 8, 9, 10]
    assert calendar.add_working_days(D(2027, 2, 4), 3) == D(2027, 2, 15)  # Thu 11, Fri 12, Mon 15
    assert not calendar.is_working_day(D(2027, 2, 20))  # no adjusted Saturday is known
    assert calendar.incomplete_years(D(2027, 3, 1)) == [2027]


def test_a_case_received_on_30_december_2026_is_due_after_new_years_day():
    """The issue's example: the reply was promised for Mon 4 Jan 2027, as if 1 Jan were a working day."""
    received = dt.datetime(2026, 12, 30, 10, 0, tzinfo=LOCAL)  # a Wednesday
    deadlines = case_deadlines(
        received, WorkingCalendar(), transfer_hours=24, reply_working_days=3, overdue_working_days=5
    )
    # Thu 31 Dec, (Fri 1 Jan off, the weekend), Mon 4, Tue 5 Jan; then Wed 6 and Thu 7.
    assert deadlines.reply_due_at == end_of_day(D(2027, 1, 5))
    assert deadlines.overdue_at == end_of_day(D(2027, 1, 7))


PUBLISHED_2027 = PublishedYear(  # an arrangement as the State Council might publish it, as config.yml gives it
    holidays=[D(2027, 1, 1), D(2027, 1, 2), D(2027, 1, 3), *days(D(2027, 2, 5), D(2027, 2, 13))],
    workdays=[D(2027, 2, 14), D(2027, 2, 20)],
)


def test_a_published_arrangement_from_the_config_completes_a_year():
    calendar = WorkingCalendar(published={2027: PUBLISHED_2027})
    known = calendar.arrangement(2027)
    assert known.source is Source.CONFIG and known.complete
    assert known.days_off[D(2027, 2, 11)] == "放假调休" and known.days_off[D(2027, 2, 8)] == "春节"
    assert calendar.is_holiday(D(2027, 2, 11)) and calendar.is_holiday(D(2027, 2, 12))  # bridging days
    assert calendar.is_working_day(D(2027, 2, 14)) and calendar.is_working_day(D(2027, 2, 20))  # Sun, Sat
    # The statutory days the notice leaves out stay off: 清明 is not in this excerpt.
    assert calendar.is_holiday(D(2027, 4, 5))
    assert calendar.add_working_days(D(2027, 2, 4), 3) == D(2027, 2, 16)  # Sun 14, Mon 15, Tue 16
    assert calendar.incomplete_years(D(2026, 12, 1)) == [] == calendar.incomplete_years(D(2027, 6, 1))


def test_local_decisions_win_over_every_source():
    calendar = WorkingCalendar(
        holidays=[D(2027, 2, 20), D(2026, 9, 20)], workdays=[D(2027, 2, 12)], published={2027: PUBLISHED_2027}
    )
    assert not calendar.is_working_day(D(2027, 2, 20)) and calendar.is_holiday(D(2027, 2, 20))
    assert calendar.is_working_day(D(2027, 2, 12)) and not calendar.is_holiday(D(2027, 2, 12))
    assert not calendar.is_working_day(D(2026, 9, 20))  # a Sunday chinese-calendar says is worked
    assert calendar.arrangement(2026).days_off[D(2026, 9, 20)] == "本地放假"


@pytest.mark.parametrize(
    ("today", "incomplete"),
    [
        (D(2026, 6, 1), []),
        (D(2026, 11, 1), []),  # 2027 is more than 60 days away
        (D(2026, 11, 15), [2027]),
        (D(2026, 12, 31), [2027]),
        (D(2027, 1, 1), [2027]),
        (D(2099, 12, 1), [2099, 2100]),
    ],
)
def test_the_years_in_reach_whose_arrangement_is_missing(today, incomplete):
    assert WorkingCalendar().incomplete_years(today) == incomplete


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
