"""The promises of the loop: transfer within 24 hours, reply within 3 working days, overdue after 5."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from casework.workdays import WorkingCalendar

# Stations work on Beijing time whatever the server's clock zone.
LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class CaseDeadlines:
    transfer_due_at: dt.datetime
    reply_due_at: dt.datetime
    overdue_at: dt.datetime


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=LOCAL)


def case_deadlines(
    received_at: dt.datetime,
    calendar: WorkingCalendar,
    *,
    transfer_hours: int,
    reply_working_days: int,
    overdue_working_days: int,
) -> CaseDeadlines:
    """Deadlines of a case received at `received_at` (aware); working days count from the next one."""
    local_day = received_at.astimezone(LOCAL).date()
    return CaseDeadlines(
        transfer_due_at=received_at + dt.timedelta(hours=transfer_hours),
        reply_due_at=end_of_day(calendar.add_working_days(local_day, reply_working_days)),
        overdue_at=end_of_day(calendar.add_working_days(local_day, overdue_working_days)),
    )
