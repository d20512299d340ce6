"""The promises of the loop: transfer within 24 hours, reply within 3 working days, overdue after 5; and the
schedule of the alerts while a case waits for its transfer."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from casework.workdays import WorkingCalendar

# Stations work on Beijing time whatever the server's clock zone.
LOCAL = ZoneInfo("Asia/Shanghai")
# A case still 已受理 this long after its transfer deadline is seriously late (48 hours after receipt by default).
SERIOUSLY_LATE_AFTER = dt.timedelta(hours=24)
# From then on the alert is repeated each working day, from this time (Beijing), until the case is transferred.
REPEAT_ALERT_AT = dt.time(9, 0)


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


@dataclass(frozen=True)
class TransferAlert:
    """An alert due for a case still waiting for its transfer. `stage`: "late" (the deadline passed) or
    "seriously_late"; `key`: the alert goes out once per key (one for "late", one a day after that)."""

    stage: str
    key: str


def transfer_alert(transfer_due_at: dt.datetime, now: dt.datetime, calendar: WorkingCalendar) -> TransferAlert | None:
    """The alert due at `now` for a case still 已受理 whose transfer was due at `transfer_due_at`, or None.

    The schedule, until the case is transferred: "late" once when the deadline passes (24 hours after receipt);
    "seriously_late" when it has been late for `SERIOUSLY_LATE_AFTER` more, then again each working day from
    `REPEAT_ALERT_AT` (Beijing time). Nothing on a day off, unless the case became seriously late that day.
    """
    if now < transfer_due_at:
        return None
    serious_from = transfer_due_at + SERIOUSLY_LATE_AFTER
    if now < serious_from:
        return TransferAlert("late", "transfer_alert")
    local = now.astimezone(LOCAL)
    today = local.date()
    if today != serious_from.astimezone(LOCAL).date():
        if not calendar.is_working_day(today) or local.time() < REPEAT_ALERT_AT:
            return None
    return TransferAlert("seriously_late", f"transfer_alert:serious:{today:%Y%m%d}")


def next_transfer_alert(transfer_due_at: dt.datetime, now: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
    """The first moment after `now` from which `transfer_alert` may name another key than at `now`."""
    serious_from = transfer_due_at + SERIOUSLY_LATE_AFTER
    for stage_from in (transfer_due_at, serious_from):
        if stage_from > now:
            return stage_from
    local = now.astimezone(LOCAL)
    day = local.date()
    if local.time() >= REPEAT_ALERT_AT or not calendar.is_working_day(day):
        day = calendar.add_working_days(day, 1)
    return dt.datetime.combine(day, REPEAT_ALERT_AT, tzinfo=LOCAL)
