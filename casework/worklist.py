"""The desk's order of work: what a case needs now, most pressing first. Plain data in, a `Need` out; `now` is
passed in.

The console's worklist sorts by the same rule in SQL (`services.casedesk.need_column`); a test holds the two to
each other.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import IntEnum

from casework.cases import CaseState
from texts import staff as texts

# A case not yet transferred is flagged this long before its 24-hour transfer deadline.
TRANSFER_SOON = dt.timedelta(hours=2)
# The states in which the department holds the case and owes the citizen an answer by `reply_due_at`.
OWING_REPLY = (CaseState.TRANSFERRED, CaseState.IN_PROGRESS, CaseState.REHANDLING)


class Need(IntEnum):
    """What a case needs from the desk, in the order the desk takes them (lower first)."""

    OVERDUE = 0  # past its transfer or reply deadline
    TRANSFER_SOON = 1  # to transfer within TRANSFER_SOON
    REVIEW = 2  # a reply waits for review
    UNSATISFIED = 3  # rated 不满意, being handled again
    ESCALATED = 4  # escalated: the standing committee's follow-up is to be recorded
    NONE = 9  # nothing for the desk now

    @property
    def label(self) -> str:
        return texts.CASE_NEED_LABELS[self.name.lower()]


@dataclass(frozen=True)
class WorkItem:
    """What the rule reads of a case."""

    state: str
    transfer_due_at: dt.datetime
    reply_due_at: dt.datetime
    reply_pending: bool  # a recorded reply waits for review


def need(item: WorkItem, now: dt.datetime) -> Need:
    """The most pressing thing `item` needs at `now`."""
    state = CaseState(item.state)
    if state is CaseState.RECEIVED and item.transfer_due_at <= now:
        return Need.OVERDUE
    if state in OWING_REPLY and item.reply_due_at <= now:
        return Need.OVERDUE
    if state is CaseState.RECEIVED and item.transfer_due_at <= now + TRANSFER_SOON:
        return Need.TRANSFER_SOON
    if item.reply_pending:
        return Need.REVIEW
    if state is CaseState.REHANDLING:
        return Need.UNSATISFIED
    if state is CaseState.ESCALATED:
        return Need.ESCALATED
    return Need.NONE


def due_at(item: WorkItem) -> dt.datetime | None:
    """The deadline the desk is working to: the transfer deadline until transferred, then the reply's; none once
    the department no longer owes an answer."""
    state = CaseState(item.state)
    if state is CaseState.RECEIVED:
        return item.transfer_due_at
    if state in OWING_REPLY:
        return item.reply_due_at
    return None
