import datetime as dt

import pytest

from casework.agenda import Urgency, agenda_order, case_due
from casework.cases import CaseState
from casework.deadlines import LOCAL

RECEIVED = dt.datetime(2026, 11, 23, 10, 0, tzinfo=LOCAL)  # a Monday
DEADLINES = {
    "transfer_due_at": RECEIVED + dt.timedelta(hours=24),
    "reply_due_at": dt.datetime(2026, 11, 26, 23, 59, 59, tzinfo=LOCAL),  # Thursday
    "overdue_at": dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=LOCAL),
}


def due(state, at):
    return case_due(state, now=at, **DEADLINES)


def test_a_received_case_is_due_for_transfer_within_24_hours():
    assert due(CaseState.RECEIVED, RECEIVED).urgency is Urgency.ON_TIME
    soon = due(CaseState.RECEIVED, RECEIVED + dt.timedelta(hours=22, minutes=30))
    assert soon.urgency is Urgency.SOON and soon.what == "待联络站转办，11-24 10:00 前"
    late = due(CaseState.RECEIVED, RECEIVED + dt.timedelta(hours=24))
    assert late.urgency is Urgency.LATE and late.late and "已超时" in late.what


@pytest.mark.parametrize("state", [CaseState.TRANSFERRED, CaseState.IN_PROGRESS, CaseState.REHANDLING])
def test_a_case_with_the_department_is_due_by_its_reply_deadline(state):
    assert due(state, RECEIVED).what == "11-26 前答复"
    assert due(state, RECEIVED).urgency is Urgency.ON_TIME
    assert due(state, dt.datetime(2026, 11, 25, 8, 0, tzinfo=LOCAL)).urgency is Urgency.SOON
    assert due(state, dt.datetime(2026, 11, 26, 23, 0, tzinfo=LOCAL)).pressing
    late = due(state, dt.datetime(2026, 11, 27, 0, 0, tzinfo=LOCAL))
    assert late.urgency is Urgency.LATE and late.what == "已超期（应于 11-26 前答复）"
    worse = due(state, dt.datetime(2026, 12, 1, 0, 0, tzinfo=LOCAL))
    assert worse.urgency is Urgency.SERIOUSLY_LATE and worse.what.startswith("严重超期")


def test_an_answered_case_waits_for_the_rating_and_a_final_one_for_nothing():
    assert due(CaseState.REPLIED, RECEIVED).urgency is Urgency.WAITING
    assert not due(CaseState.ANSWERED_ON_SPOT, RECEIVED).pressing
    for state in (CaseState.CLOSED, CaseState.ESCALATED, CaseState.REJECTED, CaseState.WITHDRAWN):
        assert due(state, RECEIVED) is None


def test_the_most_pressing_case_comes_first_then_the_nearest_deadline():
    at = dt.datetime(2026, 11, 27, 9, 0, tzinfo=LOCAL)
    late = due(CaseState.IN_PROGRESS, at)
    waiting = due(CaseState.REPLIED, at)
    fresh = case_due(
        CaseState.TRANSFERRED,
        now=at,
        transfer_due_at=at,
        reply_due_at=at + dt.timedelta(days=5),
        overdue_at=at + dt.timedelta(days=9),
    )
    ordered = sorted([waiting, fresh, late], key=lambda d: agenda_order(d, RECEIVED))
    assert ordered == [late, fresh, waiting]
