"""One operation on a case, whoever asks (API, CLI, chat, a job): decide, record, queue the pushes, commit."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from casework.cases import Registration, Report
from casework.lifecycle import Action, Command, IllegalTransition, Transition
from casework.notices import after_transition, similar_found
from casework.workdays import WorkingCalendar
from services.pushes import case_view, queue
from services.records import Actor, act, link_similar, register_case
from settings import Deployment
from storage.models import Case, Department
from storage.repositories import CaseStore, DirectoryStore, Party, PushStore, RecipientStore


async def register_report(session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, party: Party,
                          report: Report, now: dt.datetime, *, commit: bool = True) -> tuple[Case, Registration]:
    """Register a confirmed report, link it to open cases of the same problem and tell the staff; commit
    (unless `commit=False`: a caller registering it within a unit of work of its own commits it)."""
    cases, directory = CaseStore(session), DirectoryStore(session)
    case, registration = await register_case(cases, directory, deployment, calendar, party, report, now)
    similar = await link_similar(cases, case)
    if similar:
        department = (await directory.names(Department)).get(case.department_id or 0, "")
        await queue(PushStore(session), RecipientStore(session), case,
                    [similar_found(case_view(case, department), [c.number for c in similar])], now)
    if commit:
        await session.commit()
    return case, registration


async def perform(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    number: str,
    actor: Actor,
    command: Command,
    now: dt.datetime,
    *,
    topic: str | None = None,
    department_code: str | None = None,
) -> tuple[Case, Transition]:
    """Carry out `command` and commit it with its pushes; on IllegalTransition nothing is kept."""
    cases, directory = CaseStore(session), DirectoryStore(session)
    try:
        case, transition, event = await act(cases, directory, deployment, number, actor, command, now, calendar,
                                            topic=topic, department_code=department_code)
        answer = ""
        if transition.action is Action.APPROVE_REPLY:
            answer = next(r.text for r in reversed(await cases.replies(case.id)) if r.status == "approved")
        elif transition.action is Action.ANSWER_ON_SPOT:
            answer = command.answer or ""
        departments = await directory.names(Department)
        view = case_view(case, departments.get(case.department_id or 0, ""))
        await queue(PushStore(session), RecipientStore(session), case,
                    after_transition(view, transition, event.id, answer), now)
        await session.commit()
    except IllegalTransition:
        await session.rollback()
        raise
    return case, transition
