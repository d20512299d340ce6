"""Applying casework decisions to the case store: one function per operation.

The decisions themselves are the pure functions of `casework.cases`; these functions only carry
them out through the storage repositories and record the event.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from casework.cases import CaseState, Registration, Report, Role, format_case_number, local_day, register
from casework.deadlines import CaseDeadlines, case_deadlines
from casework.lifecycle import (
    FINAL_STATES,
    OPEN_STATES,
    Action,
    CaseFacts,
    Command,
    IllegalTransition,
    Transition,
    decide,
)
from casework.routing import route
from casework.similarity import Sketch, similar_cases
from casework.workdays import WorkingCalendar
from settings import TOPICS, Deployment
from storage.models import Case, CaseEvent, Department, Deputy, Station
from storage.repositories import CaseStore, DirectoryStore, Party


async def register_case(
    cases: CaseStore,
    directory: DirectoryStore,
    deployment: Deployment,
    calendar: WorkingCalendar,
    party: Party,
    report: Report,
    now: dt.datetime,
) -> tuple[Case, Registration]:
    """Turn a confirmed report into a received case with its number, deadlines, event and attachments."""
    department = route(report.topic, deployment)
    limits = deployment.deadlines
    deadlines = case_deadlines(now, calendar, transfer_hours=limits.transfer_hours,
                               reply_working_days=limits.reply_working_days,
                               overdue_working_days=limits.overdue_working_days)
    registration = register(report, department.code, deadlines)
    day = local_day(now)
    number = format_case_number(deployment.case_prefix, day, await cases.next_sequence(day))
    stations = await directory.ids(Station)
    departments = await directory.ids(Department)
    deputies = await directory.ids(Deputy)
    case = await cases.create(
        number=number,
        citizen_id=party.citizen_id,
        conversation_id=party.conversation_id,
        station_id=stations[deployment.main_station.code],
        department_id=departments[registration.department_code],
        deputy_id=deputies.get(report.deputy_code) if report.deputy_code else None,
        state=registration.state.value,
        topic=report.topic,
        topic_confidence=report.topic_confidence,
        description=report.description,
        place=report.place,
        anonymous=report.anonymous,
        contact_consent=report.contact_consent,
        contact_phone=report.contact_phone,
        created_at=now,
        updated_at=now,
        transfer_due_at=deadlines.transfer_due_at,
        reply_due_at=deadlines.reply_due_at,
        overdue_at=deadlines.overdue_at,
    )
    await cases.add_event(case, action=registration.event_action, actor=f"{party.channel}:{party.user_id}",
                          actor_role=Role.CITIZEN.value, from_state=None, to_state=registration.state.value,
                          reason=registration.event_reason, at=now)
    for item in report.attachments:
        await cases.attach(case.id, **item)
    return case, registration


async def similar_open_cases(cases: CaseStore, sketch: Sketch) -> list[tuple[Case, float]]:
    """Open cases of the same problem as `sketch` (a draft or a new case), most similar first."""
    candidates = await cases.open_of_topic(sketch.topic, [s.value for s in OPEN_STATES])
    by_number = {c.number: c for c in candidates}
    found = similar_cases(sketch, [Sketch(c.number, c.topic, c.place, c.description) for c in candidates])
    return [(by_number[s.number], score) for s, score in found]


async def link_similar(cases: CaseStore, case: Case) -> list[Case]:
    """Link a new case to the open cases it resembles; return them (staff are told)."""
    similar = await similar_open_cases(cases, Sketch(case.number, case.topic, case.place, case.description))
    for other, score in similar:
        await cases.link(case.id, other.id, round(score, 3))
    return [other for other, _ in similar]


class CaseChanged(IllegalTransition):
    """Someone else changed the case between reading and writing it; nothing was applied."""

    def __init__(self, number: str) -> None:
        super().__init__("conflict", f"案件 {number} 刚刚已被他人处理，请刷新后再试。")


async def case_facts(cases: CaseStore, case: Case) -> CaseFacts:
    pending, approved, unsatisfied, rated = await cases.answers(case.id)
    return CaseFacts(state=CaseState(case.state), number=case.number, pending_reply=pending,
                     replies_approved=approved, unsatisfied_ratings=unsatisfied,
                     rated_current_reply=approved in rated)


async def carry_out(cases: CaseStore, case: Case, command: Command, now: dt.datetime, *,
                    department_id: int | None = None, topic: str | None = None,
                    rehandling_deadlines: CaseDeadlines | None = None) -> tuple[Transition, CaseEvent]:
    """Decide `command` on `case` and record it: state, reply or rating, and the event.

    Raises IllegalTransition when the rules refuse it, CaseChanged when another change won the race
    (the caller's session must then be rolled back). The caller commits, then acts on the effects.
    A re-handling case gets new reply deadlines, counted from now.
    """
    facts = await case_facts(cases, case)
    transition = decide(facts, command)
    values: dict = {"state": transition.to_state.value, "updated_at": now}
    if transition.to_state in FINAL_STATES:
        values["closed_at"] = now
    if transition.level:
        values["escalation_level"] = transition.level
    if transition.merged_into:
        values["merged_into"] = transition.merged_into
    if transition.to_state is CaseState.REHANDLING and rehandling_deadlines is not None:
        values["reply_due_at"] = rehandling_deadlines.reply_due_at
        values["overdue_at"] = rehandling_deadlines.overdue_at
    if command.action is Action.ASSIGN:
        values.update({k: v for k, v in (("department_id", department_id), ("topic", topic)) if v is not None})
    if not await cases.compare_and_set(case, **values):
        raise CaseChanged(case.number)
    match command.action:
        case Action.RECORD_REPLY:
            await cases.add_reply(case.id, text=command.reason, author=command.actor,
                                  author_role=command.role.value, at=now)
        case Action.APPROVE_REPLY:
            await cases.review_pending_reply(case.id, status="approved", by=command.actor, at=now,
                                             number=transition.reply_number)
        case Action.SEND_BACK_REPLY:
            await cases.review_pending_reply(case.id, status="sent_back", by=command.actor, at=now,
                                             note=command.reason)
        case Action.RATE:
            await cases.add_rating(case.id, reply_number=facts.replies_approved, rating=transition.rating or "",
                                   comment=command.reason, at=now)
    event = await cases.add_event(case, action=transition.action.value, actor=command.actor,
                                  actor_role=command.role.value, from_state=transition.from_state.value,
                                  to_state=transition.to_state.value, reason=transition.reason, at=now)
    return transition, event


@dataclass(frozen=True)
class Actor:
    """Who acts on a case: a user of the API or console, a citizen in the chat, or the system."""

    name: str
    role: Role
    department_id: int | None = None
    citizen_id: int | None = None
    # A deputy's code (config.yml) and row id, when a deputy's user acts.
    deputy_code: str | None = None
    deputy_id: int | None = None


class CaseNotFound(IllegalTransition):
    def __init__(self, number: str) -> None:
        super().__init__("not_found", f"没有编号为 {number} 的案件。")


async def act(
    cases: CaseStore,
    directory: DirectoryStore,
    deployment: Deployment,
    number: str,
    actor: Actor,
    command: Command,
    now: dt.datetime,
    calendar: WorkingCalendar,
    *,
    topic: str | None = None,
    department_code: str | None = None,
) -> tuple[Case, Transition, CaseEvent]:
    """One operation on a case by number, with the checks the state machine cannot make itself:
    the case exists, a department acts only on its own cases, a citizen only on theirs, a merge
    target exists, a new topic or department is known."""
    case = await cases.by_number(number)
    if case is None:
        raise CaseNotFound(number)
    if actor.role is Role.DEPARTMENT and case.department_id != actor.department_id:
        raise IllegalTransition("not_your_department", f"案件 {case.number} 不由您所在部门承办。")
    if actor.role is Role.DEPUTY and (case.deputy_id is None or case.deputy_id != actor.deputy_id):
        raise IllegalTransition("not_your_case",
                                f"案件 {case.number} 不是您跟进的案件，请先发送“我来跟进 {case.number}”。")
    if actor.role is Role.CITIZEN:
        command = Command(**{**command.__dict__, "is_own_case": case.citizen_id == actor.citizen_id})
    if command.action is Action.MERGE and command.merged_into:
        target = await cases.by_number(command.merged_into)
        if target is None or target.id == case.id:
            raise IllegalTransition("bad_merge", f"没有可并入的案件 {command.merged_into}。")
    department_id = None
    if command.action is Action.ASSIGN:
        if topic is not None and topic not in TOPICS:
            raise IllegalTransition("bad_topic", f"没有“{topic}”这个类别，可选：{'、'.join(TOPICS)}。")
        if department_code is None and topic is not None:
            department_code = route(topic, deployment).code
        if department_code is not None:
            department_id = (await directory.ids(Department)).get(department_code)
            if department_id is None:
                raise IllegalTransition("bad_department", f"没有编码为 {department_code} 的部门。")
    limits = deployment.deadlines
    rehandling = case_deadlines(now, calendar, transfer_hours=limits.transfer_hours,
                                reply_working_days=limits.reply_working_days,
                                overdue_working_days=limits.overdue_working_days)
    transition, event = await carry_out(cases, case, command, now, department_id=department_id, topic=topic,
                                        rehandling_deadlines=rehandling)
    return case, transition, event
