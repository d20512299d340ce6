"""Who must be told what, and when: the pushes that follow a change of a case or a deadline.

Pure decisions: they name recipients by kind (the case's citizen, its department, the staff, the
deputy following it) and a de-duplication key; `services.pushes` finds the addresses and queues them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from casework.cases import STATE_LABELS, CaseState
from casework.deadlines import LOCAL
from casework.lifecycle import (
    AWAITING_RATING,
    NOTIFY_DEPARTMENT,
    NOTIFY_STAFF,
    RATING_REQUESTED,
    Action,
    Transition,
)
from casework.workdays import WorkingCalendar

CITIZEN, DEPARTMENT, STAFF, DEPUTY = "citizen", "department", "staff", "deputy"
RATING_BUTTONS = ("满意", "基本满意", "不满意")
# Reminders come this long before a deadline; the rating reminder this long after the reply.
TRANSFER_REMINDER_BEFORE = dt.timedelta(hours=4)
RATING_REMINDER_AFTER = dt.timedelta(days=3)


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


def _day(moment: dt.datetime) -> str:
    local = moment.astimezone(LOCAL)
    return f"{local.month}月{local.day}日"


def _brief(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def after_transition(case: CaseView, transition: Transition, event_id: int, reply_text: str = "") -> list[Notice]:
    """The pushes a recorded transition calls for; `reply_text` is the approved reply or on-the-spot answer."""
    key = f"case:{case.id}:event:{event_id}"
    notices: list[Notice] = []
    action, effects = transition.action, transition.effects
    if RATING_REQUESTED in effects:
        head = "代表当场答复了您反映的问题" if action is Action.ANSWER_ON_SPOT else "您反映的问题有了答复"
        notices.append(Notice("reply_ready", CITIZEN,
                              f"{head}（编号 {case.number}）：\n{reply_text}\n\n您对这次答复满意吗？请回复“满意”“基本满意”"
                              f"或“不满意”，也可以在后面写上您的意见。", f"{key}:citizen", RATING_BUTTONS,
                              follower_text=f"您关注的案件 {case.number} 有了答复：\n{reply_text}"))
    elif transition.from_state != transition.to_state and action not in (Action.RATE, Action.WITHDRAW):
        notices.append(Notice("case_status", CITIZEN, _status_text(case, transition), f"{key}:citizen"))
    if NOTIFY_DEPARTMENT in effects:
        notices.append(Notice("case_status", DEPARTMENT, _department_text(case, transition), f"{key}:department"))
    if NOTIFY_STAFF in effects:
        notices.append(Notice("case_status", STAFF, _staff_text(case, transition), f"{key}:staff"))
    if case.has_deputy and transition.from_state != transition.to_state:
        notices.append(Notice("case_status", DEPUTY,
                              f"您跟进的案件 {case.number}（{_brief(case.description, 30)}）："
                              f"{STATE_LABELS[transition.from_state]} → {STATE_LABELS[transition.to_state]}。"
                              f"{transition.reason}", f"{key}:deputy"))
    return notices


def person_requested(request_id: int, who: str, answer_by: dt.datetime, recent: list[str]) -> Notice:
    """A citizen asked for a person: the staff are told, with the promised time and what was said."""
    said = "\n".join(f"· {_brief(text, 80)}" for text in recent if text.strip())
    local = answer_by.astimezone(LOCAL)
    return Notice("human_request", STAFF,
                  f"【转人工】{who} 请求工作人员回复，已承诺 {local.month}月{local.day}日 {local:%H:%M} 前答复。"
                  f"\n最近留言：\n{said}", f"human:{request_id}")


def similar_found(case: CaseView, similar: list[str]) -> Notice:
    """Tell the staff that a new case looks like open ones, so a recurring problem is seen as one."""
    return Notice("common_problem", STAFF,
                  f"【共性问题】新案件 {case.number}（{case.topic}，{case.place}）与在办案件 {'、'.join(similar)} 相似，"
                  f"请一并研究。", f"case:{case.id}:similar")


def _status_text(case: CaseView, transition: Transition) -> str:
    to = transition.to_state
    if to is CaseState.TRANSFERRED:
        return f"您反映的问题（编号 {case.number}）已转交{case.department}办理，预计 {_day(case.reply_due_at)} 前答复您。"
    if to is CaseState.IN_PROGRESS:
        return f"{case.department}已开始办理您反映的问题（编号 {case.number}）。"
    if to is CaseState.ESCALATED:
        return f"您反映的问题（编号 {case.number}）已提请人大常委会跟进督办，我们会继续告诉您进展。"
    why = _why(transition.reason)
    if to is CaseState.REJECTED:
        return f"很抱歉，您反映的问题（编号 {case.number}）不予受理，原因：{why}。如有疑问请回复“人工”。"
    if transition.action is Action.CLOSE_UNRATED:
        return f"您反映的问题（编号 {case.number}）已答复，7天内没有收到您的评价，案件已办结。感谢您的参与！"
    if transition.action is Action.MERGE:
        return (f"您反映的问题（编号 {case.number}）与案件 {transition.merged_into} 是同一问题，已并入该案件一并办理，"
                f"进展会继续通知您。")
    if to is CaseState.CLOSED:
        return f"您反映的问题（编号 {case.number}）已办结{'：' + why if why else ''}。感谢您的参与！"
    return f"您反映的问题（编号 {case.number}）状态更新为“{STATE_LABELS[to]}”。"


def _department_text(case: CaseView, transition: Transition) -> str:
    if transition.action is Action.TRANSFER:
        return (f"【转办】案件 {case.number}（{case.topic}）请贵单位办理，{_day(case.reply_due_at)} 前答复。\n"
                f"问题：{_brief(case.description, 200)}\n地点：{case.place}\n{transition.reason}")
    if transition.to_state is CaseState.REHANDLING:
        return (f"【重新办理】群众对案件 {case.number} 的答复不满意，请重新办理，{_day(case.reply_due_at)} 前再次答复。"
                f"\n{transition.reason}")
    if transition.action is Action.ADD_INFO:
        return f"【补充】案件 {case.number} 的群众补充了情况：{transition.reason}"
    if transition.action is Action.SEND_BACK_REPLY:
        return f"【退回】案件 {case.number} 的答复被退回修改。{transition.reason}"
    return f"案件 {case.number}：{transition.reason}"


def _why(reason: str) -> str:
    """The words after the event's label ("不予受理：不属于…" → "不属于…"), without a final full stop."""
    label, _, rest = reason.partition("：")
    return (rest or ("" if label in ("工作人员办结",) else label)).rstrip("。")


def _staff_text(case: CaseView, transition: Transition) -> str:
    if transition.to_state is CaseState.ESCALATED:
        return f"【升级】案件 {case.number} 已升级，请安排约见、评议或询问。{transition.reason}"
    return f"案件 {case.number}：{transition.reason}"


def due(case: CaseView, now: dt.datetime, calendar: WorkingCalendar, *, rated: bool, rating_days: int) -> list[Notice]:
    """Reminders and alerts that are due for an open case at `now` (each at most once, by its key)."""
    notices: list[Notice] = []
    key = f"case:{case.id}"
    state = case.state
    if state is CaseState.RECEIVED:
        if now >= case.transfer_due_at:
            notices.append(Notice("deadline_alert", STAFF, f"【超时】案件 {case.number} 受理已超过24小时仍未转办，请尽快处理。",
                                  f"{key}:transfer_alert"))
        elif now >= case.transfer_due_at - TRANSFER_REMINDER_BEFORE:
            notices.append(Notice("deadline_reminder", STAFF,
                                  f"【提醒】案件 {case.number} 需在 {case.transfer_due_at.astimezone(LOCAL):%m-%d %H:%M} 前转办。",
                                  f"{key}:transfer_reminder"))
    if state in (CaseState.TRANSFERRED, CaseState.IN_PROGRESS, CaseState.REHANDLING):
        due_day = case.reply_due_at.astimezone(LOCAL).date()
        stamp = f"{due_day:%Y%m%d}"
        local_today = now.astimezone(LOCAL).date()
        if now > case.overdue_at:
            text = f"【严重超期】案件 {case.number} 已超过5个工作日仍未答复，请督办。"
            notices += [Notice("deadline_alert", who, text, f"{key}:overdue:{stamp}:{who}")
                        for who in (DEPARTMENT, STAFF) + ((DEPUTY,) if case.has_deputy else ())]
        elif now > case.reply_due_at:
            text = f"【逾期】案件 {case.number} 已超过答复期限（{_day(case.reply_due_at)}），请尽快答复。"
            notices += [Notice("deadline_alert", who, text, f"{key}:late:{stamp}:{who}")
                        for who in (DEPARTMENT, STAFF) + ((DEPUTY,) if case.has_deputy else ())]
        elif local_today >= _previous_working_day(due_day, calendar):
            text = f"【提醒】案件 {case.number} 需在 {_day(case.reply_due_at)} 前答复。"
            notices += [Notice("deadline_reminder", who, text, f"{key}:reminder:{stamp}:{who}")
                        for who in (DEPARTMENT,) + ((DEPUTY,) if case.has_deputy else ())]
    if state in AWAITING_RATING and not rated and now < case.answered_at + dt.timedelta(days=rating_days):
        if now >= case.answered_at + RATING_REMINDER_AFTER:
            notices.append(Notice("rating_reminder", CITIZEN,
                                  f"您反映的问题（编号 {case.number}）已答复，还没收到您的评价。请回复“满意”“基本满意”或“不满意”，"
                                  f"{_day(case.answered_at + dt.timedelta(days=rating_days))}后将按未评价办结。",
                                  f"{key}:rating_reminder:{case.answered_at:%Y%m%d%H%M}", RATING_BUTTONS))
    return notices


def unrated_expired(case: CaseView, now: dt.datetime, *, rated: bool, rating_days: int) -> bool:
    """The answer waited `rating_days` without a rating: close as unrated (never as satisfied)."""
    return case.state in AWAITING_RATING and not rated and now >= case.answered_at + dt.timedelta(days=rating_days)


def _previous_working_day(day: dt.date, calendar: WorkingCalendar) -> dt.date:
    current = day - dt.timedelta(days=1)
    while not calendar.is_working_day(current):
        current -= dt.timedelta(days=1)
    return current
