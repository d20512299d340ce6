"""The Chinese working-day calendar: public holidays and adjusted working weekends.

chinese-calendar knows the State Council's yearly schedule; config.yml can add days it does not
know yet (or local decisions), which win over it. For a year the library does not know yet (deadlines of
late December run into it), the calendar falls back to the statutory holidays, and says so in the log: that
year's bridging days and adjusted working weekends are missing until chinese-calendar is updated or
config.yml lists them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from functools import cache

import chinese_calendar

log = logging.getLogger(__name__)

# The years whose schedule the library has; other years fall back to the statutory holidays.
KNOWN_YEARS = frozenset(day.year for day in chinese_calendar.holidays)

# The lunar festivals' days (month, day): 春节 (正月初一), 端午 (五月初五), 中秋 (八月十五). Checked against
# chinese-calendar for 2025 and 2026 (tests/unit/casework/test_workdays.py).
LUNAR_FESTIVALS = {
    2025: ((1, 29), (5, 31), (10, 6)),
    2026: ((2, 17), (6, 19), (9, 25)),
    2027: ((2, 6), (6, 9), (9, 15)),
    2028: ((1, 26), (5, 28), (10, 3)),
    2029: ((2, 13), (6, 16), (9, 22)),
    2030: ((2, 3), (6, 5), (9, 12)),
    2031: ((1, 23), (6, 24), (10, 1)),
    2032: ((2, 11), (6, 12), (9, 19)),
    2033: ((1, 31), (6, 1), (9, 8)),
    2034: ((2, 19), (6, 20), (9, 27)),
    2035: ((2, 8), (6, 10), (9, 16)),
    2036: ((1, 28), (5, 30), (10, 4)),
    2037: ((2, 15), (6, 18), (9, 24)),
    2038: ((2, 4), (6, 7), (9, 13)),
    2039: ((1, 24), (5, 27), (10, 2)),
    2040: ((2, 12), (6, 14), (9, 20)),
}


@cache
def statutory_holidays(year: int) -> dict[dt.date, str]:
    """The days off of every year under 全国年节及纪念日放假办法 (as revised in 2024, from 2025 on): 元旦 1 day,
    春节 4 (除夕 and 正月初一 to 初三), 清明 1, 劳动节 2, 端午 1, 中秋 1, 国庆 3. Not the bridging days and adjusted
    working weekends the State Council adds each year. After LUNAR_FESTIVALS' last year, without the lunar ones."""
    days = {dt.date(year, 1, 1): "元旦", dt.date(year, 5, 1): "劳动节", dt.date(year, 5, 2): "劳动节"}
    if 1900 <= year <= 2100:  # the solar terms chinese-calendar computes
        days.update(
            (day, "清明")
            for day, term in chinese_calendar.get_solar_terms(dt.date(year, 4, 1), dt.date(year, 4, 10))
            if term == "清明"
        )
    if year in LUNAR_FESTIVALS:
        spring, dragon_boat, mid_autumn = (dt.date(year, *day) for day in LUNAR_FESTIVALS[year])
        days.update((spring + dt.timedelta(days=n), "春节") for n in range(-1, 3))
        days[dragon_boat] = "端午节"
        days[mid_autumn] = "中秋节"
    days.update((dt.date(year, 10, day), "国庆节") for day in (1, 2, 3))
    return days


class WorkingCalendar:
    def __init__(self, holidays: Iterable[dt.date] = (), workdays: Iterable[dt.date] = ()) -> None:
        self._holidays = frozenset(holidays)
        self._workdays = frozenset(workdays)
        self._warned: set[int] = set()

    def _fallback(self, year: int) -> dict[dt.date, str]:
        """The statutory holidays of a year chinese-calendar does not know; a warning the first time."""
        if year not in self._warned:
            self._warned.add(year)
            lunar = "" if year in LUNAR_FESTIVALS else " (not even 春节, 端午 and 中秋: no dates for them)"
            log.warning(
                "chinese-calendar %s does not know %d: its working days are counted on the statutory "
                "holidays only%s, without the State Council's bridging days and adjusted working weekends; "
                "update chinese-calendar, or list them under calendar: in config.yml",
                chinese_calendar.__version__,
                year,
                lunar,
            )
        return statutory_holidays(year)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        if day.year not in KNOWN_YEARS:
            return day.weekday() < 5 and day not in self._fallback(day.year)
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
            return day in self._fallback(day.year)
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
