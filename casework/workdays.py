"""The Chinese working-day calendar: public holidays and adjusted working weekends.

A year's arrangement (its days off and adjusted working days) comes from one of three sources:
- chinese-calendar, for the years whose arrangement the State Council had published when it was released;
- config.yml (`calendar.years`), the published arrangement of a later year, copied by staff;
- otherwise the statutory holidays only, from the `holidays` package's China calendar (the days of
  全国年节及纪念日放假办法 and a working day in lieu of each that falls on a weekend), without that year's
  bridging days and adjusted working weekends: the arrangement is incomplete, and services/workdays.py says so
  (at start, in /healthz and in `liaison calendar check`) until chinese-calendar is updated or config.yml
  gives it.
config.yml's `calendar.holidays` and `calendar.workdays` are local decisions; they win over every source.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache

import chinese_calendar
from holidays import country_holidays

from settings import CalendarOverrides, PublishedYear
from texts import staff

# The years whose arrangement the library has.
KNOWN_YEARS = frozenset(day.year for day in chinese_calendar.holidays)
_LIBRARY_NAMES = {holiday.value: holiday.chinese for holiday in chinese_calendar.Holiday}

# How far ahead the arrangement must be known: the reception slots (4 weeks) and a case's deadlines (5 working
# days, two weeks across 春节) reach this far. The State Council publishes next year's in November.
HORIZON = dt.timedelta(days=60)


class Source(StrEnum):
    """Where a year's arrangement comes from."""

    LIBRARY = "chinese-calendar"
    CONFIG = "config.yml"
    STATUTORY = "statutory"


@dataclass(frozen=True)
class Arrangement:
    """What the calendar knows of one year, local decisions included: the days off that are not ordinary
    weekends (with their names) and the weekend days worked; no day is both."""

    year: int
    source: Source
    days_off: Mapping[dt.date, str]
    workdays: frozenset[dt.date]

    @property
    def complete(self) -> bool:
        """Whether the year's bridging days and adjusted working weekends are known."""
        return self.source is not Source.STATUTORY


@cache
def statutory_holidays(year: int) -> Mapping[dt.date, str]:
    """The statutory days off of `year` with their names (元旦 1 day, 春节 4, 清明 1, 劳动节 2, 端午 1, 中秋 1,
    国庆 3 since 2025), and a working day in lieu (补假) of each that falls on a weekend. For a year whose
    arrangement the `holidays` package already has, its bridging days too."""
    return dict(sorted(country_holidays("CN", years=year, language="zh_CN").items()))


def years_in_reach(today: dt.date) -> range:
    """The years the calendar is used for from `today` on: this one, and the next within HORIZON."""
    return range(today.year, (today + HORIZON).year + 1)


class WorkingCalendar:
    def __init__(
        self,
        holidays: Iterable[dt.date] = (),
        workdays: Iterable[dt.date] = (),
        published: Mapping[int, PublishedYear] | None = None,
    ) -> None:
        """`holidays` and `workdays`: local decisions; `published`: years' arrangements chinese-calendar lacks."""
        self._holidays = frozenset(holidays)
        self._workdays = frozenset(workdays)
        self._published = dict(published or {})
        self._years: dict[int, Arrangement] = {}

    @classmethod
    def configured(cls, config: CalendarOverrides) -> WorkingCalendar:
        """The calendar with config.yml's `calendar` section."""
        return cls(config.holidays, config.workdays, config.years)

    def arrangement(self, year: int) -> Arrangement:
        """The year's days off and adjusted working days."""
        known = self._years.get(year)
        if known is None:
            known = self._years[year] = self._arrange(year)
        return known

    def _arrange(self, year: int) -> Arrangement:
        if year in KNOWN_YEARS:
            source = Source.LIBRARY
            days_off = {d: _LIBRARY_NAMES[name] for d, name in chinese_calendar.holidays.items() if d.year == year}
            workdays = {day for day in chinese_calendar.workdays if day.year == year}
        elif year in self._published:
            source = Source.CONFIG
            published = self._published[year]
            days_off = {**dict.fromkeys(published.holidays, staff.CALENDAR_BRIDGING), **statutory_holidays(year)}
            workdays = set(published.workdays)
        else:
            source = Source.STATUTORY
            days_off = dict(statutory_holidays(year))
            workdays = set()
        local_off = {day for day in self._holidays if day.year == year}
        workdays = (workdays - local_off) | {day for day in self._workdays if day.year == year}
        days_off |= {day: staff.CALENDAR_LOCAL_DAY_OFF for day in local_off}
        kept = {day: name for day, name in sorted(days_off.items()) if day not in workdays}
        return Arrangement(year, source, kept, frozenset(workdays))

    def incomplete_years(self, today: dt.date) -> list[int]:
        """The years in reach from `today` whose arrangement is not known."""
        return [year for year in years_in_reach(today) if not self.arrangement(year).complete]

    def is_working_day(self, day: dt.date) -> bool:
        known = self.arrangement(day.year)
        return day in known.workdays or (day not in known.days_off and day.weekday() < 5)

    def is_holiday(self, day: dt.date) -> bool:
        """A day off that is not an ordinary weekend: a public holiday (with its bridging days) or a local one.

        An ordinary Saturday is not a holiday; a Saturday inside the National Day break is.
        """
        return day in self.arrangement(day.year).days_off

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
