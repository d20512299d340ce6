import datetime as dt
from dataclasses import replace

import pytest

from casework.cases import CaseState, Role
from casework.deadlines import LOCAL, case_deadlines
from casework.lifecycle import Action, CaseFacts, Command, SplitPart, decide, numbered_split
from casework.notices import (
    CITIZEN,
    DEPARTMENT,
    DEPUTY,
    STAFF,
    CaseView,
    after_transition,
    due,
    next_look,
    unrated_expired,
)
from casework.workdays import WorkingCalendar

CAL = WorkingCalendar()


def view(
    state: CaseState, *, received=dt.datetime(2026, 9, 28, 10, tzinfo=LOCAL), deputy=True, changed=None
) -> CaseView:
    return CaseView(
        id=7,
        number="LL20260928001",
        state=state,
        topic="城乡建设",
        department="区住房和城乡建设局",
        description="路灯坏了",
        place="幸福路",
        transfer_due_at=received + dt.timedelta(hours=24),
        reply_due_at=dt.datetime(2026, 10, 8, 23, 59, 59, tzinfo=LOCAL),
        overdue_at=dt.datetime(2026, 10, 10, 23, 59, 59, tzinfo=LOCAL),
        has_deputy=deputy,
        answered_at=changed or received,
    )


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LOCAL)


def kinds(notices):
    return sorted((n.kind, n.recipient) for n in notices)


def test_transfer_reminder_then_alert_to_staff():
    case = view(CaseState.RECEIVED)
    assert due(case, at(2026, 9, 28, 20), CAL, rated=False, rating_days=7) == []
    assert kinds(due(case, at(2026, 9, 29, 7), CAL, rated=False, rating_days=7)) == [("deadline_reminder", STAFF)]
    assert kinds(due(case, at(2026, 9, 29, 11), CAL, rated=False, rating_days=7)) == [("deadline_alert", STAFF)]


def test_reply_reminder_comes_on_the_working_day_before_across_national_day():
    case = view(CaseState.IN_PROGRESS)
    # Due Thursday 8 October; the working day before is 30 September (1-7 October are holidays).
    assert due(case, at(2026, 9, 29, 12), CAL, rated=False, rating_days=7) == []
    reminders = due(case, at(2026, 9, 30, 9), CAL, rated=False, rating_days=7)
    assert kinds(reminders) == [("deadline_reminder", DEPARTMENT), ("deadline_reminder", DEPUTY)]
    late = due(case, at(2026, 10, 9, 9), CAL, rated=False, rating_days=7)
    assert kinds(late) == [("deadline_alert", DEPARTMENT), ("deadline_alert", DEPUTY), ("deadline_alert", STAFF)]
    overdue = due(case, at(2026, 10, 12, 9), CAL, rated=False, rating_days=7)
    assert {n.dedupe_key.split(":")[2] for n in overdue} == {"overdue"}
    # The same reminder run twice is the same push (same key).
    assert [n.dedupe_key for n in reminders] == [
        n.dedupe_key for n in due(case, at(2026, 9, 30, 15), CAL, rated=False, rating_days=7)
    ]


def test_rating_reminder_once_then_closing_as_unrated_after_seven_days():
    replied = view(CaseState.REPLIED, changed=at(2026, 11, 2, 10))
    assert due(replied, at(2026, 11, 4, 10), CAL, rated=False, rating_days=7) == []
    assert kinds(due(replied, at(2026, 11, 5, 10), CAL, rated=False, rating_days=7)) == [("rating_reminder", CITIZEN)]
    assert due(replied, at(2026, 11, 5, 10), CAL, rated=True, rating_days=7) == []
    assert not unrated_expired(replied, at(2026, 11, 9, 9), rated=False, rating_days=7)
    assert unrated_expired(replied, at(2026, 11, 9, 10), rated=False, rating_days=7)
    assert not unrated_expired(replied, at(2026, 11, 20), rated=True, rating_days=7)


def test_who_hears_of_each_transition():
    facts = CaseFacts(CaseState.RECEIVED, "LL20260928001")
    transfer = decide(facts, Command(Action.TRANSFER, Role.STAFF, "staff1", reason="请核实"))
    notices = after_transition(view(CaseState.TRANSFERRED), transfer, event_id=3)
    assert kinds(notices) == [("case_status", CITIZEN), ("case_status", DEPARTMENT), ("case_status", DEPUTY)]
    assert "【转办】" in next(n.text for n in notices if n.recipient == DEPARTMENT)

    pending = CaseFacts(CaseState.IN_PROGRESS, "LL20260928001", pending_reply=True)
    approve = decide(pending, Command(Action.APPROVE_REPLY, Role.STAFF, "staff1"))
    reply = next(n for n in after_transition(view(CaseState.REPLIED), approve, 4, "已修复") if n.recipient == CITIZEN)
    assert reply.kind == "reply_ready" and "已修复" in reply.text and reply.buttons == ("满意", "基本满意", "不满意")

    second = CaseFacts(CaseState.REPLIED, "LL20260928001", replies_approved=2, unsatisfied_ratings=1)
    escalate = decide(second, Command(Action.RATE, Role.CITIZEN, "web:u1", rating="不满意", reason="还是不亮"))
    assert ("case_status", STAFF) in kinds(after_transition(view(CaseState.ESCALATED, deputy=False), escalate, 5))


def test_a_case_left_received_is_alerted_until_transferred_late_then_seriously_late_each_working_day():
    case = view(CaseState.RECEIVED, deputy=True)  # received Monday 28 September 10:00, due to transfer by 29th 10:00

    def alerts(moment):
        return [n for n in due(case, moment, CAL, rated=False, rating_days=7) if n.kind == "deadline_alert"]

    late = alerts(at(2026, 9, 29, 11))
    assert [(n.recipient, n.dedupe_key) for n in late] == [(STAFF, "case:7:transfer_alert")]
    assert "超过24小时" in late[0].text
    assert [n.dedupe_key for n in alerts(at(2026, 9, 30, 9, 59))] == ["case:7:transfer_alert"]  # the same push
    serious = alerts(at(2026, 9, 30, 10))
    assert kinds(serious) == [("deadline_alert", DEPUTY), ("deadline_alert", STAFF)]
    assert {n.dedupe_key for n in serious} == {
        "case:7:transfer_alert:serious:20260930:staff",
        "case:7:transfer_alert:serious:20260930:deputy",
    }
    assert "【严重超时】" in serious[0].text and "09-29 10:00" in serious[0].text and "24 小时" in serious[0].text
    # Later that day: the same alert (same key); during the National Day holiday: nothing.
    assert {n.dedupe_key for n in alerts(at(2026, 9, 30, 18))} == {n.dedupe_key for n in serious}
    assert alerts(at(2026, 10, 3, 10)) == []
    # The next working day, from 9:00: again, under the day's key.
    assert alerts(at(2026, 10, 9, 8)) == []
    again = alerts(at(2026, 10, 9, 9))
    assert {n.dedupe_key for n in again} == {
        "case:7:transfer_alert:serious:20261009:staff",
        "case:7:transfer_alert:serious:20261009:deputy",
    }
    # Transferred: no transfer alert any more.
    transferred = view(CaseState.TRANSFERRED)
    assert not [n for n in due(transferred, at(2026, 10, 9, 9), CAL, rated=False, rating_days=7) if "转办" in n.text]


def test_the_committees_follow_up_reaches_the_citizen_the_followers_and_the_deputy():
    escalated = CaseFacts(CaseState.ESCALATED, "LL20260928001", unsatisfied_ratings=2)
    met = decide(
        escalated,
        Command(Action.RECORD_COMMITTEE_ACTION, Role.STAFF, "staff1", kind="询问", reason="区住建局答复本月内修复"),
    )
    notices = after_transition(view(CaseState.ESCALATED), met, event_id=9)
    assert kinds(notices) == [("case_status", CITIZEN), ("case_status", DEPUTY)]
    told = notices[0]
    assert told.text == (
        "您反映的问题（编号 LL20260928001）有了新进展：人大常委会就此事向承办部门提出了询问。\n"
        "结果：区住建局答复本月内修复\n后续进展我们会继续告诉您。"
    )
    assert told.follower_text and told.follower_text.startswith("您关注的案件 LL20260928001 有了新进展")
    closed = decide(
        CaseFacts(CaseState.ESCALATED, "LL20260928001", committee_actions=1),
        Command(Action.CLOSE, Role.STAFF, "staff1"),
    )
    closing = after_transition(view(CaseState.CLOSED, deputy=False), closed, event_id=10)
    assert [n.text for n in closing] == [
        "您反映的问题（编号 LL20260928001）已办结：人大常委会跟进后办结。感谢您的参与！"
    ]


def test_a_split_tells_the_citizen_the_new_numbers_and_a_send_back_its_reason_to_the_department():
    parts = (SplitPart("幸福路路灯不亮", "城乡建设"), SplitPart("路口红绿灯坏了两天", "交通运输"))
    split = decide(
        CaseFacts(CaseState.TRANSFERRED, "LL20260928001"), Command(Action.SPLIT, Role.STAFF, "s", parts=parts)
    )
    split = numbered_split(split, ["LL20260929001", "LL20260929002"])
    notices = after_transition(view(CaseState.CLOSED, deputy=False), split, event_id=11)
    assert kinds(notices) == [("case_status", CITIZEN), ("case_status", DEPARTMENT)]
    assert (
        "· LL20260929001（城乡建设）：幸福路路灯不亮\n· LL20260929002（交通运输）：路口红绿灯坏了两天"
        in notices[0].text
    )
    assert "已拆分为2件" in notices[0].text

    pending = CaseFacts(CaseState.IN_PROGRESS, "LL20260928001", pending_reply=True, pending_reply_by="jianshe")
    back = decide(pending, Command(Action.SEND_BACK_REPLY, Role.STAFF, "staff1", reason="请写明维修的具体路段"))
    to_department = [n for n in after_transition(view(CaseState.IN_PROGRESS), back, 12) if n.recipient == DEPARTMENT]
    assert [n.text for n in to_department] == [
        "【退回】案件 LL20260928001 的答复被退回，请修改后重新提交（10月8日 前答复）。\n退回原因：请写明维修的具体路段"
    ]


def test_an_assignment_to_another_department_tells_both_departments():
    facts = CaseFacts(CaseState.IN_PROGRESS, "LL20260928001", topic="城乡建设", department="区住房和城乡建设局")
    move = decide(facts, Command(Action.ASSIGN, Role.STAFF, "staff1", topic="交通运输", department="区交通运输局"))
    moved = replace(view(CaseState.IN_PROGRESS, deputy=False), topic="交通运输", department="区交通运输局")
    notices = after_transition(moved, move, 13, former_department_id=3)
    departments = [n for n in notices if n.recipient == DEPARTMENT]
    assert [(n.department_id, n.text.split("\n")[0]) for n in departments] == [
        (None, "【改派】案件 LL20260928001（交通运输）改由贵单位办理，10月8日 前答复。"),
        (3, "【改派】案件 LL20260928001 已改由区交通运输局办理，贵单位无需再办理。"),
    ]
    # Only the topic changed: the department holding it is told, nobody else.
    retopic = decide(facts, Command(Action.ASSIGN, Role.STAFF, "staff1", topic="交通运输"))
    only = [n for n in after_transition(moved, retopic, 14, former_department_id=None) if n.recipient == DEPARTMENT]
    assert len(only) == 1 and only[0].text.startswith(
        "案件 LL20260928001：调整案件分类或承办部门：类别 城乡建设 → 交通运输"
    )


def test_next_look_follows_a_received_case_through_its_transfer_alerts():
    case = view(CaseState.RECEIVED)  # received Monday 28 September 10:00, transfer due Tuesday 10:00
    look = [at(2026, 9, 28, 10)]
    while len(look) < 5:
        look.append(next_look(case, look[-1], CAL, rated=False, rating_days=7))
    assert look[1:] == [
        at(2026, 9, 29, 6),  # the reminder, 4 hours before
        at(2026, 9, 29, 10),  # late
        at(2026, 9, 30, 10),  # seriously late
        at(2026, 10, 1, 10),  # no alert on National Day, but a day later at the latest (the calendar may change)
    ]
    # Each working day from 9:00: the last day off, then Saturday 10 October, a working day made up for them.
    assert next_look(case, at(2026, 10, 7, 12), CAL, rated=False, rating_days=7) == at(2026, 10, 8, 9)
    assert next_look(case, at(2026, 10, 9, 9), CAL, rated=False, rating_days=7) == at(2026, 10, 10, 9)
    assert next_look(case, at(2026, 10, 10, 8), CAL, rated=False, rating_days=7) == at(2026, 10, 10, 9)


def test_next_look_ends_when_nothing_more_can_come():
    case = view(CaseState.IN_PROGRESS)
    assert next_look(case, at(2026, 9, 29, 12), CAL, rated=False, rating_days=7) == at(2026, 9, 30)
    # From 30 September a day at a time (the calendar may change), then just after the reply deadline.
    assert next_look(case, at(2026, 10, 8, 1), CAL, rated=False, rating_days=7) == at(2026, 10, 8, 23, 59, 59, 1)
    assert next_look(case, at(2026, 10, 11, 12), CAL, rated=False, rating_days=7) is None
    assert next_look(view(CaseState.REPLIED), at(2026, 9, 29), CAL, rated=True, rating_days=7) is None
    assert next_look(view(CaseState.CLOSED), at(2026, 9, 29), CAL, rated=False, rating_days=7) is None


def test_an_answer_left_unrated_past_its_time_is_looked_at_until_it_is_closed():
    case = view(CaseState.REPLIED)
    late = at(2026, 10, 6, 11)
    assert unrated_expired(case, late, rated=False, rating_days=7)
    assert next_look(case, late, CAL, rated=False, rating_days=7) == late


STARTS = [
    at(2026, 9, 28, 10),  # before National Day
    at(2026, 12, 30, 17, 30),  # the year's end
    at(2027, 2, 4, 16),  # before the Spring Festival
    at(2026, 11, 27, 23, 50),  # a Friday night
    at(2026, 11, 29, 3),  # a Sunday
]


@pytest.mark.parametrize("start", STARTS, ids=[f"{s:%Y%m%d%H%M}" for s in STARTS])
@pytest.mark.parametrize(
    ("state", "rated", "deputy"),
    [
        (CaseState.RECEIVED, False, True),
        (CaseState.RECEIVED, False, False),
        (CaseState.TRANSFERRED, False, True),
        (CaseState.IN_PROGRESS, False, False),
        (CaseState.REHANDLING, False, True),
        (CaseState.REPLIED, False, True),
        (CaseState.ANSWERED_ON_SPOT, True, False),
        (CaseState.ESCALATED, False, True),
    ],
)
def test_between_two_looks_no_notice_falls_due_that_was_not_due_at_the_first(start, state, rated, deputy):
    """Walk 40 days look by look; every 10 minutes in between (and just before each look), `due` names only
    keys already named at a look, and an answer does not run out of time unseen."""
    deadlines = case_deadlines(start, CAL, transfer_hours=24, reply_working_days=3, overdue_working_days=5)
    case = replace(view(state, received=start, deputy=deputy), **vars(deadlines))
    end = start + dt.timedelta(days=40)
    named: set[str] = set()
    looked = start
    while looked < end:
        named |= {n.dedupe_key for n in due(case, looked, CAL, rated=rated, rating_days=7)}
        expired = unrated_expired(case, looked, rated=rated, rating_days=7)
        following = next_look(case, looked, CAL, rated=rated, rating_days=7) or end
        if expired:
            assert following == looked
            break
        assert following > looked
        moment = looked
        while moment < min(following, end):
            moment = min(moment + dt.timedelta(minutes=10), following - dt.timedelta(microseconds=1))
            unseen = {n.dedupe_key for n in due(case, moment, CAL, rated=rated, rating_days=7)} - named
            assert not unseen, f"{unseen} due at {moment}, next look at {following}"
            assert not unrated_expired(case, moment, rated=rated, rating_days=7), f"expired unseen at {moment}"
            if moment == following - dt.timedelta(microseconds=1):
                break
        looked = following
