"""What is due on a case a deputy follows: the loop's next promise and how near it is.

    已受理 ──────────────────► the station transfers it within 24 hours (late once that has passed)
    已转办 / 办理中 / 重新办理 ──► the department replies by the reply deadline (soon on its last day or the
                                 day before, late after it, seriously late after the overdue deadline)
    已答复 / 当场答复 ─────────► the citizen is asked to rate it
    final states ─────────────► nothing is due

Pure: the case's state and deadlines and `now` in, a `Due` out.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

from casework.cases import CaseState
from casework.deadlines import LOCAL
from casework.lifecycle import AWAITING_RATING, WITH_DEPARTMENT
from texts import deputy as texts

# The reply deadline is "near" from the day before it.
SOON = dt.timedelta(days=1)
TRANSFER_SOON = dt.timedelta(hours=2)


class Urgency(IntEnum):
    """How pressing a case is; a smaller value comes first in a list."""

    SERIOUSLY_LATE = 0
    LATE = 1
    SOON = 2
    ON_TIME = 3
    WAITING = 4


@dataclass(frozen=True)
class Due:
    urgency: Urgency
    what: str  # one line, in Chinese
    by: dt.datetime | None  # the deadline it refers to, if any

    @property
    def pressing(self) -> bool:
        return self.urgency <= Urgency.SOON

    @property
    def late(self) -> bool:
        return self.urgency <= Urgency.LATE


def case_due(
    state: CaseState,
    *,
    transfer_due_at: dt.datetime,
    reply_due_at: dt.datetime,
    overdue_at: dt.datetime,
    now: dt.datetime,
) -> Due | None:
    """What is due on a case in `state` with these deadlines at `now`; None when nothing is (a final state)."""
    if state is CaseState.RECEIVED:
        time = f"{transfer_due_at.astimezone(LOCAL):%m-%d %H:%M}"
        if now >= transfer_due_at:
            return Due(Urgency.LATE, texts.DUE_TRANSFER_LATE.format(time=time), transfer_due_at)
        urgency = Urgency.SOON if now >= transfer_due_at - TRANSFER_SOON else Urgency.ON_TIME
        return Due(urgency, texts.DUE_TRANSFER.format(time=time), transfer_due_at)
    if state in WITH_DEPARTMENT:
        day = f"{reply_due_at.astimezone(LOCAL):%m-%d}"
        if now > overdue_at:
            return Due(Urgency.SERIOUSLY_LATE, texts.DUE_REPLY_OVERDUE.format(day=day), reply_due_at)
        if now > reply_due_at:
            return Due(Urgency.LATE, texts.DUE_REPLY_LATE.format(day=day), reply_due_at)
        if reply_due_at.astimezone(LOCAL).date() - now.astimezone(LOCAL).date() <= SOON:
            return Due(Urgency.SOON, texts.DUE_REPLY_SOON.format(day=day), reply_due_at)
        return Due(Urgency.ON_TIME, texts.DUE_REPLY.format(day=day), reply_due_at)
    if state in AWAITING_RATING:
        return Due(Urgency.WAITING, texts.DUE_RATING, None)
    return None


def agenda_order(due: Due, received_at: dt.datetime) -> tuple[int, float, float]:
    """The sort key of a deputy's list: the most pressing first, then the nearest deadline, then the oldest."""
    by = due.by.timestamp() if due.by is not None else float("inf")
    return (int(due.urgency), by, received_at.timestamp())
