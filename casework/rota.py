"""The duty rota: which reception sessions are held on which days, by which deputies, in which slots.

    weekly sessions (config duty_rota) ─┐
    the 议事日 (reception.council_day) ──┼─► plan_sessions(first, last) ─► PlannedSession ─► slots()
    holidays (WorkingCalendar) ─────────┤      one per station, day and start; closed ones
    dated exceptions (reception.exceptions)┘   carry the reason

Rules, in order, for each day:
1. each weekly session of that weekday is held, its deputies taking turns week by week
   (`per_week` of the list, in list order);
2. on the 议事日 (the fourth Thursday of the month by default) the council session is held, every
   deputy listed on duty; a weekly session of the same station overlapping it is not held;
3. a public holiday closes every session of the day (an ordinary weekend does not: a Saturday
   session is held on Saturdays, except in a holiday break); an adjusted working weekend day
   (调休上班) holds the sessions of its own weekday and nothing more, unless an exception opens more;
4. the exceptions of config.yml for that date, in their order: open, close, name the deputies.

Pure: no I/O, no clock. Times are Beijing time (casework.deadlines.LOCAL).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from casework.deadlines import LOCAL
from casework.workdays import WorkingCalendar
from settings.deployment import WEEKDAYS, CouncilDay, Deployment, DutySession, RotaException

WEEKLY, COUNCIL, EXTRA = "weekly", "council", "extra"
# Why the rota closes a session: these codes, worded by `texts.citizen.SESSION_CLOSED_REASONS`, or the reason
# a dated exception of config.yml gives.
HOLIDAY_REASON = "holiday"
COUNCIL_REASON = "council_day"
# Week 0 of the rotation: any Monday will do, as long as it never changes.
ROTATION_EPOCH = dt.date(2024, 1, 1)


@dataclass(frozen=True)
class PlannedSession:
    """One reception session on one day, as the rota and the calendar make it."""

    station: str
    day: dt.date
    start: dt.time
    end: dt.time
    kind: str
    slot_minutes: int
    capacity: int
    deputies: tuple[str, ...]
    closed: bool = False
    reason: str = ""

    @property
    def key(self) -> str:
        """Stable name of the session: station, day and start, e.g. demo:2026-11-24:0900."""
        return session_key(self.station, self.day, self.start)

    @property
    def starts_at(self) -> dt.datetime:
        return dt.datetime.combine(self.day, self.start, tzinfo=LOCAL)

    @property
    def ends_at(self) -> dt.datetime:
        return dt.datetime.combine(self.day, self.end, tzinfo=LOCAL)

    def slots(self) -> list[tuple[dt.datetime, dt.datetime]]:
        """(start, end) of each slot, `slot_minutes` long, the last one ending by the session's end."""
        return slots_between(self.starts_at, self.ends_at, self.slot_minutes)

    def overlaps(self, other: PlannedSession) -> bool:
        return (
            self.station == other.station
            and self.day == other.day
            and self.start < other.end
            and other.start < self.end
        )


def session_key(station: str, day: dt.date, start: dt.time) -> str:
    return f"{station}:{day.isoformat()}:{start:%H%M}"


def slots_between(start: dt.datetime, end: dt.datetime, minutes: int) -> list[tuple[dt.datetime, dt.datetime]]:
    step = dt.timedelta(minutes=minutes)
    slots = []
    current = start
    while current + step <= end:
        slots.append((current, current + step))
        current += step
    return slots


def on_duty(session: DutySession, day: dt.date) -> tuple[str, ...]:
    """The deputies of a weekly session on `day`: each week the next `per_week` of the list."""
    week = (day - ROTATION_EPOCH).days // 7
    count = min(session.per_week, len(session.deputies))
    return tuple(session.deputies[(week * session.per_week + i) % len(session.deputies)] for i in range(count))


def is_council_day(rule: CouncilDay, day: dt.date) -> bool:
    """The `week`-th `weekday` of the month (逢四议事: the fourth Thursday)."""
    return day.weekday() == WEEKDAYS.index(rule.weekday) and (day.day - 1) // 7 + 1 == rule.week


def plan_sessions(
    deployment: Deployment, calendar: WorkingCalendar, first: dt.date, last: dt.date
) -> list[PlannedSession]:
    """Every session from `first` to `last` (inclusive), closed ones too, by day then station and start."""
    planned: list[PlannedSession] = []
    day = first
    while day <= last:
        planned += plan_day(deployment, calendar, day)
        day += dt.timedelta(days=1)
    return planned


def plan_day(deployment: Deployment, calendar: WorkingCalendar, day: dt.date) -> list[PlannedSession]:
    sessions = [_weekly(s, day) for s in deployment.duty_rota if WEEKDAYS.index(s.weekday) == day.weekday()]
    council = deployment.reception.council_day
    if council is not None and is_council_day(council, day):
        held = _council(council, day)
        sessions = [replace(s, closed=True, reason=COUNCIL_REASON) if s.overlaps(held) else s for s in sessions]
        sessions.append(held)
    if calendar.is_holiday(day):
        sessions = [replace(s, closed=True, reason=HOLIDAY_REASON) for s in sessions]
    for exception in deployment.reception.exceptions:
        if exception.date == day:
            sessions = _apply(deployment, exception, sessions)
    return sorted(sessions, key=lambda s: (s.station, s.start))


def _weekly(session: DutySession, day: dt.date) -> PlannedSession:
    return PlannedSession(
        station=session.station,
        day=day,
        start=session.start,
        end=session.end,
        kind=WEEKLY,
        slot_minutes=session.slot_minutes,
        capacity=session.capacity,
        deputies=on_duty(session, day),
    )


def _council(rule: CouncilDay, day: dt.date) -> PlannedSession:
    return PlannedSession(
        station=rule.station,
        day=day,
        start=rule.start,
        end=rule.end,
        kind=COUNCIL,
        slot_minutes=rule.slot_minutes,
        capacity=rule.capacity,
        deputies=tuple(rule.deputies),
    )


def _apply(deployment: Deployment, exception: RotaException, sessions: list[PlannedSession]) -> list[PlannedSession]:
    def concerned(session: PlannedSession) -> bool:
        return (exception.station is None or session.station == exception.station) and (
            exception.start is None or session.start == exception.start
        )

    named = tuple(exception.deputies)
    if exception.action == "close":
        return [replace(s, closed=True, reason=exception.reason) if concerned(s) else s for s in sessions]
    if exception.action == "deputies":
        return [replace(s, deputies=named) if concerned(s) else s for s in sessions]
    # open
    if exception.like is not None:
        added = [
            _weekly(s, exception.date)
            for s in deployment.duty_rota
            if s.weekday == exception.like
            and (exception.station is None or s.station == exception.station)
            and (exception.start is None or s.start == exception.start)
        ]
        added = [replace(s, deputies=named or s.deputies, kind=EXTRA) for s in added]
        return sessions + [s for s in added if not any(s.overlaps(other) and not other.closed for other in sessions)]
    if exception.end is not None and exception.start is not None and not any(concerned(s) for s in sessions):
        station = exception.station or deployment.main_station.code
        extra = PlannedSession(
            station=station,
            day=exception.date,
            start=exception.start,
            end=exception.end,
            kind=EXTRA,
            slot_minutes=exception.slot_minutes,
            capacity=exception.capacity,
            deputies=named,
        )
        return sessions + [extra]
    return [replace(s, closed=False, reason="", deputies=named or s.deputies) if concerned(s) else s for s in sessions]
