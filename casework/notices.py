"""Who must be told what, and when: the pushes that follow a change of a case or a deadline.

Pure decisions: they name recipients by kind (the case's citizen, its department, the staff, the
deputy following it) and a de-duplication key; `services.pushes` finds the addresses and queues them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from casework.cases import STATE_LABELS, CaseState
from casework.deadlines import LOCAL, next_transfer_alert, transfer_alert
from casework.lifecycle import (
    AWAITING_RATING,
    NOTIFY_DEPARTMENT,
    NOTIFY_STAFF,
    RATING_REQUESTED,
    WITH_DEPARTMENT,
    Action,
    Transition,
)
from casework.workdays import WorkingCalendar
from texts import citizen, deputy, staff

CITIZEN, DEPARTMENT, STAFF, DEPUTY = "citizen", "department", "staff", "deputy"
RATING_BUTTONS = citizen.RATING_BUTTONS
# Reminders come this long before a deadline; the rating reminder this long after the reply.
TRANSFER_REMINDER_BEFORE = dt.timedelta(hours=4)
RATING_REMINDER_AFTER = dt.timedelta(days=3)
# The deadline scan looks at a case that may still get a notice at least this often, so that a change of the
# working calendar or of the rating period reaches every case within a day.
LOOK_AGAIN_WITHIN = dt.timedelta(days=1)
# "Late" and "overdue" are due once their moment has passed, from the moment just after it.
_JUST_AFTER = dt.timedelta(microseconds=1)


@dataclass(frozen=True)
class CaseView:
    """What notices need to know of a case."""

    id: int
    number: str
    state: CaseState
    topic: str
    department: str
    description: str
    place: str
    reply_due_at: dt.datetime
    overdue_at: dt.datetime
    transfer_due_at: dt.datetime
    has_deputy: bool
    # When the answer awaiting a rating went out: the rating reminder and the 7 days count from it.
    answered_at: dt.datetime


@dataclass(frozen=True)
class Notice:
    kind: str
    recipient: str  # CITIZEN | DEPARTMENT | STAFF | DEPUTY
    text: str
    dedupe_key: str
    buttons: tuple[str, ...] = ()
    # What citizens following someone else's case get instead (they cannot rate it), if it differs.
    follower_text: str | None = None
    # A DEPARTMENT notice for another department than the case's (the one an assignment took it from).
    department_id: int | None = None


def _day(moment: dt.datetime) -> str:
    local = moment.astimezone(LOCAL)
    return staff.NOTICE_DAY.format(month=local.month, day=local.day)


def _brief(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def after_transition(
    case: CaseView,
    transition: Transition,
    event_id: int,
    reply_text: str = "",
    *,
    former_department_id: int | None = None,
) -> list[Notice]:
    """The pushes a recorded transition calls for; `reply_text` is the approved reply or on-the-spot answer.
    `former_department_id`: the department an assignment took the case from (told it no longer holds it)."""
    key = f"case:{case.id}:event:{event_id}"
    notices: list[Notice] = []
    action, effects = transition.action, transition.effects
    if RATING_REQUESTED in effects:
        head = citizen.NOTICE_ON_SPOT_HEAD if action is Action.ANSWER_ON_SPOT else citizen.NOTICE_REPLY_HEAD
        notices.append(
            Notice(
                "reply_ready",
                CITIZEN,
                citizen.NOTICE_REPLY_READY.format(head=head, number=case.number, reply=reply_text),
                f"{key}:citizen",
                RATING_BUTTONS,
                follower_text=citizen.NOTICE_REPLY_TO_FOLLOWER.format(number=case.number, reply=reply_text),
            )
        )
    elif action is Action.RECORD_COMMITTEE_ACTION:
        notices.append(_committee_notice(case, transition, f"{key}:citizen"))
    elif action is Action.SPLIT:
        notices.append(_split_notice(case, transition, f"{key}:citizen"))
    elif transition.from_state != transition.to_state and action not in (Action.RATE, Action.WITHDRAW):
        notices.append(Notice("case_status", CITIZEN, _status_text(case, transition), f"{key}:citizen"))
    if NOTIFY_DEPARTMENT in effects:
        notices.append(Notice("case_status", DEPARTMENT, _department_text(case, transition), f"{key}:department"))
    if (
        former_department_id is not None
        and _department_changed(transition)
        and transition.from_state in WITH_DEPARTMENT
    ):
        notices.append(
            Notice(
                "case_status",
                DEPARTMENT,
                staff.NOTICE_REASSIGNED_AWAY.format(number=case.number, department=case.department),
                f"{key}:former_department",
                department_id=former_department_id,
            )
        )
    if NOTIFY_STAFF in effects:
        notices.append(Notice("case_status", STAFF, _staff_text(case, transition), f"{key}:staff"))
    if case.has_deputy and (transition.from_state != transition.to_state or action is Action.RECORD_COMMITTEE_ACTION):
        notices.append(
            Notice(
                "case_status",
                DEPUTY,
                deputy.NOTICE_FOLLOWED_CASE.format(
                    number=case.number,
                    description=_brief(case.description, 30),
                    from_state=STATE_LABELS[transition.from_state],
                    to_state=STATE_LABELS[transition.to_state],
                    reason=transition.reason,
                ),
                f"{key}:deputy",
            )
        )
    return notices


def _department_changed(transition: Transition) -> bool:
    """An assignment that moved the case to another department."""
    moved = transition.detail.get("department", {})
    return transition.action is Action.ASSIGN and moved.get("from") != moved.get("to")


def _committee_notice(case: CaseView, transition: Transition, key: str) -> Notice:
    """The citizen (and those following the case) hear what the standing committee did and what came of it."""
    done = citizen.COMMITTEE_DONE[transition.kind or ""]
    outcome = str(transition.detail.get("outcome", ""))
    return Notice(
        "case_status",
        CITIZEN,
        citizen.NOTICE_COMMITTEE_ACTION.format(number=case.number, done=done, outcome=outcome),
        key,
        follower_text=citizen.NOTICE_COMMITTEE_ACTION_TO_FOLLOWER.format(
            number=case.number, done=done, outcome=outcome
        ),
    )


def _split_notice(case: CaseView, transition: Transition, key: str) -> Notice:
    """The citizen is told the numbers of the new cases their report was split into, one line each."""
    lines = "\n".join(
        citizen.NOTICE_SPLIT_LINE.format(number=number, topic=part.topic, summary=_brief(part.description, 40))
        for number, part in zip(transition.split_into, transition.parts, strict=True)
    )
    count = len(transition.parts)
    return Notice(
        "case_status",
        CITIZEN,
        citizen.NOTICE_SPLIT.format(number=case.number, count=count, lines=lines),
        key,
        follower_text=citizen.NOTICE_SPLIT_TO_FOLLOWER.format(number=case.number, count=count, lines=lines),
    )


def person_requested(request_id: int, who: str, answer_by: dt.datetime, recent: list[str]) -> Notice:
    """A citizen asked for a person: the staff are told, with the promised time and what was said."""
    said = "\n".join(f"· {_brief(text, 80)}" for text in recent if text.strip())
    local = answer_by.astimezone(LOCAL)
    return Notice(
        "human_request",
        STAFF,
        staff.NOTICE_PERSON_REQUESTED.format(
            who=who,
            said=said,
            answer_by=staff.NOTICE_DAY_TIME.format(month=local.month, day=local.day, time=f"{local:%H:%M}"),
        ),
        f"human:{request_id}",
    )


def person_request_due(request_id: int, who: str, answer_by: dt.datetime, missed: bool) -> Notice:
    """A promise to answer a citizen in person is about to be missed, or was missed: the staff are told."""
    local = answer_by.astimezone(LOCAL)
    when = staff.NOTICE_DAY_TIME.format(month=local.month, day=local.day, time=f"{local:%H:%M}")
    text = (staff.NOTICE_PERSON_MISSED if missed else staff.NOTICE_PERSON_DUE_SOON).format(who=who, answer_by=when)
    return Notice("human_request", STAFF, text, f"human:{request_id}:{'missed' if missed else 'due-soon'}")


def similar_found(case: CaseView, similar: list[str]) -> Notice:
    """Tell the staff that a new case looks like open ones, so a recurring problem is seen as one."""
    return Notice(
        "common_problem",
        STAFF,
        staff.NOTICE_SIMILAR.format(number=case.number, topic=case.topic, place=case.place, similar="、".join(similar)),
        f"case:{case.id}:similar",
    )


def _status_text(case: CaseView, transition: Transition) -> str:
    to, number = transition.to_state, case.number
    if to is CaseState.TRANSFERRED:
        return citizen.NOTICE_TRANSFERRED.format(
            number=number, department=case.department, reply_due=_day(case.reply_due_at)
        )
    if to is CaseState.IN_PROGRESS:
        return citizen.NOTICE_IN_PROGRESS.format(number=number, department=case.department)
    if to is CaseState.ESCALATED:
        return citizen.NOTICE_ESCALATED.format(number=number)
    why = _why(transition.reason)
    if to is CaseState.REJECTED:
        return citizen.NOTICE_REJECTED.format(number=number, why=why)
    if transition.action is Action.CLOSE_UNRATED:
        return citizen.NOTICE_CLOSED_UNRATED.format(number=number)
    if transition.action is Action.MERGE:
        return citizen.NOTICE_MERGED.format(number=number, merged_into=transition.merged_into)
    if to is CaseState.CLOSED:
        return citizen.NOTICE_CLOSED.format(number=number, why=citizen.NOTICE_CLOSED_WHY.format(why=why) if why else "")
    return citizen.NOTICE_STATE.format(number=number, state=STATE_LABELS[to])


def _department_text(case: CaseView, transition: Transition) -> str:
    number, reason = case.number, transition.reason
    if transition.action is Action.TRANSFER:
        return staff.NOTICE_TRANSFER.format(
            number=number,
            topic=case.topic,
            reply_due=_day(case.reply_due_at),
            description=_brief(case.description, 200),
            place=case.place,
            reason=reason,
        )
    if transition.to_state is CaseState.REHANDLING:
        return staff.NOTICE_REHANDLING.format(number=number, reply_due=_day(case.reply_due_at), reason=reason)
    if transition.action is Action.ADD_INFO:
        return staff.NOTICE_ADDED_INFO.format(number=number, reason=reason)
    if transition.action is Action.SEND_BACK_REPLY:
        return staff.NOTICE_SENT_BACK.format(number=number, why=_why(reason), reply_due=_day(case.reply_due_at))
    if _department_changed(transition):
        return staff.NOTICE_REASSIGNED_TO.format(
            number=number,
            topic=case.topic,
            reply_due=_day(case.reply_due_at),
            description=_brief(case.description, 200),
            place=case.place,
            reason=reason,
        )
    return staff.NOTICE_CASE.format(number=number, reason=reason)


def _why(reason: str) -> str:
    """The words after the event's label ("不予受理：不属于…" → "不属于…"), without a final full stop."""
    label, _, rest = reason.partition("：")
    return (rest or ("" if label in (staff.EVENT_CLOSED,) else label)).rstrip("。")


def _staff_text(case: CaseView, transition: Transition) -> str:
    if transition.to_state is CaseState.ESCALATED:
        return staff.NOTICE_ESCALATED.format(number=case.number, reason=transition.reason)
    return staff.NOTICE_CASE.format(number=case.number, reason=transition.reason)


def due(case: CaseView, now: dt.datetime, calendar: WorkingCalendar, *, rated: bool, rating_days: int) -> list[Notice]:
    """Reminders and alerts that are due for an open case at `now` (each at most once, by its key)."""
    notices: list[Notice] = []
    key = f"case:{case.id}"
    state = case.state
    if state is CaseState.RECEIVED:
        alert = transfer_alert(case.transfer_due_at, now, calendar)
        if alert is not None and alert.stage == "late":
            text = staff.NOTICE_TRANSFER_LATE.format(number=case.number)
            notices.append(Notice("deadline_alert", STAFF, text, f"{key}:{alert.key}"))
        elif alert is not None:
            text = staff.NOTICE_TRANSFER_SERIOUSLY_LATE.format(
                number=case.number,
                transfer_due=f"{case.transfer_due_at.astimezone(LOCAL):%m-%d %H:%M}",
                hours=int((now - case.transfer_due_at).total_seconds() // 3600),
            )
            notices += [
                Notice("deadline_alert", who, text, f"{key}:{alert.key}:{who}")
                for who in (STAFF,) + ((DEPUTY,) if case.has_deputy else ())
            ]
        elif now >= case.transfer_due_at - TRANSFER_REMINDER_BEFORE:
            transfer_due = f"{case.transfer_due_at.astimezone(LOCAL):%m-%d %H:%M}"
            notices.append(
                Notice(
                    "deadline_reminder",
                    STAFF,
                    staff.NOTICE_TRANSFER_SOON.format(number=case.number, transfer_due=transfer_due),
                    f"{key}:transfer_reminder",
                )
            )
    if state in (CaseState.TRANSFERRED, CaseState.IN_PROGRESS, CaseState.REHANDLING):
        due_day = case.reply_due_at.astimezone(LOCAL).date()
        stamp = f"{due_day:%Y%m%d}"
        local_today = now.astimezone(LOCAL).date()
        if now > case.overdue_at:
            text = staff.NOTICE_SERIOUSLY_OVERDUE.format(number=case.number)
            notices += [
                Notice("deadline_alert", who, text, f"{key}:overdue:{stamp}:{who}")
                for who in (DEPARTMENT, STAFF) + ((DEPUTY,) if case.has_deputy else ())
            ]
        elif now > case.reply_due_at:
            text = staff.NOTICE_OVERDUE.format(number=case.number, reply_due=_day(case.reply_due_at))
            notices += [
                Notice("deadline_alert", who, text, f"{key}:late:{stamp}:{who}")
                for who in (DEPARTMENT, STAFF) + ((DEPUTY,) if case.has_deputy else ())
            ]
        elif local_today >= _previous_working_day(due_day, calendar):
            text = staff.NOTICE_REPLY_SOON.format(number=case.number, reply_due=_day(case.reply_due_at))
            notices += [
                Notice("deadline_reminder", who, text, f"{key}:reminder:{stamp}:{who}")
                for who in (DEPARTMENT,) + ((DEPUTY,) if case.has_deputy else ())
            ]
    if state in AWAITING_RATING and not rated and now < case.answered_at + dt.timedelta(days=rating_days):
        if now >= case.answered_at + RATING_REMINDER_AFTER:
            deadline = _day(case.answered_at + dt.timedelta(days=rating_days))
            notices.append(
                Notice(
                    "rating_reminder",
                    CITIZEN,
                    citizen.NOTICE_RATING_REMINDER.format(number=case.number, deadline=deadline),
                    f"{key}:rating_reminder:{case.answered_at:%Y%m%d%H%M}",
                    RATING_BUTTONS,
                )
            )
    return notices


def unrated_expired(case: CaseView, now: dt.datetime, *, rated: bool, rating_days: int) -> bool:
    """The answer waited `rating_days` without a rating: close as unrated (never as satisfied)."""
    return case.state in AWAITING_RATING and not rated and now >= case.answered_at + dt.timedelta(days=rating_days)


def next_look(
    case: CaseView, now: dt.datetime, calendar: WorkingCalendar, *, rated: bool, rating_days: int
) -> dt.datetime | None:
    """When the deadline scan must look at an open case again after looking at `now`: the first moment from
    which `due` may name a notice it does not name at `now`, or `unrated_expired` turn true (a day later at the
    latest). None when nothing can come until the case changes; every change has the scan look again."""
    moments: list[dt.datetime] = []
    if case.state is CaseState.RECEIVED:
        moments += [
            case.transfer_due_at - TRANSFER_REMINDER_BEFORE,
            next_transfer_alert(case.transfer_due_at, now, calendar),
        ]
    if case.state in (CaseState.TRANSFERRED, CaseState.IN_PROGRESS, CaseState.REHANDLING):
        reminder_day = _previous_working_day(case.reply_due_at.astimezone(LOCAL).date(), calendar)
        moments += [
            dt.datetime.combine(reminder_day, dt.time(), tzinfo=LOCAL),
            case.reply_due_at + _JUST_AFTER,
            case.overdue_at + _JUST_AFTER,
        ]
    if case.state in AWAITING_RATING and not rated:
        expires = case.answered_at + dt.timedelta(days=rating_days)
        if now >= expires:
            return now  # to be closed as unrated: every scan looks at it until it is
        moments += [case.answered_at + RATING_REMINDER_AFTER, expires]
    coming = [moment for moment in moments if moment > now]
    return min(*coming, now + LOOK_AGAIN_WITHIN) if coming else None


def _previous_working_day(day: dt.date, calendar: WorkingCalendar) -> dt.date:
    current = day - dt.timedelta(days=1)
    while not calendar.is_working_day(current):
        current -= dt.timedelta(days=1)
    return current
