"""The Chinese working-day calendar: public holidays and adjusted working weekends.

chinese-calendar knows the State Council's yearly schedule; config.yml can add days it does not
know yet (or local decisions), which win over it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import chinese_calendar

# The years whose schedule the library has; other years fall back to Monday-Friday.
KNOWN_YEARS = frozenset(day.year for day in chinese_calendar.holidays)


class WorkingCalendar:
    def __init__(self, holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = ()) -> None:
        self._holidays = frozenset(holidays)
        self._workdays = frozenset(workdays)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        if day.year not in KNOWN_YEARS:
            return day.weekday() < 5
        return bool(chinese_calendar.is_workday(day))

    def is_holiday(self, day: dt.date) -> bool:
        """A day off that is not an ordinary weekend: a public holiday (with its bridging days) or a local one.

        An ordinary Saturday is not a holiday; a Saturday inside the National Day break is.
        """
        if day in self._workdays:
            return False
        if day in self._holidays:
            return True
        if day.year not in KNOWN_YEARS:
            return False
        off, name = chinese_calendar.get_holiday_detail(day)
        return bool(off) and (name is not None or day.weekday() < 5)

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The `count`-th working day after `day` (`day` itself is not counted)."""
        current = day
        remaining = count
        while remaining > 0:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
        return current

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days after `start` up to and including `end` (0 when end <= start)."""
        days = 0
        current = start
        while current < end:
            current += dt.timedelta(days=1)
            if self.is_working_day(current):
                days += 1
        return days
