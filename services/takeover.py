"""Staff take a conversation over from the bot (接管), answer the citizen themselves (发送), and hand it back
(交还). While a member of staff holds a conversation the bot stays silent for that citizen (the inbound
pipeline logs their messages and shows them live, and answers nothing); a hold left idle returns to the bot.

Each use case is one transaction, recorded in `conversation_actions` with who and when, and announced on the
console's live stream once committed. What staff write reaches the citizen through their channel: a
customer-service message on WeChat (inside its 48-hour window and quota, from the configured staff account),
sendMessage on Telegram, and with the citizen's next reply on the web API and the terminal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.errors import Forbidden, InvalidInput, NotFound, Refusal
from services import access, live
from services.context import Context
from services.pushes import send_reply
from services.senders import STAFF_MESSAGE, PushSender
from storage.dialogues import DialogueStore
from storage.repositories import ConversationStore, Party, PushStore
from storage.watch import ConversationRow, WatchStore
from texts import citizen as citizen_texts
from texts import staff as texts

MAX_REPLY = 2000  # characters; WeChat's customer-service text allows about 2,048 bytes of UTF-8 per message


@dataclass(frozen=True)
class StaffMember:
    """Who acts from the console: the user's row id (holds are theirs) and their actor."""

    user_id: int
    actor: Actor


async def take_over(ctx: Context, staff: StaffMember, conversation_id: int, now: dt.datetime) -> None:
    """Hold the conversation for `staff` (taking it again is harmless); the citizen is told a person answers."""
    async with ctx.sessionmaker() as session:
        row = await _conversation(session, staff, conversation_id)
        store = WatchStore(session)
        if row.conversation.held_by_id == staff.user_id:
            return
        if not await store.take(conversation_id, staff.user_id, now):
            holder = row.holder or texts.SYSTEM_ACTOR
            raise Refusal("held_by_other", texts.HELD_BY_OTHER.format(name=holder))
        await store.record_action(conversation_id, "take", staff.actor.name, staff.user_id, now)
        notice = await _record(session, ctx, row, citizen_texts.PERSON_JOINED, None)
        await session.commit()
        await _deliver(ctx, session, row, notice, citizen_texts.PERSON_JOINED)
    await live.publish(ctx.redis, ctx.keys, live.HOLD, conversation_id=conversation_id)


async def send(ctx: Context, staff: StaffMember, conversation_id: int, text: str, now: dt.datetime) -> str:
    """Send what staff wrote to the citizen; the conversation's open requests for a person are answered.
    Returns how it went, in words for the console ("" when it went out)."""
    text = text.strip()
    if not text:
        raise InvalidInput(texts.REPLY_EMPTY, code="empty_reply")
    if len(text) > MAX_REPLY:
        raise InvalidInput(texts.REPLY_TOO_LONG.format(limit=MAX_REPLY), code="reply_too_long")
    async with ctx.sessionmaker() as session:
        row = await _conversation(session, staff, conversation_id)
        store = WatchStore(session)
        if not await store.touch(conversation_id, staff.user_id, now):
            raise Refusal("not_holding", texts.NOT_HOLDING)
        message_id = await _record(session, ctx, row, text, staff.actor.name)
        await store.record_action(conversation_id, "send", staff.actor.name, staff.user_id, now, message_id)
        await store.answer_requests(conversation_id, now)
        await session.commit()
        outcome = await _deliver(ctx, session, row, message_id, text)
    await live.publish(ctx.redis, ctx.keys, live.MESSAGE, conversation_id=conversation_id, message_id=message_id)
    return outcome


async def hand_back(ctx: Context, staff: StaffMember, conversation_id: int, now: dt.datetime) -> None:
    """Return the conversation to the bot: the dialogue starts afresh and the citizen is told."""
    async with ctx.sessionmaker() as session:
        row = await _conversation(session, staff, conversation_id)
        if not await WatchStore(session).release(conversation_id, staff.user_id):
            raise Refusal("not_holding", texts.NOT_HOLDING)
        await _returned(ctx, session, row, "hand_back", staff.actor.name, staff.user_id, now)
    await live.publish(ctx.redis, ctx.keys, live.HOLD, conversation_id=conversation_id)


async def return_idle_holds(ctx: Context, now: dt.datetime, idle: dt.timedelta) -> int:
    """Holds whose holder did nothing for `idle` go back to the bot by themselves (a worker job)."""
    returned = []
    async with ctx.sessionmaker() as session:
        store = WatchStore(session)
        for conversation in await store.idle_holds(now - idle):
            row = await store.one(conversation.id, access.conversation_filter(access.OPERATOR))
            if row is None or not await store.release(conversation.id, conversation.held_by_id):
                continue
            await _returned(ctx, session, row, "expire", texts.SYSTEM_ACTOR, None, now)
            returned.append(conversation.id)
    for conversation_id in returned:
        await live.publish(ctx.redis, ctx.keys, live.HOLD, conversation_id=conversation_id)
    return len(returned)


async def return_idle_holds_now(ctx: Context, now: dt.datetime) -> int:
    """The job: holds idle for longer than the configured time (CONSOLE_HOLD_IDLE_MINUTES) return to the bot."""
    return await return_idle_holds(ctx, now, dt.timedelta(minutes=ctx.settings.console_hold_idle_minutes))


async def _conversation(session: AsyncSession, staff: StaffMember, conversation_id: int) -> ConversationRow:
    if not access.is_staff(staff.actor):
        raise Forbidden(texts.STAFF_ONLY_TAKEOVER, code="forbidden_role")
    row = await WatchStore(session).one(conversation_id, access.conversation_filter(staff.actor))
    if row is None:
        raise NotFound(texts.CONVERSATION_NOT_FOUND)
    return row


async def _returned(
    ctx: Context,
    session: AsyncSession,
    row: ConversationRow,
    action: str,
    actor: str,
    user_id: int | None,
    now: dt.datetime,
) -> None:
    conversation = row.conversation
    await WatchStore(session).record_action(conversation.id, action, actor, user_id, now)
    dialogues = DialogueStore(ctx.redis, ctx.keys)
    state = await dialogues.load(conversation.channel, row.user_id)
    # A fresh dialogue, but the deputy whose card brought the citizen stays theirs.
    kept = {"deputy_code": state["deputy_code"]} if state.get("deputy_code") else None
    await dialogues.save(conversation.channel, row.user_id, kept)
    await WatchStore(session).note_turn(
        conversation.id, status=conversation.last_status, confidence=None, flow=None, deputy_code=None
    )
    notice = await _record(session, ctx, row, citizen_texts.PERSON_LEFT, None)
    await session.commit()
    await _deliver(ctx, session, row, notice, citizen_texts.PERSON_LEFT)


async def _record(session: AsyncSession, ctx: Context, row: ConversationRow, text: str, staff: str | None) -> int:
    """A message to the citizen, in the conversation's record. Channels that cannot message first keep it
    unread: it goes out with the citizen's next reply."""
    conversation = row.conversation
    party = Party(conversation.citizen_id, conversation.identity_id, conversation.id, conversation.channel, row.user_id)
    payload = {"buttons": [], **({"staff": staff} if staff else {})}
    status = "unread" if _sender(ctx, row).waits_for_next_message else "sent"
    message = await ConversationStore(session).record_outbound(
        party, text=text, payload=payload, in_reply_to=None, status=status
    )
    return message.id


async def _deliver(ctx: Context, session: AsyncSession, row: ConversationRow, message_id: int, text: str) -> str:
    """Send a recorded (and committed) message through a channel that can message first, as a push: recorded
    before the call, retried by the worker when the channel fails for now. Returns how it went, in words."""
    if _sender(ctx, row).waits_for_next_message:
        return ""
    key = f"conversation-message:{message_id}"
    await send_reply(
        ctx, dedupe_key=key, channel=row.conversation.channel, address=row.user_id, text=text, kind=STAFF_MESSAGE
    )
    push = await PushStore(session).by_key(key)
    if push is None or push.status == "sent":
        return ""
    if push.status == "waiting_window":
        return texts.REPLY_WAITING_WINDOW
    return texts.REPLY_FAILED.format(error=push.last_error or push.status)


def _sender(ctx: Context, row: ConversationRow) -> PushSender:
    return ctx.senders.get(row.conversation.channel) or ctx.senders["*"]
