"""The desk's order of work: what a case needs at a given moment."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.worklist import TRANSFER_SOON, Need, WorkItem, due_at, need

NOW = dt.datetime(2026, 12, 31, 15, 50, tzinfo=dt.UTC)  # 23:50 on New Year's Eve in Beijing
LATER = NOW + dt.timedelta(days=3)


def item(state: str, transfer_due: dt.datetime = LATER, reply_due: dt.datetime = LATER, pending: bool = False):
    return WorkItem(state, transfer_due, reply_due, pending)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (item("received", transfer_due=NOW), Need.OVERDUE),  # due this very minute
        (item("received", transfer_due=NOW + TRANSFER_SOON), Need.TRANSFER_SOON),
        (item("received", transfer_due=NOW + TRANSFER_SOON + dt.timedelta(seconds=1)), Need.NONE),
        (item("in_progress", reply_due=NOW - dt.timedelta(minutes=1)), Need.OVERDUE),
        (item("in_progress", reply_due=NOW - dt.timedelta(minutes=1), pending=True), Need.OVERDUE),
        (item("in_progress", pending=True), Need.REVIEW),
        (item("rehandling", pending=True), Need.REVIEW),
        (item("rehandling"), Need.UNSATISFIED),
        (item("escalated", transfer_due=NOW - dt.timedelta(days=9)), Need.ESCALATED),
        (item("replied", reply_due=NOW - dt.timedelta(days=1)), Need.NONE),  # answered: nothing owed
        (item("closed", transfer_due=NOW - dt.timedelta(days=9)), Need.NONE),
    ],
)
def test_what_a_case_needs(case, expected):
    assert need(case, NOW) is expected


def test_the_deadline_worked_to():
    assert due_at(item("received", transfer_due=NOW)) == NOW
    assert due_at(item("transferred", reply_due=NOW)) == NOW
    assert due_at(item("replied")) is None


def test_every_need_has_a_chinese_label_and_none_is_silent():
    assert all(n.label for n in Need if n is not Need.NONE)
    assert Need.NONE.label == ""
