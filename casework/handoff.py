"""When a citizen asks for a person: by when staff promise to answer."""

from __future__ import annotations

import datetime as dt

from casework.deadlines import LOCAL
from casework.workdays import WorkingCalendar

OFFICE_OPENS = dt.time(9, 0)
OFFICE_CLOSES = dt.time(17, 30)
# Inside office hours staff answer within this; outside, by noon of the next working day.
WITHIN_HOURS = dt.timedelta(hours=2)


def human_answer_by(now: dt.datetime, calendar: WorkingCalendar) -> dt.datetime:
    local = now.astimezone(LOCAL)
    if calendar.is_working_day(local.date()) and OFFICE_OPENS <= local.time():
        promised = local + WITHIN_HOURS
        if promised.time() <= OFFICE_CLOSES and promised.date() == local.date():
            return promised
    day = local.date()
    if not (calendar.is_working_day(day) and local.time() < OFFICE_OPENS):
        day = calendar.add_working_days(day, 1)
    return dt.datetime.combine(day, dt.time(12, 0), tzinfo=LOCAL)
