import datetime as dt

from casework.workdays import WorkingCalendar

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


def test_a_year_the_library_does_not_know_falls_back_to_weekdays():
    calendar = WorkingCalendar()
    assert calendar.is_working_day(D(2099, 3, 2))  # Monday
    assert not calendar.is_working_day(D(2099, 3, 1))  # Sunday
