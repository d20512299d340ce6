"""Cases, the application layer: register a report, perform an action, read cases as an actor may, and
the deadline scan of the worker.

Each use case takes its unit of work (an AsyncSession, or the Context it opens one from) and commits
once; on a refusal nothing is kept. The decisions are casework's (`casework.lifecycle.decide`,
`casework.notices`); these functions read, apply and record them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from casework import notices
from casework.actors import Actor
from casework.cases import (
    CaseState,
    Intake,
    Registration,
    Report,
    Role,
    format_case_number,
    local_day,
    online_intake,
    register,
    split_intake,
)
from casework.deadlines import CaseDeadlines, case_deadlines
from casework.lifecycle import (
    AWAITING_RATING,
    DEFAULT_POLICY,
    FINAL_STATES,
    OPEN_STATES,
    Action,
    CaseFacts,
    Command,
    IllegalTransition,
    Policy,
    SplitPart,
    Transition,
    allowed_actions,
    decide,
    numbered_split,
)
from casework.metrics import Milestones
from casework.notices import after_transition, similar_found
from casework.replies import ReplyTemplate, fill, templates_for
from casework.routing import route
from casework.similarity import Sketch, groups, similar_cases
from casework.workdays import WorkingCalendar
from services import access
from services.context import Context
from services.pushes import case_view, queue
from settings import TOPICS, Deployment
from storage.models import Case, CaseEvent, Department, Deputy, User
from storage.repositories import CaseRecord, CaseStore, DirectoryStore, Party, PushStore, RecipientStore, UserStore
from storage.watch import WatchStore
from texts import deputy as deputy_texts
from texts import staff as texts

# How much of their own earlier case a citizen is shown when it is offered again.
OFFER_SUMMARY_LENGTH = 30
# The event written on the surviving case of a merge (not a lifecycle action: its state does not change).
MERGED_IN = "merged_in"
# A case's pushes shown with it, newest first.
PUSHES_SHOWN = 100

log = logging.getLogger(__name__)


def case_policy(deployment: Deployment) -> Policy:
    """The deployment's choices the lifecycle follows (config.yml `cases`)."""
    return Policy(same_person_may_approve=deployment.cases.same_person_may_approve)


async def register_case(
    cases: CaseStore,
    directory: DirectoryStore,
    deployment: Deployment,
    calendar: WorkingCalendar,
    party: Party,
    report: Report,
    now: dt.datetime,
    *,
    intake: Intake | None = None,
    department_code: str | None = None,
    deadlines: CaseDeadlines | None = None,
) -> tuple[Case, Registration]:
    """Turn a confirmed report into a received case with its number, deadlines, event and attachments.

    `intake`: how it came in (default: `party`'s citizen reporting online), written on the case (`source`) and
    its first event. `department_code`: the department chosen for it (default: the one owning its topic).
    `deadlines`: promises already made to the citizen (a split part keeps its original's), else counted from
    now."""
    code = department_code or route(report.topic, deployment).code
    limits = deployment.deadlines
    deadlines = deadlines or case_deadlines(
        now,
        calendar,
        transfer_hours=limits.transfer_hours,
        reply_working_days=limits.reply_working_days,
        overdue_working_days=limits.overdue_working_days,
    )
    intake = intake or online_intake(f"{party.channel}:{party.user_id}", report.topic)
    registration = register(report, code, deadlines, intake)
    day = local_day(now)
    number = format_case_number(deployment.case_prefix, day, await cases.next_sequence(day))
    station_id, department_id, deputy_id = await directory.case_ids(
        station=deployment.main_station.code, department=registration.department_code, deputy=report.deputy_code
    )
    if station_id is None or department_id is None:
        raise LookupError(f"the directory has no station {deployment.main_station.code} or department {code}")
    case = await cases.create(
        number=number,
        citizen_id=party.citizen_id,
        conversation_id=party.conversation_id or None,
        station_id=station_id,
        department_id=department_id,
        deputy_id=deputy_id,
        state=registration.state.value,
        topic=report.topic,
        topic_confidence=report.topic_confidence,
        description=report.description,
        place=report.place,
        anonymous=report.anonymous,
        contact_consent=report.contact_consent,
        contact_phone=report.contact_phone,
        named_people=list(report.named_people),
        source=registration.source.value,
        created_at=now,
        updated_at=now,
        transfer_due_at=deadlines.transfer_due_at,
        reply_due_at=deadlines.reply_due_at,
        overdue_at=deadlines.overdue_at,
        next_notice_at=now,
    )
    await record_event(
        cases,
        case,
        action=registration.event_action,
        actor=registration.event_actor,
        actor_role=registration.event_role.value,
        from_state=None,
        to_state=registration.state.value,
        reason=registration.event_reason,
        at=now,
        detail=dict(intake.detail) | _problems_detail(report.problems),
    )
    for item in report.attachments:
        await cases.attach(case.id, **item)
    return case, registration


def _problems_detail(problems: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """The registration's note of the problems a report holds for several departments: the split staff are
    asked to make (the case page offers it filled in)."""
    return {"problems": [{"topic": topic, "text": text} for topic, text in problems]} if problems else {}


async def similar_open_cases(cases: CaseStore, sketch: Sketch) -> list[tuple[Case, float]]:
    """Open cases of the same problem as `sketch` (a draft or a new case), most similar first."""
    candidates = await cases.open_of_topic(sketch.topic, [s.value for s in OPEN_STATES])
    found = similar_cases(sketch, [Sketch(*candidate) for candidate in candidates])
    if not found:
        return []
    by_number = await cases.by_numbers([s.number for s, _ in found])
    return [(by_number[s.number], score) for s, score in found if s.number in by_number]


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


async def case_facts(cases: CaseStore, case: Case, departments: dict[int, str] | None = None) -> CaseFacts:
    """What the rules read of a case; `departments`: the names by id when already read."""
    pending, approved, unsatisfied, rated = await cases.answers(case.id)
    pending_reply = await cases.pending_reply(case.id) if pending else None
    escalated = case.state == CaseState.ESCALATED
    if departments is None:
        departments = await DirectoryStore(cases.session).names(Department)
    return CaseFacts(
        state=CaseState(case.state),
        number=case.number,
        pending_reply=pending,
        replies_approved=approved,
        unsatisfied_ratings=unsatisfied,
        rated_current_reply=approved in rated,
        pending_reply_by=pending_reply.author if pending_reply else None,
        committee_actions=await cases.count_events(case.id, Action.RECORD_COMMITTEE_ACTION.value) if escalated else 0,
        topic=case.topic,
        department=departments.get(case.department_id or 0, ""),
    )


def record_facts(record: CaseRecord) -> CaseFacts:
    """`case_facts` of a case read whole (`CaseStore.record`), from what was read: no statement."""
    case = record.case
    statuses = [r["status"] for r in record.replies]
    approved = statuses.count("approved")
    pending_by = next((r["author"] for r in record.replies if r["status"] == "pending"), None)
    committee = Action.RECORD_COMMITTEE_ACTION.value
    return CaseFacts(
        state=CaseState(case.state),
        number=case.number,
        pending_reply="pending" in statuses,
        replies_approved=approved,
        unsatisfied_ratings=sum(1 for r in record.ratings if r["rating"] == "不满意"),
        rated_current_reply=approved in {r["reply_number"] for r in record.ratings},
        pending_reply_by=pending_by,
        committee_actions=(
            sum(1 for e in case.events if e.action == committee) if case.state == CaseState.ESCALATED else 0
        ),
        topic=case.topic,
        department=record.department or "",
    )


async def carry_out(
    cases: CaseStore,
    case: Case,
    command: Command,
    now: dt.datetime,
    *,
    department_id: int | None = None,
    rehandling_deadlines: CaseDeadlines | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> tuple[Transition, CaseEvent]:
    """Decide `command` on `case` and record it: state, reply or rating, and the event.

    Raises IllegalTransition when the rules refuse it, CaseChanged when another change won the race
    (the caller's session must then be rolled back). The caller commits, then acts on the effects.
    A re-handling case gets new reply deadlines, counted from now; an assigned one `department_id`.
    """
    facts = await case_facts(cases, case)
    transition = decide(facts, command, policy)
    event = await record(
        cases,
        case,
        command,
        transition,
        facts,
        now,
        department_id=department_id,
        rehandling_deadlines=rehandling_deadlines,
    )
    return transition, event


async def record(
    cases: CaseStore,
    case: Case,
    command: Command,
    transition: Transition,
    facts: CaseFacts,
    now: dt.datetime,
    *,
    department_id: int | None = None,
    rehandling_deadlines: CaseDeadlines | None = None,
) -> CaseEvent:
    """Write a decided `transition` (from `facts`): the case's new state with a compare-and-set, the reply
    or rating it carries, and the event with its detail. Raises CaseChanged when another change won."""
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
    if transition.action is Action.ASSIGN:
        values["topic"] = transition.topic or case.topic
        if department_id is not None:
            values["department_id"] = department_id
    # The milestones and the rating go with the compare-and-set: record_event below finds them written.
    values |= settled_by(case, transition.action.value, transition.from_state.value, transition.to_state.value, now)
    if command.action is Action.RATE:
        values["latest_rating"] = transition.rating or ""  # as the rating itself is stored, below
    # A change may make a notice due or stop one: the deadline scan looks at an open case again from now.
    look_again = now if transition.to_state in OPEN_STATES else None
    if not await cases.compare_and_set(case, next_notice_at=look_again, **values):
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
    return await record_event(
        cases,
        case,
        action=transition.action.value,
        actor=command.actor,
        actor_role=command.role.value,
        from_state=transition.from_state.value,
        to_state=transition.to_state.value,
        reason=transition.reason,
        at=now,
        detail=transition.detail,
    )


class CaseNotFound(IllegalTransition):
    def __init__(self, number: str) -> None:
        super().__init__("not_found", texts.CASE_NOT_FOUND.format(number=number))


def _check_actor(case: Case, actor: Actor) -> None:
    """What the state machine cannot check of who acts: a department acts only on its own cases, a deputy only
    on the cases they follow."""
    if actor.role is Role.DEPARTMENT and case.department_id != actor.department_id:
        raise IllegalTransition("not_your_department", texts.CASE_NOT_YOUR_DEPARTMENT.format(number=case.number))
    if actor.role is Role.DEPUTY and (case.deputy_id is None or case.deputy_id != actor.deputy_id):
        raise IllegalTransition("not_your_case", deputy_texts.CASE_NOT_YOURS.format(number=case.number))


async def _destination(
    directory: DirectoryStore, deployment: Deployment, topic: str | None, department_code: str | None
) -> tuple[int | None, str | None]:
    """(id, name) of the department a case goes to with `topic` and `department_code` (default: the one owning
    the topic; (None, None) when neither is given); refuses an unknown topic or department."""
    if topic is not None and topic not in TOPICS:
        topics = texts.CASE_TOPICS_JOINER.join(TOPICS)
        raise IllegalTransition("bad_topic", texts.CASE_BAD_TOPIC.format(topic=topic, topics=topics))
    if department_code is None and topic is not None:
        department_code = route(topic, deployment).code
    if department_code is None:
        return None, None
    department_id = (await directory.ids(Department)).get(department_code)
    if department_id is None:
        raise IllegalTransition("bad_department", texts.CASE_BAD_DEPARTMENT.format(code=department_code))
    return department_id, (await directory.names(Department))[department_id]


@dataclass(frozen=True)
class Acted:
    """What `act` did: the case (as it is now), the transition, its event, and the department an assignment
    took the case from (None unless one did)."""

    case: Case
    transition: Transition
    event: CaseEvent
    former_department_id: int | None = None


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
) -> Acted:
    """One operation on a case by number, with the checks the state machine cannot make itself:
    the case exists, a department acts only on its own cases, a citizen only on theirs, a merge
    target exists, a new topic or department is known. A split goes through `split_case` (it makes cases)."""
    case = await cases.by_number(number)
    if case is None:
        raise CaseNotFound(number)
    _check_actor(case, actor)
    if command.action is Action.SPLIT:
        raise IllegalTransition("split_needs_parts", texts.CASE_SPLIT_NEEDS_PARTS)
    if actor.role is Role.CITIZEN:
        command = replace(command, is_own_case=case.citizen_id == actor.citizen_id)
    if command.action is Action.MERGE and command.merged_into:
        target = await cases.by_number(command.merged_into)
        if target is None or target.id == case.id:
            raise IllegalTransition("bad_merge", texts.CASE_NO_MERGE_TARGET.format(number=command.merged_into))
    department_id = None
    former = case.department_id
    if command.action is Action.ASSIGN:
        department_id, department = await _destination(directory, deployment, topic, department_code)
        command = replace(command, topic=topic, department=department)
    limits = deployment.deadlines
    rehandling = case_deadlines(
        now,
        calendar,
        transfer_hours=limits.transfer_hours,
        reply_working_days=limits.reply_working_days,
        overdue_working_days=limits.overdue_working_days,
    )
    transition, event = await carry_out(
        cases,
        case,
        command,
        now,
        department_id=department_id,
        rehandling_deadlines=rehandling,
        policy=case_policy(deployment),
    )
    moved = transition.action is Action.ASSIGN and former is not None and former != case.department_id
    return Acted(case, transition, event, former if moved else None)


def settled_by(case: Case, action: str, from_state: str | None, to_state: str, at: dt.datetime) -> dict[str, Any]:
    """The case's milestone columns (casework.metrics.Milestones) that an event settles, with their values;
    empty for most events."""
    before = Milestones(
        transferred_at=case.transferred_at,
        left_received_at=case.left_received_at,
        answered_at=case.answered_at,
        closed_unrated=case.closed_unrated,
        rehandled=case.rehandled,
        escalated=case.escalated,
    )
    after = before.after(action, from_state, to_state, at)
    return {} if after is before else asdict(after)


async def record_event(
    cases: CaseStore,
    case: Case,
    *,
    action: str,
    actor: str,
    actor_role: str,
    from_state: str | None,
    to_state: str,
    reason: str = "",
    at: dt.datetime,
    detail: dict[str, Any] | None = None,
) -> CaseEvent:
    """Write an event of the case, and the milestones it settles on the case's row (the figures count them
    there). Every event of a case is written here; a transition's milestones went with its compare-and-set
    (`record`), so none are left to write for it. The deadline scan looks at an open case again from the event
    on (someone may follow it now, say, and hear of its deadlines)."""
    for name, value in settled_by(case, action, from_state, to_state, at).items():
        setattr(case, name, value)
    if CaseState(to_state) in OPEN_STATES:
        case.next_notice_at = at
    return await cases.add_event(
        case,
        action=action,
        actor=actor,
        actor_role=actor_role,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        at=at,
        detail=detail,
    )


async def _gather_followers(cases: CaseStore, merged: Case, actor: Actor, now: dt.datetime) -> int:
    """A merged case's citizen, and those following it, follow the surviving case from now on: they hear its
    progress and replies and may ask for it by number (its public summary, services/access.py). The surviving
    case's history says what was merged into it. Returns how many began to follow."""
    target = await cases.by_number(merged.merged_into or "")
    if target is None:
        return 0
    people = [(merged.citizen_id, merged.conversation_id), *await cases.followers(merged.id)]
    added = 0
    for citizen_id, conversation_id in people:
        if conversation_id is not None and citizen_id != target.citizen_id:
            added += await cases.add_follower(target.id, citizen_id, conversation_id)
    await record_event(
        cases,
        target,
        action=MERGED_IN,
        actor=actor.name,
        actor_role=actor.role.value,
        from_state=target.state,
        to_state=target.state,
        reason=texts.EVENT_MERGED_IN.format(number=merged.number),
        at=now,
        detail={"merged": merged.number},
    )
    return added


async def register_report(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    party: Party,
    report: Report,
    now: dt.datetime,
    *,
    from_message_id: int | None = None,
    intake: Intake | None = None,
) -> tuple[Case, Registration]:
    """Register a confirmed report, link it to open cases of the same problem and tell the staff. The messages
    of the conversation from `from_message_id` on (the report's) belong to the case from now on. `intake`: how
    it came in, when not the citizen's own report online (a deputy's reception).
    Within the caller's unit of work (a conversation turn): the caller commits."""
    cases, directory = CaseStore(session), DirectoryStore(session)
    case, registration = await register_case(cases, directory, deployment, calendar, party, report, now, intake=intake)
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
    acted = await act(
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
    case, transition = acted.case, acted.transition
    if transition.action is Action.MERGE:
        await _gather_followers(cases, case, actor, now)
    answer = ""
    if transition.action is Action.APPROVE_REPLY:
        answer = next(r.text for r in reversed(await cases.replies(case.id)) if r.status == "approved")
    elif transition.action is Action.ANSWER_ON_SPOT:
        answer = command.answer or ""
    departments = await directory.names(Department)
    view = case_view(case, departments.get(case.department_id or 0, ""))
    notices = after_transition(
        view, transition, acted.event.id, answer, former_department_id=acted.former_department_id
    )
    await queue(PushStore(session), RecipientStore(session), case, notices, now)
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


@dataclass(frozen=True)
class NewPart:
    """One problem of a case being split, as staff give it: its own text, its topic, the code of the department
    for it (default: the one owning the topic) and its place (default: the original's)."""

    description: str
    topic: str
    department: str | None = None
    place: str = ""


async def split_case(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    number: str,
    actor: Actor,
    parts: Sequence[NewPart],
    now: dt.datetime,
    *,
    reason: str = "",
) -> tuple[Case, list[Case]]:
    """Split a case that holds several problems into one new case per part, each with its own text, topic and
    department; commits. Returns the original and the new cases, in the parts' order.

    The original is closed as split rather than kept as the first part: what the citizen wrote is never
    rewritten, each part gets its own number, department, reply and rating (the 交办清单 lists one item per
    department), and a station reads "拆分为 …" in the original's history. The parts keep what the original
    promised: its citizen, contact, deputy, attachments and its deadlines (the 24 hours and the working days
    run from the original's receipt); they start 已受理, to be transferred each to its department. The
    original's event names the new numbers and each part's first event the original (their `detail` links
    them); the citizen is told the new numbers, and whoever followed the original follows every part.

    Raises IllegalTransition (CaseNotFound, bad_topic, bad_department, the lifecycle's refusals of a split)
    with nothing kept; CaseChanged when another change won the race.
    """
    cases, directory = CaseStore(session), DirectoryStore(session)
    case = await cases.by_number(number)
    if case is None:
        raise CaseNotFound(number)
    _check_actor(case, actor)
    destinations = [await _destination(directory, deployment, p.topic, p.department) for p in parts]
    command = Command(
        Action.SPLIT,
        actor.role,
        actor.name,
        reason=reason,
        parts=tuple(
            SplitPart(p.description, p.topic, name or "", p.place)
            for p, (_, name) in zip(parts, destinations, strict=True)
        ),
    )
    facts = await case_facts(cases, case)
    transition = decide(facts, command, case_policy(deployment))
    department_codes = {id_: code for code, id_ in (await directory.ids(Department)).items()}
    deputy_codes = {id_: code for code, id_ in (await directory.ids(Deputy)).items()}
    promised = CaseDeadlines(case.transfer_due_at, case.reply_due_at, case.overdue_at)
    party = Party(case.citizen_id, 0, case.conversation_id or 0, "", "")
    attachments = tuple(
        {
            "kind": a.kind,
            "media_ref": a.media_ref,
            "label": a.label,
            "latitude": a.latitude,
            "longitude": a.longitude,
            "message_id": a.message_id,
        }
        for a in case.attachments
    )
    made: list[Case] = []
    for part, (department_id, _) in zip(transition.parts, destinations, strict=True):
        report = Report(
            description=part.description,
            place=part.place or case.place,
            topic=part.topic,
            topic_confidence=1.0,
            anonymous=case.anonymous,
            contact_consent=case.contact_consent,
            contact_phone=case.contact_phone,
            deputy_code=deputy_codes.get(case.deputy_id or 0),
            attachments=attachments,
            named_people=tuple(case.named_people),
        )
        new, _ = await register_case(
            cases,
            directory,
            deployment,
            calendar,
            party,
            report,
            now,
            intake=split_intake(actor.name, actor.role, case.number, part.topic),
            department_code=department_codes.get(department_id or 0),
            deadlines=promised,
        )
        made.append(new)
    transition = numbered_split(transition, [c.number for c in made])
    event = await record(cases, case, command, transition, facts, now)
    for citizen_id, conversation_id in await cases.followers(case.id):
        for new in made:
            await cases.add_follower(new.id, citizen_id, conversation_id)
    departments = await directory.names(Department)
    view = case_view(case, departments.get(case.department_id or 0, ""))
    await queue(PushStore(session), RecipientStore(session), case, after_transition(view, transition, event.id), now)
    await session.commit()
    return case, made


@dataclass(frozen=True)
class CaseContact:
    """The contact a citizen left on a case for the handling staff, as one reader may read it.

    `consent`: they agreed to be contacted (never for an anonymous case). `phone`: the number they left, as
    written when `unmasked`, else masked; None when they left none (or reported anonymously).
    """

    number: str
    anonymous: bool
    consent: bool
    phone: str | None
    unmasked: bool


async def case_contact(session: AsyncSession, actor: Actor, number: str, now: dt.datetime) -> CaseContact:
    """The citizen's contact consent and phone on case `number`, as `actor` may read them (services/access.py:
    the phone as written to staff and to the department handling the case, masked to a deputy following it);
    every read is recorded (who, in which role, when, whether unmasked) and committed. CaseNotFound when the
    case does not exist or the actor may not read it in full (the same answer, so numbers cannot be probed)."""
    cases = CaseStore(session)
    case = await cases.by_number(number)
    scope = None if case is None else await access.case_scope(session, case)
    if case is None or scope is None or access.case_view(actor, scope) is not access.View.FULL:
        raise CaseNotFound(number)
    phone, unmasked = access.contact_for(actor, case, scope)
    user = await UserStore(session).by_name(actor.name)
    await cases.record_contact_view(
        case.id,
        user_id=user.id if user is not None else None,
        actor=actor.name,
        actor_role=actor.role.value,
        unmasked=unmasked,
        at=now,
    )
    consent = bool(case.contact_consent) and not case.anonymous
    await session.commit()
    return CaseContact(case.number, case.anonymous, consent, phone, unmasked)


async def contact_views(session: AsyncSession, actor: Actor, number: str) -> list[dict[str, Any]]:
    """Who read the contact of case `number`, and when, oldest first: for staff (services/access.py
    `may_audit_contact_views`); CaseNotFound for anyone else and for a case that does not exist."""
    case = await CaseStore(session).by_number(number)
    if case is None or not access.may_audit_contact_views(actor):
        raise CaseNotFound(number)
    return [
        {"actor": v.actor, "role": v.actor_role, "unmasked": v.unmasked, "at": v.at.isoformat()}
        for v in await CaseStore(session).contact_views(case.id)
    ]


async def reply_templates(
    session: AsyncSession, deployment: Deployment, actor: Actor, number: str
) -> list[dict[str, str]]:
    """The reply templates for case `number` (casework/replies.py: its topic's, then the general ones), with its
    number, department, topic and place written in (the place as the actor may read it). CaseNotFound when the
    case does not exist or the actor may not read it in full."""
    case = await CaseStore(session).by_number(number)
    scope = None if case is None else await access.case_scope(session, case)
    if case is None or scope is None or access.case_view(actor, scope) is not access.View.FULL:
        raise CaseNotFound(number)
    configured = {
        topic: [ReplyTemplate(t.title, t.text) for t in found]
        for topic, found in deployment.cases.reply_templates.items()
    }
    departments = await DirectoryStore(session).names(Department)
    facts = {
        "case_no": case.number,
        "department": departments.get(case.department_id or 0, ""),
        "topic": case.topic,
        "place": access.masked_for(actor, case.place, case.named_people, await access.public_names(session)),
    }
    return [
        {"title": filled.title, "text": filled.text}
        for filled in (fill(t, facts) for t in templates_for(case.topic, configured))
    ]


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


async def follow(session: AsyncSession, party: Party, number: str, now: dt.datetime) -> Case | None:
    """The citizen follows an existing case of their problem instead of opening another; None when it is gone.
    Within the caller's unit of work."""
    cases = CaseStore(session)
    case = await cases.by_number(number)
    if case is not None:
        await cases.follow(case.id, party)
        await cases.look_again_from(now, [s.value for s in OPEN_STATES], case_id=case.id)
    return case


async def notices_reach(session: AsyncSession, user: User, now: dt.datetime) -> None:
    """`user` may now be sent pushes (added, enabled again, or given a chat): the deadline scan looks again at
    the open cases whose notices reach them, so that they are sent those due now, as they were the next minute
    before the scan kept each case's moment. Within the caller's unit of work."""
    if user.role == Role.DEPARTMENT.value:
        scope = {"department_id": user.department_id or -1}
    elif user.role == Role.DEPUTY.value:
        scope = {"deputy_id": user.deputy_id or -1}
    elif user.role in (Role.STAFF.value, Role.ADMIN.value):
        scope = {}
    else:
        return
    await CaseStore(session).look_again_from(now, [s.value for s in OPEN_STATES], **scope)


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
        "source": case.source,
        "merged_into": case.merged_into,
        "escalation_level": case.escalation_level,
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
                "detail": e.detail or {},
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
        if "detail" in event:
            event["detail"] = _masked_detail(actor, event["detail"], names, public)
    return data


def _masked_detail(actor: Actor, value: Any, names: Sequence[str], public: frozenset[str]) -> Any:
    """An event's detail as the actor may read it: every text in it masked like the reason."""
    if isinstance(value, str):
        return access.masked_for(actor, value, names, public)
    if isinstance(value, dict):
        return {k: _masked_detail(actor, v, names, public) for k, v in value.items()}
    if isinstance(value, list):
        return [_masked_detail(actor, v, names, public) for v in value]
    return value


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


async def case_detail(
    session: AsyncSession, actor: Actor, number: str, *, policy: Policy = DEFAULT_POLICY
) -> tuple[Case, dict[str, Any]]:
    """A case with its events, replies, pushes and the actions `actor` may take (`policy`: the deployment's,
    `case_policy`); CaseNotFound when it does not exist or `actor` may not see it (the same answer, so numbers
    cannot be probed). The contact phone in it is masked for everyone: read it with `case_contact`."""
    # The case with everything this reads of it in one statement: on PostgreSQL each statement is a round trip.
    record = await CaseStore(session).record(number)
    if record is None:
        raise CaseNotFound(number)
    case = record.case
    if not access.may_see_case(actor, access.record_scope(case, record.followers)):
        raise CaseNotFound(number)
    departments = {case.department_id: record.department or ""} if case.department_id is not None else {}
    # Staff read every text as written: the public names only spare words from masking.
    public = frozenset() if access.unmasked(actor) else await access.public_names(session)
    data = for_actor(case_json(case, departments), case, actor, public)
    data["replies"] = [
        {
            "text": access.masked_for(actor, r["text"], case.named_people, public),
            "status": r["status"],
            "number": r["number"],
            "author": r["author"],
            "review_note": access.masked_for(actor, r["review_note"], case.named_people, public),
        }
        for r in record.replies
    ]
    offered = allowed_actions(record_facts(record), actor.role, actor=actor.name, policy=policy)
    data["allowed_actions"] = [a.value for a in offered]
    data["pushes"] = [
        {
            "kind": p["kind"],
            "recipient": p["recipient"],
            "channel": p["channel"],
            "status": p["status"],
            "attempts": p["attempts"],
            "error": p["last_error"],
        }
        for p in record.pushes[:PUSHES_SHOWN]
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
    """Reminders before and alerts after each deadline; close answers left unrated too long. Looks only at the
    open cases whose moment to be looked at has come (`Case.next_notice_at`), each in its own transaction, so
    one case's trouble never holds back the others, and sets each its next moment."""
    async with ctx.sessionmaker() as session:
        ids = await CaseStore(session).to_look_at(now, [s.value for s in OPEN_STATES])
        departments = await DirectoryStore(session).names(Department)
    done = 0
    for case_id in ids:
        try:
            done += await _look_at(ctx, case_id, departments, now)
        except Exception:  # its moment stays, so the next scan tries it again; the others go on meanwhile
            log.exception("the deadline scan failed on case %s", case_id)
    return done


async def _look_at(ctx: Context, case_id: int, departments: dict[int, str], now: dt.datetime) -> int:
    """Queue the case's notices due at `now` and set its next moment; close it if its answer went unrated too
    long. How many notices were new, and 1 for a closing."""
    rating_days = ctx.deployment.deadlines.rating_days
    async with ctx.sessionmaker() as session:
        cases = CaseStore(session)
        case = await session.get(Case, case_id)
        if case is None:
            return 0
        read = case.next_notice_at
        rated = (await case_facts(cases, case)).rated_current_reply
        view = case_view(case, departments.get(case.department_id or 0, ""), await cases.answered_at(case.id))
        done = await queue(
            PushStore(session),
            RecipientStore(session),
            case,
            notices.due(view, now, ctx.calendar, rated=rated, rating_days=rating_days),
            now,
        )
        await cases.look_again_at(
            case, notices.next_look(view, now, ctx.calendar, rated=rated, rating_days=rating_days), read
        )
        await session.commit()
        if not notices.unrated_expired(view, now, rated=rated, rating_days=rating_days):
            return done
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
            return done
        return done + 1


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
    """What a citizen may learn of the cases they named: (the names of their departments, one CaseProgress a
    number); a statement a number."""
    store = CaseStore(session)
    departments: dict[int, str] = {}
    actor = citizen_actor(party)
    found: list[CaseProgress] = []
    for number in numbers:
        record = await store.record(number, children=False)
        view = (
            access.View.NONE
            if record is None
            else access.case_view(actor, access.record_scope(record.case, record.followers))
        )
        if record is None or view is access.View.NONE:
            found.append(CaseProgress(number, None))  # unknown and not theirs: the same answer
            continue
        case = record.case
        if case.department_id is not None:
            departments[case.department_id] = record.department or ""
        if view is access.View.SUMMARY:
            found.append(CaseProgress(number, case, access.follower_summary(case, await access.public_names(session))))
        else:
            found.append(CaseProgress(number, case))
    return departments, found


async def cases_of_citizen(session: AsyncSession, party: Party) -> list[Case]:
    """The citizen's own cases, newest first."""
    return list(await CaseStore(session).for_citizen(party.citizen_id))
