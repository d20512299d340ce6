"""Pushes: queueing what notices call for, and sending what is due through each channel's sender.

A recipient with no channel still gets a row (status no_channel), so staff can see who was not reached.
Each channel implements `services.senders.PushSender` (in bot/channels); the senders are handed in, so
this layer never imports the channels.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casework.cases import CaseState, Role
from casework.notices import CITIZEN, DEPARTMENT, DEPUTY, CaseView, Notice
from casework.privacy import mask_text
from services import access
from services.context import Context
from services.senders import SendError, WindowClosed
from storage.models import Case, Push, utcnow
from storage.repositories import PushStore, RecipientStore

log = logging.getLogger("liaison.pushes")
MAX_ATTEMPTS = 6
PUSHES_PER_RUN = 200
# A push claimed longer ago than this by a worker that has not finished it is in doubt.
SENDING_LEASE = dt.timedelta(minutes=5)


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min, ... capped at one hour."""
    return dt.timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


async def deliver(ctx: Context, store: PushStore, push: Push, now: dt.datetime) -> None:
    """Send one push that is claimed (status sending) through its channel's sender and record how it went.
    Each outcome is committed at once: a push is never left looking unsent after it went out."""
    sender = ctx.senders.get(push.channel or "") or ctx.senders["*"]
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
    finds the row and sends nothing again, and a send that fails for now is retried by the worker."""
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
            await deliver(ctx, store, push, now)


async def send_due(ctx: Context, now: dt.datetime) -> int:
    """Send what is due, each push once; retry with backoff what may succeed later."""
    sent = 0
    async with ctx.sessionmaker() as session:
        store = PushStore(session)
        await store.give_up_in_doubt(now - SENDING_LEASE)
        while sent < PUSHES_PER_RUN and (push := await store.claim_next(now)) is not None:
            sent += 1
            await deliver(ctx, store, push, now)
    return sent


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
        for recipient, channel, address in await _addresses(recipients, case, notice.recipient):
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


async def _addresses(recipients: RecipientStore, case: Case, kind: str) -> list[tuple[str, str | None, str | None]]:
    if kind == CITIZEN:
        channel, address = await recipients.citizen_address(case.conversation_id)
        found = [(f"citizen:{case.citizen_id}", channel, address)]
        # Citizens who chose to follow this case instead of opening their own hear what its owner hears.
        for conversation_id in await recipients.followers(case.id):
            channel, address = await recipients.citizen_address(conversation_id)
            found.append((f"follower:{conversation_id}", channel, address))
        return found
    if kind == DEPARTMENT:
        users = await recipients.users([Role.DEPARTMENT.value], department_id=case.department_id or -1)
        label = f"department:{case.department_id}"
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


async def listing(session: AsyncSession, *, status: str | None = None) -> list[dict[str, Any]]:
    """The latest pushes, for staff."""
    return [
        {
            "id": p.id,
            "kind": p.kind,
            "recipient_type": p.recipient_type,
            "recipient": p.recipient,
            "channel": p.channel,
            "status": p.status,
            "attempts": p.attempts,
            "error": p.last_error,
            "created_at": p.created_at.isoformat(),
            "sent_at": p.sent_at.isoformat() if p.sent_at else None,
        }
        for p in await PushStore(session).listing(status=status)
    ]
