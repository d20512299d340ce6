"""Cases, the application layer: register a report, perform an action, read cases as an actor may, and
the deadline scan of the worker.

Each use case takes its unit of work (an AsyncSession, or the Context it opens one from) and commits
once; on a refusal nothing is kept. The decisions are casework's (`casework.lifecycle.decide`,
`casework.notices`); these functions read, apply and record them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from casework import notices
from casework.actors import Actor
from casework.cases import CaseState, Registration, Report, Role, format_case_number, local_day, register
from casework.deadlines import CaseDeadlines, case_deadlines
from casework.lifecycle import (
    AWAITING_RATING,
    FINAL_STATES,
    OPEN_STATES,
    Action,
    CaseFacts,
    Command,
    IllegalTransition,
    Transition,
    allowed_actions,
    decide,
)
from casework.notices import after_transition, similar_found
from casework.routing import route
from casework.similarity import Sketch, groups, similar_cases
from casework.workdays import WorkingCalendar
from services import access
from services.context import Context
from services.pushes import case_view, queue
from settings import TOPICS, Deployment
from storage.models import Case, CaseEvent, Department, Deputy, Station
from storage.repositories import CaseStore, DirectoryStore, Party, PushStore, RecipientStore
from storage.watch import WatchStore
from texts import deputy as deputy_texts
from texts import staff as texts

# How much of their own earlier case a citizen is shown when it is offered again.
OFFER_SUMMARY_LENGTH = 30


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
    deadlines = case_deadlines(
        now,
        calendar,
        transfer_hours=limits.transfer_hours,
        reply_working_days=limits.reply_working_days,
        overdue_working_days=limits.overdue_working_days,
    )
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
        named_people=list(report.named_people),
        created_at=now,
        updated_at=now,
        transfer_due_at=deadlines.transfer_due_at,
        reply_due_at=deadlines.reply_due_at,
        overdue_at=deadlines.overdue_at,
    )
    await cases.add_event(
        case,
        action=registration.event_action,
        actor=f"{party.channel}:{party.user_id}",
        actor_role=Role.CITIZEN.value,
        from_state=None,
        to_state=registration.state.value,
        reason=registration.event_reason,
        at=now,
    )
    for item in report.attachments:
        await cases.attach(case.id, **item)
    return case, registration


async def similar_open_cases(cases: CaseStore, sketch: Sketch) -> list[tuple[Case, float]]:
    """Open cases of the same problem as `sketch` (a draft or a new case), most similar first."""
    candidates = await cases.open_of_topic(sketch.topic, [s.value for s in OPEN_STATES])
    by_number = {c.number: c for c in candidates}
    found = similar_cases(sketch, [Sketch(c.number, c.topic, c.place, c.description) for c in candidates])
    return [(by_number[s.number], score) for s, score in found]


@dataclass(frozen=True)
class SimilarOffer:
    """The open case of the same problem offered to a citizen writing a report. `summary` is what they may
    read of it: their own words, or of someone else's case its public summary (services/access.py)."""

    number: str
    state: CaseState
    own: bool
    summary: str


async def similar_offer(session: AsyncSession, party: Party, sketch: Sketch) -> SimilarOffer | None:
    """The open case most like a report being written, to follow instead of opening another; None if none."""
    similar = await similar_open_cases(CaseStore(session), sketch)
    if not similar:
        return None
    case = similar[0][0]
    own = case.citizen_id == party.citizen_id
    if own:
        summary = _short(case.description, OFFER_SUMMARY_LENGTH)
    else:
        summary, _ = access.follower_summary(case, await access.public_names(session))
    return SimilarOffer(case.number, CaseState(case.state), own, summary)


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


async def link_similar(cases: CaseStore, case: Case) -> list[Case]:
    """Link a new case to the open cases it resembles; return them (staff are told)."""
    similar = await similar_open_cases(cases, Sketch(case.number, case.topic, case.place, case.description))
    for other, score in similar:
        await cases.link(case.id, other.id, round(score, 3))
    return [other for other, _ in similar]


class CaseChanged(IllegalTransition):
    """Someone else changed the case between reading and writing it; nothing was applied."""

    def __init__(self, number: str) -> None:
        super().__init__("conflict", texts.CASE_CHANGED.format(number=number))


async def case_facts(cases: CaseStore, case: Case) -> CaseFacts:
    pending, approved, unsatisfied, rated = await cases.answers(case.id)
    return CaseFacts(
        state=CaseState(case.state),
        number=case.number,
        pending_reply=pending,
        replies_approved=approved,
        unsatisfied_ratings=unsatisfied,
        rated_current_reply=approved in rated,
    )


async def carry_out(
    cases: CaseStore,
    case: Case,
    command: Command,
    now: dt.datetime,
    *,
    department_id: int | None = None,
    topic: str | None = None,
    rehandling_deadlines: CaseDeadlines | None = None,
) -> tuple[Transition, CaseEvent]:
    """Decide `command` on `case` and record it: state, reply or rating, and the event.

    Raises IllegalTransition when the rules refuse it, CaseChanged when another change won the race
    (the caller's session must then be rolled back). The caller commits, then acts on the effects.
    A re-handling case gets new reply deadlines, counted from now.
    """
    facts = await case_facts(cases, case)
    transition = decide(facts, command)
    values: dict[str, Any] = {"state": transition.to_state.value, "updated_at": now}
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
            await cases.add_reply(
                case.id, text=command.reason, author=command.actor, author_role=command.role.value, at=now
            )
        case Action.APPROVE_REPLY:
            await cases.review_pending_reply(
                case.id, status="approved", by=command.actor, at=now, number=transition.reply_number
            )
        case Action.SEND_BACK_REPLY:
            await cases.review_pending_reply(case.id, status="sent_back", by=command.actor, at=now, note=command.reason)
        case Action.RATE:
            await cases.add_rating(
                case.id,
                reply_number=facts.replies_approved,
                rating=transition.rating or "",
                comment=command.reason,
                at=now,
            )
    event = await cases.add_event(
        case,
        action=transition.action.value,
        actor=command.actor,
        actor_role=command.role.value,
        from_state=transition.from_state.value,
        to_state=transition.to_state.value,
        reason=transition.reason,
        at=now,
    )
    return transition, event


class CaseNotFound(IllegalTransition):
    def __init__(self, number: str) -> None:
        super().__init__("not_found", texts.CASE_NOT_FOUND.format(number=number))


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
        raise IllegalTransition("not_your_department", texts.CASE_NOT_YOUR_DEPARTMENT.format(number=case.number))
    if actor.role is Role.DEPUTY and (case.deputy_id is None or case.deputy_id != actor.deputy_id):
        raise IllegalTransition("not_your_case", deputy_texts.CASE_NOT_YOURS.format(number=case.number))
    if actor.role is Role.CITIZEN:
        command = Command(**{**command.__dict__, "is_own_case": case.citizen_id == actor.citizen_id})
    if command.action is Action.MERGE and command.merged_into:
        target = await cases.by_number(command.merged_into)
        if target is None or target.id == case.id:
            raise IllegalTransition("bad_merge", texts.CASE_NO_MERGE_TARGET.format(number=command.merged_into))
    department_id = None
    if command.action is Action.ASSIGN:
        if topic is not None and topic not in TOPICS:
            topics = texts.CASE_TOPICS_JOINER.join(TOPICS)
            raise IllegalTransition("bad_topic", texts.CASE_BAD_TOPIC.format(topic=topic, topics=topics))
        if department_code is None and topic is not None:
            department_code = route(topic, deployment).code
        if department_code is not None:
            department_id = (await directory.ids(Department)).get(department_code)
            if department_id is None:
                raise IllegalTransition("bad_department", texts.CASE_BAD_DEPARTMENT.format(code=department_code))
    limits = deployment.deadlines
    rehandling = case_deadlines(
        now,
        calendar,
        transfer_hours=limits.transfer_hours,
        reply_working_days=limits.reply_working_days,
        overdue_working_days=limits.overdue_working_days,
    )
    transition, event = await carry_out(
        cases, case, command, now, department_id=department_id, topic=topic, rehandling_deadlines=rehandling
    )
    return case, transition, event


async def register_report(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    party: Party,
    report: Report,
    now: dt.datetime,
    *,
    from_message_id: int | None = None,
) -> tuple[Case, Registration]:
    """Register a confirmed report, link it to open cases of the same problem and tell the staff. The messages
    of the conversation from `from_message_id` on (the report's) belong to the case from now on.
    Within the caller's unit of work (a conversation turn): the caller commits."""
    cases, directory = CaseStore(session), DirectoryStore(session)
    case, registration = await register_case(cases, directory, deployment, calendar, party, report, now)
    if from_message_id is not None:
        await WatchStore(session).attach_to_case(party.conversation_id, case.id, from_message_id)
    similar = await link_similar(cases, case)
    if similar:
        department = (await directory.names(Department)).get(case.department_id or 0, "")
        await queue(
            PushStore(session),
            RecipientStore(session),
            case,
            [similar_found(case_view(case, department), [c.number for c in similar])],
            now,
        )
    return case, registration


async def apply(
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
    """Carry out `command` with its pushes within the caller's unit of work (a conversation turn, a job);
    the caller commits. A refusal (IllegalTransition) is raised before anything is written."""
    cases, directory = CaseStore(session), DirectoryStore(session)
    case, transition, event = await act(
        cases,
        directory,
        deployment,
        number,
        actor,
        command,
        now,
        calendar,
        topic=topic,
        department_code=department_code,
    )
    answer = ""
    if transition.action is Action.APPROVE_REPLY:
        answer = next(r.text for r in reversed(await cases.replies(case.id)) if r.status == "approved")
    elif transition.action is Action.ANSWER_ON_SPOT:
        answer = command.answer or ""
    departments = await directory.names(Department)
    view = case_view(case, departments.get(case.department_id or 0, ""))
    await queue(
        PushStore(session), RecipientStore(session), case, after_transition(view, transition, event.id, answer), now
    )
    return case, transition


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
    """One action on a case as its own unit of work (an API request, a CLI command): `apply`, then commit."""
    case, transition = await apply(
        session, deployment, calendar, number, actor, command, now, topic=topic, department_code=department_code
    )
    await session.commit()
    return case, transition


def citizen_actor(party: Party) -> Actor:
    """The citizen in the chat, as the actor of what they do to their cases."""
    return Actor(f"{party.channel}:{party.user_id}", Role.CITIZEN, citizen_id=party.citizen_id)


async def _citizen_cases(store: CaseStore, party: Party, named: list[str]) -> list[Case]:
    """The citizen's latest cases, or those of them they named."""
    cases = await store.for_citizen(party.citizen_id, limit=20)
    return [c for c in cases if c.number in named] if named else list(cases)


async def open_case_of(session: AsyncSession, party: Party, named: list[str]) -> Case | None:
    """The citizen's latest open case, or the open one among those they named."""
    cases = await _citizen_cases(CaseStore(session), party, named)
    return next((c for c in cases if CaseState(c.state) not in FINAL_STATES), None)


async def rating_target(session: AsyncSession, party: Party, named: list[str]) -> tuple[Case | None, Case | None]:
    """(the citizen's latest case awaiting a rating, else None; a case whose answer they already rated)."""
    store = CaseStore(session)
    cases = await _citizen_cases(store, party, named)
    awaiting = [c for c in cases if CaseState(c.state) in AWAITING_RATING]
    if awaiting:
        return awaiting[0], None
    rated = [c for c in cases if (await case_facts(store, c)).rated_current_reply]
    return None, rated[0] if rated else None


async def follow(session: AsyncSession, party: Party, number: str) -> Case | None:
    """The citizen follows an existing case of their problem instead of opening another; None when it is gone.
    Within the caller's unit of work."""
    cases = CaseStore(session)
    case = await cases.by_number(number)
    if case is not None:
        await cases.follow(case.id, party)
    return case


def case_json(case: Case, departments: dict[int, str], events: bool = True) -> dict[str, Any]:
    """What staff see of a case, as plain data (the API's JSON and the CLI's --json)."""
    data: dict[str, Any] = {
        "case_no": case.number,
        "state": case.state,
        "state_label": CaseState(case.state).label,
        "topic": case.topic,
        "department": departments.get(case.department_id or 0),
        "place": case.place,
        "description": case.description,
        "anonymous": case.anonymous,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "reply_due_at": case.reply_due_at.isoformat(),
    }
    if events:
        data["events"] = [
            {
                "action": e.action,
                "actor": e.actor,
                "role": e.actor_role,
                "from": e.from_state,
                "to": e.to_state,
                "reason": e.reason,
                "at": e.at.isoformat(),
            }
            for e in case.events
        ]
    return data


def for_actor(data: dict[str, Any], case: Case, actor: Actor, public: frozenset[str]) -> dict[str, Any]:
    """A case's JSON as the actor may read it (services/access.py): unless staff, names, phone and ID numbers
    in its texts masked and the citizen's channel id in its events hidden; the contact phone the citizen
    left, as the actor may read it."""
    names = case.named_people
    data["description"] = access.masked_for(actor, data["description"], names, public)
    data["place"] = access.masked_for(actor, data["place"], names, public)
    data["contact_phone"] = access.contact_phone_for(actor, case)
    for event in data.get("events", ()):
        event["reason"] = access.masked_for(actor, event["reason"], names, public)
        event["actor"] = access.event_actor_for(actor, event["role"], event["actor"])
    return data


async def list_cases(
    session: AsyncSession, actor: Actor, *, state: str | None = None, limit: int = 100, events: bool = False
) -> list[dict[str, Any]]:
    """The newest cases `actor` may see (filtered in SQL, before the limit), with their events when asked."""
    query = select(Case).where(access.case_filter(actor)).order_by(Case.id.desc()).limit(limit)
    if events:
        query = query.options(selectinload(Case.events))
    if state:
        query = query.where(Case.state == state)
    cases = (await session.execute(query)).scalars().all()
    departments = await DirectoryStore(session).names(Department)
    public = await access.public_names(session)
    return [for_actor(case_json(c, departments, events=events), c, actor, public) for c in cases]


async def case_detail(session: AsyncSession, actor: Actor, number: str) -> tuple[Case, dict[str, Any]]:
    """A case with its events, replies, pushes and the actions `actor` may take; CaseNotFound when it does
    not exist or `actor` may not see it (the same answer, so numbers cannot be probed)."""
    cases = CaseStore(session)
    case = await cases.by_number(number)
    if case is None or not access.may_see_case(actor, await access.case_scope(session, case)):
        raise CaseNotFound(number)
    departments = await DirectoryStore(session).names(Department)
    public = await access.public_names(session)
    data = for_actor(case_json(case, departments), case, actor, public)
    data["replies"] = [
        {
            "text": access.masked_for(actor, r.text, case.named_people, public),
            "status": r.status,
            "number": r.number,
            "author": r.author,
            "review_note": access.masked_for(actor, r.review_note, case.named_people, public),
        }
        for r in await cases.replies(case.id)
    ]
    data["allowed_actions"] = [a.value for a in allowed_actions(await case_facts(cases, case), actor.role)]
    data["pushes"] = [
        {
            "kind": p.kind,
            "recipient": p.recipient,
            "channel": p.channel,
            "status": p.status,
            "attempts": p.attempts,
            "error": p.last_error,
        }
        for p in await PushStore(session).listing(case_id=case.id)
    ]
    return case, data


async def common_problem_groups(session: AsyncSession, actor: Actor) -> list[dict[str, Any]]:
    """Groups of linked similar cases (共性问题), largest first, of the cases `actor` may see; a group of which
    the actor sees fewer than two cases is no common problem to them."""
    cases = CaseStore(session)
    found_groups = groups(await cases.links())
    linked = {n for members in found_groups for n in members}
    shown = set(
        (await session.execute(select(Case.number).where(Case.number.in_(linked), access.case_filter(actor)))).scalars()
    )
    public = await access.public_names(session)
    result = []
    for members in sorted((m & shown for m in found_groups if len(m & shown) >= 2), key=len, reverse=True):
        found = [c for c in [await cases.by_number(n) for n in sorted(members)] if c is not None]
        result.append(
            {
                "count": len(found),
                "topic": found[0].topic if found else "",
                "places": sorted({access.masked_for(actor, c.place, c.named_people, public) for c in found}),
                "open": sum(1 for c in found if CaseState(c.state) not in FINAL_STATES),
                "cases": [
                    {
                        "case_no": c.number,
                        "state": c.state,
                        "summary": access.masked_for(actor, " ".join(c.description.split()), c.named_people, public)[
                            :40
                        ],
                    }
                    for c in found
                ],
            }
        )
    return result


async def scan_deadlines(ctx: Context, now: dt.datetime) -> int:
    """Reminders before and alerts after each deadline; close answers left unrated too long.
    One transaction per case, so one case's trouble never holds back the others."""
    rating_days = ctx.deployment.deadlines.rating_days
    done = 0
    async with ctx.sessionmaker() as session:
        ids = (
            (
                await session.execute(
                    select(Case.id).where(Case.state.in_([s.value for s in OPEN_STATES])).order_by(Case.id)
                )
            )
            .scalars()
            .all()
        )
        departments = await DirectoryStore(session).names(Department)
    for case_id in ids:
        async with ctx.sessionmaker() as session:
            cases = CaseStore(session)
            case = await session.get(Case, case_id)
            if case is None:
                continue
            rated = (await case_facts(cases, case)).rated_current_reply
            view = case_view(case, departments.get(case.department_id or 0, ""), await cases.answered_at(case.id))
            done += await queue(
                PushStore(session),
                RecipientStore(session),
                case,
                notices.due(view, now, ctx.calendar, rated=rated, rating_days=rating_days),
                now,
            )
            await session.commit()
            if notices.unrated_expired(view, now, rated=rated, rating_days=rating_days):
                try:
                    await perform(
                        session,
                        ctx.deployment,
                        ctx.calendar,
                        case.number,
                        Actor("system", Role.SYSTEM),
                        Command(Action.CLOSE_UNRATED, Role.SYSTEM, "system"),
                        now,
                    )
                except IllegalTransition:  # the citizen rated, or staff closed it, a moment ago
                    continue
                done += 1
    return done


@dataclass(frozen=True)
class CaseProgress:
    """What a citizen may learn of a case they named. `case` is None when they may not see it (or it does
    not exist). `public` is, of someone else's case they follow, the (summary, place) they may read of it
    (services/access.py: never its text or contact); None for their own case."""

    number: str
    case: Case | None
    public: tuple[str, str] | None = None


async def progress_for_citizen(
    session: AsyncSession, party: Party, numbers: list[str]
) -> tuple[dict[int, str], list[CaseProgress]]:
    """What a citizen may learn of the cases they named: (department names, one CaseProgress a number)."""
    store = CaseStore(session)
    departments = await DirectoryStore(session).names(Department)
    actor = citizen_actor(party)
    found: list[CaseProgress] = []
    for number in numbers:
        case = await store.by_number(number)
        view = access.View.NONE if case is None else access.case_view(actor, await access.case_scope(session, case))
        if case is None or view is access.View.NONE:
            found.append(CaseProgress(number, None))
        elif view is access.View.SUMMARY:
            found.append(CaseProgress(number, case, access.follower_summary(case, await access.public_names(session))))
        else:
            found.append(CaseProgress(number, case))
    return departments, found


async def cases_of_citizen(session: AsyncSession, party: Party) -> list[Case]:
    """The citizen's own cases, newest first."""
    return list(await CaseStore(session).for_citizen(party.citizen_id))
