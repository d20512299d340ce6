"""Pushes: queueing what notices call for, and sending what is due through each channel's sender.

A recipient with no channel still gets a row (status no_channel), so staff can see who was not reached.
Each channel implements `services.senders.PushSender` (in bot/channels); the senders are handed in, so
this layer never imports the channels.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casework.cases import CaseState, Role
from casework.notices import CITIZEN, DEPARTMENT, DEPUTY, CaseView, Notice
from casework.privacy import mask_text
from services import access
from services.context import Context
from services.pacing import PushPacer
from services.senders import SendError, Throttled, WindowClosed
from storage.models import Case, Push, utcnow
from storage.repositories import PushStore, RecipientStore

log = logging.getLogger("liaison.pushes")
MAX_ATTEMPTS = 6
PUSHES_PER_RUN = 500
# A run of send_due sends for at most this long (its job's lease is renewed meanwhile), so that the worker's
# other jobs wait no longer; the next run goes on at once.
RUN_SECONDS = 10.0
# send_due waits for a paced recipient's turn when nothing else is due, if it comes within this many seconds.
MAX_NAP = 2.0
# Pushes sent at once by one run: each lane claims one at a time, so a worker that dies leaves at most this many
# in doubt (never sent again).
SEND_LANES = 4
# A place under the pace this close is reserved and waited for, holding the claim; a later one gives the push back.
NAP = 0.25
# A sender woken this much later than its reserved place gives the place up and takes another.
LATE = 0.01
# A reply to a citizen's message waits in place for its recipient's turn up to this long, then goes by the worker.
REPLY_WAIT = 2.0
# A push claimed longer ago than this by a worker that has not finished it is in doubt.
SENDING_LEASE = dt.timedelta(minutes=5)


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min, ... capped at one hour."""
    return dt.timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Held:
    """A push its pace held back (returned to the queue, not counted as an attempt): it may go in `wait`
    seconds; `whole_channel`: the channel's limit holds it, not its recipient's."""

    wait: float
    whole_channel: bool


def pacer(ctx: Context) -> PushPacer:
    return PushPacer(ctx.redis, ctx.keys, ctx.deployment.push_pacing)


async def deliver(
    ctx: Context, store: PushStore, push: Push, now: dt.datetime, pace: PushPacer, *, wait_up_to: float = NAP
) -> Held | None:
    """Send one push that is claimed (status sending) through its channel's sender and record how it went.
    Each outcome is committed at once: a push is never left looking unsent after it went out.

    The push first takes its place under its channel's pace (services/pacing.py), at once or reserved at most
    `wait_up_to` seconds ahead (and waited for here); a longer wait, or the channel's own "too many requests",
    gives the push back to the queue for later (Held), as not tried."""
    channel = push.channel or ""
    sender = ctx.senders.get(channel) or ctx.senders["*"]
    admission = await pace.take(channel, push.address, within=wait_up_to)
    while admission.taken and admission.wait > 0:
        planned = time.monotonic() + admission.wait
        await asyncio.sleep(admission.wait)
        if time.monotonic() - planned <= LATE:
            break
        # Woken too late for its place: sent now, it would crowd the places after it. It takes another.
        admission = await pace.take(channel, push.address, within=wait_up_to)
    if not admission.taken:
        await store.release(push.id, next_attempt_at=now + dt.timedelta(seconds=admission.wait))
        return Held(admission.wait, admission.whole_channel)
    try:
        await sender.send(push)
    except Throttled as exc:
        await pace.pause(channel, push.address, exc.retry_after, whole_channel=exc.whole_channel)
        await store.release(push.id, next_attempt_at=now + dt.timedelta(seconds=exc.retry_after), error=str(exc))
        log.warning("%s asked to wait %.1f s (push %s): %s", channel, exc.retry_after, push.id, exc)
        return Held(exc.retry_after, exc.whole_channel)
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
    return None


async def send_reply(
    ctx: Context,
    *,
    dedupe_key: str,
    channel: str,
    address: str,
    text: str,
    buttons: list[str] | tuple[str, ...] = (),
    kind: str = "reply",
) -> None:
    """Send a reply to a citizen at once, as a push recorded first (status sending): a repeated delivery
    finds the row and sends nothing again, and a send that fails for now, or must wait for its pace longer
    than REPLY_WAIT, is sent by the worker."""
    now = utcnow()
    async with ctx.sessionmaker() as session:
        store = PushStore(session)
        push = await store.enqueue(
            dedupe_key=dedupe_key,
            kind=kind,
            recipient_type="citizen",
            recipient=f"{channel}:{address}",
            channel=channel,
            address=address,
            text=text,
            buttons=list(buttons),
            status="sending",
            claimed_at=now,
            attempts=1,
            next_attempt_at=now,
            created_at=now,
        )
        # The claim is its own transaction, committed before the call: the channel takes no idempotency key.
        await session.commit()
        if push is not None:
            await deliver(ctx, store, push, now, pacer(ctx), wait_up_to=REPLY_WAIT)


@dataclass
class _Run:
    """One run of send_due, shared by its lanes: what is held back by its pace (channel, address or None for the
    whole channel -> monotonic time it is free), and how many pushes are done."""

    now: dt.datetime
    started: float
    held: dict[tuple[str, str | None], float] = field(default_factory=dict)
    done: int = 0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def going(self) -> bool:
        return self.done < PUSHES_PER_RUN and self.elapsed() < RUN_SECONDS


async def send_due(ctx: Context, now: dt.datetime) -> int:
    """Send what is due, each push once, at its channel's pace; retry with backoff what may succeed later.

    SEND_LANES lanes send at once (a platform's round trip is far longer than its pace's spacing), each claiming
    one push at a time. Recipients (or channels) held back by their pace are left out of the claims until their
    turn, and a lane waits for the nearest turn when nothing else is due, for at most RUN_SECONDS in all. `now`
    moves on with the run's own time. Return how many pushes were sent or finished otherwise."""
    async with ctx.sessionmaker() as session:
        await PushStore(session).give_up_in_doubt(now - SENDING_LEASE)
    run = _Run(now, time.monotonic())
    pace = pacer(ctx)
    await asyncio.gather(*(_lane(ctx, pace, run) for _ in range(SEND_LANES)))
    return run.done


async def _lane(ctx: Context, pace: PushPacer, run: _Run) -> None:
    async with ctx.sessionmaker() as session:
        store = PushStore(session)
        while run.going():
            moment = time.monotonic()
            run.held = {who: until for who, until in run.held.items() if until > moment}
            current = run.now + dt.timedelta(seconds=run.elapsed())
            push = await store.claim_next(
                current,
                skip_channels=[channel for channel, address in run.held if address is None],
                skip_recipients=[(channel, address) for channel, address in run.held if address is not None],
            )
            if push is None:
                nearest = min(run.held.values(), default=moment)
                if nearest <= moment or nearest - moment > MAX_NAP:
                    return
                await asyncio.sleep(nearest - moment)
                continue
            channel = push.channel or ""
            outcome = await deliver(ctx, store, push, current, pace)
            if isinstance(outcome, Held):
                run.held[(channel, None if outcome.whole_channel else push.address)] = time.monotonic() + outcome.wait
                continue
            run.done += 1
            if (spacing := pace.recipient_spacing(channel)) and push.address:
                run.held[(channel, push.address)] = time.monotonic() + spacing


def case_view(case: Case, department: str, answered_at: dt.datetime | None = None) -> CaseView:
    """`answered_at`: when the answer awaiting a rating was sent (defaults to the last change)."""
    return CaseView(
        id=case.id,
        number=case.number,
        state=CaseState(case.state),
        topic=case.topic,
        department=department,
        description=case.description,
        place=case.place,
        reply_due_at=case.reply_due_at,
        overdue_at=case.overdue_at,
        transfer_due_at=case.transfer_due_at,
        has_deputy=case.deputy_id is not None,
        answered_at=answered_at or case.updated_at,
    )


async def queue(
    pushes: PushStore, recipients: RecipientStore, case: Case, notices: list[Notice], now: dt.datetime
) -> int:
    """Record one push per notice and person; return how many were new (repeats are ignored). A text is
    masked for a reader who may not see identities (services/access.py: a department, a deputy, a
    follower)."""
    created = 0
    public: frozenset[str] | None = None
    for notice in notices:
        for recipient, channel, address in await _addresses(recipients, case, notice.recipient, notice.department_id):
            text, buttons = notice.text, list(notice.buttons)
            if recipient.startswith("follower:") and notice.follower_text:
                text, buttons = notice.follower_text, []
            if access.push_masked(notice.recipient, recipient):
                public = await access.public_names(pushes.session) if public is None else public
                text = mask_text(text, case.named_people, public)
            push = await pushes.enqueue(
                dedupe_key=f"{notice.dedupe_key}:{recipient}",
                kind=notice.kind,
                recipient_type=notice.recipient,
                recipient=recipient,
                channel=channel,
                address=address,
                case_id=case.id,
                text=text,
                buttons=buttons,
                status="queued" if address else "no_channel",
                next_attempt_at=now,
                created_at=now,
            )
            created += push is not None
    return created


async def _addresses(
    recipients: RecipientStore, case: Case, kind: str, department_id: int | None = None
) -> list[tuple[str, str | None, str | None]]:
    """(recipient, channel, address) of each person a notice of `kind` reaches; `department_id`: another
    department than the case's (the one an assignment took it from)."""
    if kind == CITIZEN:
        channel, address = await recipients.citizen_address(case.conversation_id)
        found = [(f"citizen:{case.citizen_id}", channel, address)]
        # Citizens who chose to follow this case instead of opening their own hear what its owner hears.
        for conversation_id in await recipients.followers(case.id):
            channel, address = await recipients.citizen_address(conversation_id)
            found.append((f"follower:{conversation_id}", channel, address))
        return found
    if kind == DEPARTMENT:
        department = department_id or case.department_id
        users = await recipients.users([Role.DEPARTMENT.value], department_id=department or -1)
        label = f"department:{department}"
    elif kind == DEPUTY:
        users = await recipients.users([Role.DEPUTY.value], deputy_id=case.deputy_id or -1)
        label = f"deputy:{case.deputy_id}"
    else:
        users = await recipients.users([Role.STAFF.value, Role.ADMIN.value])
        label = "staff"
    if not users:
        return [(label, None, None)]
    return [(user.name, user.channel, user.address) for user in users]


async def queue_direct(
    pushes: PushStore,
    recipients: RecipientStore,
    notices: list[Notice],
    now: dt.datetime,
    *,
    conversation_id: int | None = None,
    citizen_id: int | None = None,
    deputy_ids: Sequence[int] = (),
) -> int:
    """Like `queue`, for pushes about no case (reception bookings): CITIZEN notices go to the citizen of
    `conversation_id`, DEPUTY notices to each deputy of `deputy_ids` (their users with role deputy),
    STAFF notices to the staff. Return how many were new (repeats of a dedupe key are ignored)."""
    created = 0
    for notice in notices:
        if notice.recipient == CITIZEN:
            channel, address = await recipients.citizen_address(conversation_id)
            found = [(f"citizen:{citizen_id}", channel, address)]
        elif notice.recipient == DEPUTY:
            found = []
            for deputy_id in deputy_ids:
                users = await recipients.users([Role.DEPUTY.value], deputy_id=deputy_id)
                found += [(u.name, u.channel, u.address) for u in users] or [(f"deputy:{deputy_id}", None, None)]
        else:
            users = await recipients.users([Role.STAFF.value, Role.ADMIN.value])
            found = [(u.name, u.channel, u.address) for u in users] or [("staff", None, None)]
        for recipient, channel, address in found:
            push = await pushes.enqueue(
                dedupe_key=f"{notice.dedupe_key}:{recipient}",
                kind=notice.kind,
                recipient_type=notice.recipient,
                recipient=recipient,
                channel=channel,
                address=address,
                case_id=None,
                text=notice.text,
                buttons=list(notice.buttons),
                status="queued" if address else "no_channel",
                next_attempt_at=now,
                created_at=now,
            )
            created += push is not None
    return created


PAGE_LIMIT = 100
MAX_PAGE_LIMIT = 500


@dataclass(frozen=True)
class PushPage:
    """One page of the pushes, newest first: `items`, and `total` pushes matching the filter. `next_offset`:
    where the next page starts, None on the last."""

    items: list[dict[str, Any]]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        following = self.offset + len(self.items)
        return following if following < self.total else None


async def listing(
    session: AsyncSession, *, status: str | None = None, limit: int = PAGE_LIMIT, offset: int = 0
) -> PushPage:
    """A page of the pushes for staff, newest first (`offset` pushes skipped, at most `limit`), with how many
    there are in all. The caller checks that the reader is staff (services/access.py `is_staff`)."""
    limit = max(1, min(limit, MAX_PAGE_LIMIT))
    offset = max(0, offset)
    store = PushStore(session)
    rows = await store.listing(status=status, limit=limit, offset=offset)
    items = [
        {
            "id": p.id,
            "kind": p.kind,
            "recipient_type": p.recipient_type,
            "recipient": p.recipient,
            "channel": p.channel,
            "status": p.status,
            "attempts": p.attempts,
            "error": p.last_error,
            "case_id": p.case_id,
            "created_at": p.created_at.isoformat(),
            "sent_at": p.sent_at.isoformat() if p.sent_at else None,
        }
        for p in rows
    ]
    return PushPage(items, await store.count(status=status), limit, offset)
