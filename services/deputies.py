"""What a deputy does from their own chat: bind it to their record, take up a case, note that they
contacted the citizen, answer on the spot.

Taking up a case sets the case's deputy (who then receives its pushes and is credited for it); a
contact is a note on the case, an event that changes no state; an answer on the spot is the
lifecycle's ANSWER_ON_SPOT, applied by `services.cases.apply` like any other action.

Each runs within the caller's unit of work (the deputy's conversation turn), which commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.cases import CaseState, Role
from casework.errors import Refusal
from casework.lifecycle import OPEN_STATES, Action, Command
from casework.workdays import WorkingCalendar
from services.cases import CaseChanged, apply, notices_reach, record_event
from settings import Deployment
from storage.models import Case, Deputy, User
from storage.repositories import CaseStore, DirectoryStore, UserStore
from texts import deputy as texts
from texts import staff as staff_texts

FOLLOW_ACTION = "deputy_follow"
CONTACT_ACTION = "deputy_contact"


class DeputyRefused(Refusal):
    """The deputy's request cannot be carried out; `message` is Chinese, for the deputy."""


async def bind_chat(session: AsyncSession, deputy_code: str, channel: str, address: str, now: dt.datetime) -> User:
    """Make (channel, address) where the deputy's pushes go: their user `<code>@<channel>`, created if
    needed. The same chat bound earlier to another deputy stops receiving that deputy's pushes."""
    deputy_id = (await DirectoryStore(session).ids(Deputy)).get(deputy_code)
    if deputy_id is None:
        raise DeputyRefused("unknown_deputy", texts.DEPUTY_UNKNOWN.format(code=deputy_code))
    users = UserStore(session)
    name = f"{deputy_code}@{channel}"
    user = await users.by_name(name)
    if user is None:
        user, _token = await users.add(name=name, role=Role.DEPUTY.value, deputy_id=deputy_id)
    for other in await users.by_address(channel, address):
        if other.id != user.id and other.role == Role.DEPUTY.value:
            other.channel = other.address = None
    user.channel, user.address, user.deputy_id, user.active = channel, address, deputy_id, True
    await session.flush()
    await notices_reach(session, user, now)
    return user


async def take_up(session: AsyncSession, user: User, number: str | None, now: dt.datetime) -> tuple[Case, bool]:
    """The deputy follows the case named, or the latest case they were sent; False if they already did."""
    cases = CaseStore(session)
    case = await cases.by_number(number) if number else await cases.latest_pushed_to(user.name)
    if case is None:
        raise DeputyRefused("no_case", texts.DEPUTY_NO_CASE_NAMED)
    if CaseState(case.state) not in OPEN_STATES:
        raise DeputyRefused(
            "closed", texts.DEPUTY_CASE_ENDED.format(number=case.number, state=CaseState(case.state).label)
        )
    if case.deputy_id == user.deputy_id:
        return case, False
    if case.deputy_id is not None:
        raise DeputyRefused("taken", texts.DEPUTY_CASE_TAKEN.format(number=case.number))
    # The deadline scan looks at the case again: the deputy is told of its deadlines from now on.
    if not await cases.compare_and_set(case, next_notice_at=now, deputy_id=user.deputy_id):
        raise CaseChanged(case.number)
    await record_event(
        cases,
        case,
        action=FOLLOW_ACTION,
        actor=user.name,
        actor_role=Role.DEPUTY.value,
        from_state=case.state,
        to_state=case.state,
        reason=staff_texts.EVENT_DEPUTY_FOLLOWS,
        at=now,
    )
    return case, True


async def note_contact(session: AsyncSession, user: User, number: str | None, note: str, now: dt.datetime) -> Case:
    """Record on a case the deputy follows that they contacted the citizen; the state does not change."""
    cases = CaseStore(session)
    case = await _followed(cases, user, number)
    reason = staff_texts.EVENT_DEPUTY_CONTACTED_NOTE.format(note=note) if note else staff_texts.EVENT_DEPUTY_CONTACTED
    await record_event(
        cases,
        case,
        action=CONTACT_ACTION,
        actor=user.name,
        actor_role=Role.DEPUTY.value,
        from_state=case.state,
        to_state=case.state,
        reason=reason,
        at=now,
    )
    return case


async def answer_on_spot(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    user: User,
    number: str | None,
    answer: str,
    now: dt.datetime,
) -> Case:
    """Answer a case the deputy follows on the spot; the citizen gets the answer and is asked to rate it.
    Raises IllegalTransition when the case's state does not allow it."""
    case = await _followed(CaseStore(session), user, number)
    actor = Actor(user.name, Role.DEPUTY, deputy_id=user.deputy_id)
    case, _ = await apply(
        session,
        deployment,
        calendar,
        case.number,
        actor,
        Command(Action.ANSWER_ON_SPOT, Role.DEPUTY, user.name, answer=answer),
        now,
    )
    return case


async def deputy_user(session: AsyncSession, channel: str, address: str) -> User | None:
    """The deputy's user whose pushes go to this chat, if the chat is a deputy's."""
    users = await UserStore(session).by_address(channel, address)
    return next((u for u in users if u.role == Role.DEPUTY.value and u.deputy_id is not None), None)


async def deputy_name(session: AsyncSession, deputy_id: int | None, default: str) -> str:
    return (await DirectoryStore(session).names(Deputy)).get(deputy_id or 0, default)


async def _followed(cases: CaseStore, user: User, number: str | None) -> Case:
    if number:
        case = await cases.by_number(number)
        if case is None or case.deputy_id != user.deputy_id:
            raise DeputyRefused("not_followed", texts.DEPUTY_NOT_FOLLOWED.format(number=number))
        return case
    found = await cases.followed_by(user.deputy_id or -1, [s.value for s in OPEN_STATES], limit=1)
    if not found:
        raise DeputyRefused("no_case", texts.DEPUTY_NO_FOLLOWED_CASE)
    return found[0]
