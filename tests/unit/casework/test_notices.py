import datetime as dt

from casework.cases import CaseState, Role
from casework.deadlines import LOCAL
from casework.lifecycle import Action, CaseFacts, Command, decide
from casework.notices import CITIZEN, DEPARTMENT, DEPUTY, STAFF, CaseView, after_transition, due, unrated_expired
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
