"""The working-day calendar as staff see it: the years in reach whose arrangement is missing (the log at start,
/healthz), and what the calendar knows of one year (`liaison calendar check`)."""

from __future__ import annotations

import datetime as dt
import logging

import chinese_calendar
from holidays.version import __version__ as holidays_version

from casework.deadlines import LOCAL
from casework.workdays import Source, WorkingCalendar
from settings.deployment import WEEKDAYS
from texts import staff

log = logging.getLogger(__name__)

_VERSIONS = {Source.LIBRARY: chinese_calendar.__version__, Source.STATUTORY: holidays_version}


def warnings(calendar: WorkingCalendar, now: dt.datetime) -> list[str]:
    """One sentence for each year in reach from `now` that counts its statutory holidays only."""
    return [staff.CALENDAR_INCOMPLETE.format(year=year) for year in calendar.incomplete_years(_today(now))]


def warn_at_start(calendar: WorkingCalendar, now: dt.datetime) -> None:
    """Log a warning for each year in reach from `now` that counts its statutory holidays only."""
    for year in calendar.incomplete_years(_today(now)):
        log.warning(
            "%s: chinese-calendar %s does not know %d and config.yml has no calendar.years.%d; "
            "see `liaison calendar check %d`",
            staff.CALENDAR_INCOMPLETE.format(year=year),
            chinese_calendar.__version__,
            year,
            year,
            year,
        )


def check_year(calendar: WorkingCalendar, year: int) -> tuple[bool, str]:
    """Whether the calendar knows `year`'s whole arrangement, and what it knows: where from, the days off and the
    adjusted working days."""
    known = calendar.arrangement(year)
    source = staff.CALENDAR_SOURCES[known.source].format(version=_VERSIONS.get(known.source, ""))
    lines = [staff.CALENDAR_HEADER.format(year=year, source=source)]
    if not known.complete:
        lines += [staff.CALENDAR_INCOMPLETE.format(year=year), staff.CALENDAR_TO_DO.format(year=year)]
    lines.append(staff.CALENDAR_DAYS_OFF.format(count=len(known.days_off)))
    lines += [_day(day, name) for day, name in known.days_off.items()] or [staff.CALENDAR_NO_DAYS]
    lines.append(staff.CALENDAR_WORKDAYS.format(count=len(known.workdays)))
    lines += [_day(day, "") for day in sorted(known.workdays)] or [staff.CALENDAR_NO_DAYS]
    return known.complete, "\n".join(lines)


def _day(day: dt.date, name: str) -> str:
    return staff.CALENDAR_DAY.format(day=day.isoformat(), weekday=WEEKDAYS[day.weekday()], name=name).rstrip()


def _today(now: dt.datetime) -> dt.date:
    return now.astimezone(LOCAL).date()
