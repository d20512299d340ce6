"""Alerts for staff, departments and deputies: the pushes addressed to a user, shown in the console with a count
of those not yet seen (and sent to their Telegram or WeChat as well where they bound one), and the reminders
that a promise to answer a citizen in person is about to be missed, or was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.notices import person_request_due
from services import live
from services.context import Context
from services.pushes import queue_direct
from storage.models import Push
from storage.repositories import ConversationStore, PushStore, RecipientStore

# Staff are reminded this long before a promised answer is due.
DUE_SOON = dt.timedelta(minutes=30)
RECIPIENT_KINDS = ("staff", "department", "deputy")
ALERTS_SHOWN = 100


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    text: str
    at: dt.datetime
    sent_elsewhere: bool  # it went to the user's Telegram or WeChat too
    new: bool


def _mine(user_name: str) -> list[ColumnElement[bool]]:
    return [Push.recipient == user_name, Push.recipient_type.in_(RECIPIENT_KINDS)]


async def alerts_for(ctx: Context, session: AsyncSession, user_id: int, user_name: str) -> list[Alert]:
    """The user's latest alerts, newest first; they count as seen from now on."""
    rows = (
        (await session.execute(select(Push).where(*_mine(user_name)).order_by(Push.id.desc()).limit(ALERTS_SHOWN)))
        .scalars()
        .all()
    )
    seen = int(await ctx.redis.get(ctx.keys.alerts_seen(user_id)) or 0)
    if rows:
        await ctx.redis.set(ctx.keys.alerts_seen(user_id), rows[0].id)
    return [Alert(p.id, p.kind, p.text, p.created_at, p.status == "sent", p.id > seen) for p in rows]


async def unseen_count(ctx: Context, session: AsyncSession, user_id: int, user_name: str) -> int:
    seen = int(await ctx.redis.get(ctx.keys.alerts_seen(user_id)) or 0)
    return int(
        (
            await session.execute(select(func.count()).select_from(Push).where(*_mine(user_name), Push.id > seen))
        ).scalar_one()
    )


async def announce(ctx: Context, now: dt.datetime) -> int:
    """Tell the open consoles of new alerts (a live event per user), once each: a worker job, so alerts made by
    any process (a turn, a deadline scan) are announced after they were committed."""
    last = int(await ctx.redis.get(ctx.keys.alerts_announced) or 0)
    async with ctx.sessionmaker() as session:
        rows = (
            await session.execute(
                select(Push.id, Push.recipient)
                .where(Push.id > last, Push.recipient_type.in_(RECIPIENT_KINDS))
                .order_by(Push.id)
                .limit(1000)
            )
        ).all()
        if not rows:
            return 0
        names = {recipient for _, recipient in rows}
        users = await RecipientStore(session).user_ids(names)
    for name in names:
        if name in users:
            await live.publish(ctx.redis, ctx.keys, live.ALERT, user_id=users[name])
    await ctx.redis.set(ctx.keys.alerts_announced, rows[-1][0])
    return len(rows)


async def remind_person_requests(ctx: Context, now: dt.datetime) -> int:
    """Alert the staff when a promised answer in person is due within DUE_SOON, and again once it is missed."""
    created = 0
    async with ctx.sessionmaker() as session:
        conversations = ConversationStore(session)
        for request in await conversations.open_human_requests():
            if request.answer_by > now + DUE_SOON:
                continue
            who = await conversations.who(request.conversation_id)
            notice = person_request_due(request.id, who, request.answer_by, missed=request.answer_by <= now)
            created += await queue_direct(PushStore(session), RecipientStore(session), [notice], now)
        await session.commit()
    return created
