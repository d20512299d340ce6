"""The timed jobs, one function each, registered in JOBS (arq's habit).

Every job may run again after a worker died halfway: what it creates carries a de-duplication key
(pushes) or is a compare-and-set on the case (automatic closing), so its effects happen once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import select

from bot.channels.senders import SendError, WindowClosed
from bot.runtime import Runtime
from bot.worker import reception as reception_jobs
from casework import notices
from casework.cases import Role
from casework.lifecycle import OPEN_STATES, Action, Command, IllegalTransition
from services.cases import perform
from services.pushes import case_view, queue
from services.records import Actor, case_facts
from storage.models import Case, Department, Push, utcnow
from storage.repositories import CaseStore, DirectoryStore, PushStore, RecipientStore

log = logging.getLogger("liaison.jobs")
MAX_ATTEMPTS = 6
PUSHES_PER_RUN = 200
# A push claimed longer ago than this by a worker that has not finished it is in doubt.
SENDING_LEASE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Runtime, dt.datetime], Awaitable[int]]
    every: dt.timedelta
    timeout: dt.timedelta


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min, ... capped at one hour."""
    return dt.timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


async def scan_deadlines(services: Runtime, now: dt.datetime) -> int:
    """Reminders before and alerts after each deadline; close answers left unrated too long."""
    deployment = services.deployment
    rating_days = deployment.deadlines.rating_days
    done = 0
    async with services.sessionmaker() as session:
        ids = (await session.execute(select(Case.id).where(Case.state.in_([s.value for s in OPEN_STATES]))
                                     .order_by(Case.id))).scalars().all()
        departments = await DirectoryStore(session).names(Department)
    for case_id in ids:
        async with services.sessionmaker() as session:
            cases = CaseStore(session)
            case = await session.get(Case, case_id)
            if case is None:
                continue
            rated = (await case_facts(cases, case)).rated_current_reply
            view = case_view(case, departments.get(case.department_id or 0, ""), await cases.answered_at(case.id))
            pushes, recipients = PushStore(session), RecipientStore(session)
            done += await queue(pushes, recipients, case,
                                notices.due(view, now, services.calendar, rated=rated, rating_days=rating_days), now)
            await session.commit()
            if notices.unrated_expired(view, now, rated=rated, rating_days=rating_days):
                try:
                    await perform(session, deployment, services.calendar, case.number, Actor("system", Role.SYSTEM),
                                  Command(Action.CLOSE_UNRATED, Role.SYSTEM, "system"), now)
                except IllegalTransition:  # the citizen rated, or staff closed it, a moment ago
                    continue
                done += 1
    return done


async def deliver(services: Runtime, store: PushStore, push: Push, now: dt.datetime) -> None:
    """Send one push that is claimed (status sending) through its channel's sender and record how it went."""
    sender = services.senders.get(push.channel or "") or services.senders["*"]
    try:
        await sender.send(push)
    except WindowClosed as exc:
        await store.finish(push.id, status="waiting_window", error=str(exc))
    except SendError as exc:
        error = f"{exc.code} {exc}".strip()
        if exc.retryable and push.attempts < MAX_ATTEMPTS:
            await store.finish(push.id, status="retry", error=error, next_attempt_at=now + backoff(push.attempts))
        else:
            await store.finish(push.id, status="failed", error=error)
    else:
        await store.finish(push.id, status="sent", sent_at=utcnow())


async def send_reply(services: Runtime, *, dedupe_key: str, channel: str, address: str, text: str,
                     buttons: list[str] | tuple[str, ...] = ()) -> None:
    """Send a reply to a citizen at once, as a push recorded first (status sending): a repeated delivery
    finds the row and sends nothing again, and a send that fails for now is retried by the worker."""
    now = utcnow()
    async with services.sessionmaker() as session:
        store = PushStore(session)
        push = await store.enqueue(
            dedupe_key=dedupe_key, kind="reply", recipient_type="citizen", recipient=f"{channel}:{address}",
            channel=channel, address=address, text=text, buttons=list(buttons), status="sending", claimed_at=now,
            attempts=1, next_attempt_at=now, created_at=now)
        await session.commit()
        if push is not None:
            await deliver(services, store, push, now)


async def send_pushes(services: Runtime, now: dt.datetime) -> int:
    """Send what is due, each push once; retry with backoff what may succeed later."""
    sent = 0
    async with services.sessionmaker() as session:
        store = PushStore(session)
        await store.give_up_in_doubt(now - SENDING_LEASE)
        while sent < PUSHES_PER_RUN and (push := await store.claim_next(now)) is not None:
            sent += 1
            await deliver(services, store, push, now)
    return sent


JOBS = (
    Job("send_pushes", send_pushes, every=dt.timedelta(seconds=2), timeout=dt.timedelta(minutes=2)),
    Job("scan_deadlines", scan_deadlines, every=dt.timedelta(minutes=1), timeout=dt.timedelta(minutes=10)),
    Job("reception_rota", reception_jobs.keep_rota, every=dt.timedelta(hours=1), timeout=dt.timedelta(minutes=5)),
    Job("reception_offers", reception_jobs.expire_offers, every=dt.timedelta(minutes=1),
        timeout=dt.timedelta(minutes=2)),
    Job("reception_reminders", reception_jobs.remind_bookings, every=dt.timedelta(minutes=1),
        timeout=dt.timedelta(minutes=5)),
)
