"""Conversations, the application layer: every inbound message from any channel is logged, de-duplicated,
rate-limited and answered here, one turn per message; plus the citizens waiting for a person.

    claim the delivery ─► lock the citizen ─► log the message (committed) ─► load the dialogue
        ─► rate limit ─► converse (the handlers) ─► log the replies, mark the message (committed)
        ─► save the dialogue

A turn is two transactions: the inbound message is written before anything acts on it, so nothing is
lost if the process dies mid-way; everything the turn did (cases, pushes, replies) commits together.
The handlers decide what to say; they get the turn's session as their unit of work and never commit.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casework.errors import InvalidInput
from casework.handoff import human_answer_by
from casework.notices import person_requested
from casework.workdays import WorkingCalendar
from services import live
from services.pushes import queue_direct
from settings import Deployment
from storage.dialogues import BindCodes, DialogueStore, Subscriptions
from storage.keys import Keys
from storage.repositories import ConversationStore, Party, PushStore, RecipientStore
from storage.watch import WatchStore

__all__ = ["BindCodes", "DialogueState", "Inbound", "Inbox", "Party", "Reply", "Subscriptions", "TurnEnd", "TurnStart"]
from texts import citizen as texts
from texts import errors as error_texts

log = logging.getLogger("liaison.conversations")
# How long a repeated delivery waits for the first copy's replies.
DUPLICATE_WAIT_SECONDS = 8.0
DELIVERY_TTL_SECONDS = 3600
# Lone surrogates (from JSON's "\ud800") cannot be encoded; PostgreSQL refuses NUL in text columns.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_CHANNEL, MAX_ID = 20, 128  # the columns' sizes
_SURROGATES = {code: "\ufffd" for code in range(0xD800, 0xE000)}


def clean_text(value: str) -> str:
    """A citizen's words as they can be stored: NUL dropped, a lone surrogate replaced by U+FFFD.

    Text is cleaned rather than refused: the platform accepted the message, and the citizen should
    not lose it for an invisible character."""
    return value.replace("\x00", "").translate(_SURROGATES) if UNSTORABLE.search(value) else value


def check_id(value: str, limit: int = MAX_ID) -> str:
    """An identifier (channel, user id, delivery id) as given, or InvalidInput: ids are keys, so they are
    refused, never changed (two different ids must not become one)."""
    if not value or len(value) > limit or UNSTORABLE.search(value):
        raise InvalidInput(error_texts.INVALID_ID.format(limit=limit), code="invalid_id")
    return value


@dataclass(frozen=True)
class Inbound:
    """A message from a citizen, whatever the channel; adapters build these and nothing else.

    Every door's strings pass here: ids are checked (`check_id`, InvalidInput when unstorable), text is
    cleaned (`clean_text`), a position must be finite and on the globe."""

    channel: str
    user_id: str
    kind: str = "text"  # text | image | location | voice | event
    text: str = ""
    media_ref: str = ""
    latitude: float | None = None
    longitude: float | None = None
    label: str = ""
    # The channel's id of this delivery (WeChat MsgId, Telegram update id); repeats are answered once.
    external_id: str | None = None
    event: str = ""
    event_key: str = ""

    def __post_init__(self) -> None:
        check_id(self.channel, MAX_CHANNEL)
        check_id(self.user_id)
        if self.external_id is not None:
            check_id(self.external_id)
        for name in ("kind", "text", "media_ref", "label", "event", "event_key"):
            object.__setattr__(self, name, clean_text(getattr(self, name)))
        for value, bound in ((self.latitude, 90), (self.longitude, 180)):
            if value is not None and not (math.isfinite(value) and -bound <= value <= bound):
                raise InvalidInput(error_texts.INVALID_POSITION, code="bad_position")

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name in ("media_ref", "label", "event", "event_key"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.latitude is not None:
            data["latitude"], data["longitude"] = self.latitude, self.longitude
        return data


@dataclass(frozen=True)
class Reply:
    text: str
    # Quick answers a channel may render as buttons; the words are always understood as text too.
    buttons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": list(self.buttons)}


@dataclass
class DialogueState:
    flow: str | None = None  # the flow in progress ("report", "withdraw", "booking") or None
    step: str | None = None
    draft: dict[str, Any] = field(default_factory=dict)
    # A message that arrived while the NLU was down and could not be understood, kept for later.
    pending_text: str | None = None
    # The deputy a citizen came to through a deputy's card (QR scene), followed by their reports.
    deputy_code: str | None = None

    def reset_flow(self) -> None:
        self.flow = None
        self.step = None
        self.draft = {}


@dataclass
class TurnStart:
    """What the handlers get for one message: the turn's session is their unit of work (they never commit)."""

    inbound: Inbound
    party: Party
    state: DialogueState
    message_id: int
    session: AsyncSession
    now: dt.datetime


@dataclass
class TurnEnd:
    """What the handlers answer: the replies, the inbound message's final status, what the NLU made of it."""

    replies: list[Reply]
    status: str = "handled"
    intent: str | None = None
    confidence: float | None = None
    topic: str | None = None


Converse = Callable[[TurnStart], Awaitable[TurnEnd]]


class Inbox:
    """The inbound pipeline every channel shares (through handlers.dispatch.Dispatcher)."""

    def __init__(
        self, sessionmaker: async_sessionmaker[AsyncSession], redis: Redis, keys: Keys, deployment: Deployment
    ) -> None:
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.keys = keys
        self.deployment = deployment
        self.dialogues = DialogueStore(redis, keys)
        self.subscriptions = Subscriptions(redis, keys)
        self.bind_codes = BindCodes(redis, keys)

    async def handle(self, inbound: Inbound, converse: Converse, now: dt.datetime) -> list[Reply]:
        """Answer one inbound message. A repeated delivery gets the first copy's replies, once."""
        if inbound.external_id and not await self._claim_delivery(inbound):
            return await self._replies_of_first_copy(inbound)
        lock = self.redis.lock(
            self.keys.citizen_lock(inbound.channel, inbound.user_id), timeout=60, blocking_timeout=30
        )
        try:
            async with lock, self.sessionmaker() as session:
                return await self._turn(session, inbound, converse, now)
        except Exception:
            # Unanswered: let the channel's retry of this delivery be processed instead of waiting on us.
            if inbound.external_id:
                await self.redis.delete(self.keys.delivery(inbound.channel, inbound.external_id))
            raise

    async def _turn(self, session: AsyncSession, inbound: Inbound, converse: Converse, now: dt.datetime) -> list[Reply]:
        conversations = ConversationStore(session)
        party = await conversations.identify(inbound.channel, inbound.user_id)
        message = await conversations.record_inbound(
            party, kind=inbound.kind, text=inbound.text, payload=inbound.payload(), external_id=inbound.external_id
        )
        if message is None:
            assert inbound.external_id is not None
            return await _stored_replies(session, inbound.external_id, inbound.channel)
        message_id = message.id
        # Pushes that waited for this citizen's next message (channels that cannot push) come first.
        waiting = [
            Reply(m.text, tuple(m.payload.get("buttons", [])))
            for m in await conversations.take_unread(party.conversation_id)
        ]
        # Pushes that waited for this citizen's messaging window (WeChat's 48 hours) can go now.
        await PushStore(session).reopen_window(inbound.channel, inbound.user_id, now)
        await session.commit()  # written before the bot acts on it

        await live.publish(
            self.redis, self.keys, live.MESSAGE, conversation_id=party.conversation_id, message_id=message_id
        )

        state = DialogueState(**await self.dialogues.load(inbound.channel, inbound.user_id))
        if party.held:
            # A person answers this citizen (services.takeover): the message is kept and shown, the bot is silent.
            end = TurnEnd([], "held")
        elif await self._flooded(inbound, now):
            first = await self._first_flood_notice(inbound, now)
            end = TurnEnd([Reply(texts.RATE_LIMITED)] if first else [], "rate_limited")
        else:
            try:
                end = await converse(TurnStart(inbound, party, state, message_id, session, now))
            except Exception:
                # The message is kept (marked failed, for staff to see) and the citizen told, not left waiting.
                log.exception("a flow failed on message %s", message_id)
                await session.rollback()
                state = DialogueState(**await self.dialogues.load(inbound.channel, inbound.user_id))
                end = TurnEnd([Reply(texts.FLOW_FAILED)], "failed")
        for reply in end.replies:
            await conversations.record_outbound(
                party, text=reply.text, payload={"buttons": list(reply.buttons)}, in_reply_to=message_id
            )
        await conversations.mark(
            message_id, status=end.status, intent=end.intent, confidence=end.confidence, topic=end.topic
        )
        await WatchStore(session).note_turn(
            party.conversation_id,
            status=end.status,
            confidence=end.confidence,
            flow=state.flow,
            deputy_code=state.deputy_code,
        )
        await session.commit()
        await self.dialogues.save(inbound.channel, inbound.user_id, None if state == DialogueState() else asdict(state))
        await live.publish(
            self.redis, self.keys, live.MESSAGE, conversation_id=party.conversation_id, message_id=message_id
        )
        return waiting + end.replies

    async def _flooded(self, inbound: Inbound, now: dt.datetime) -> bool:
        limit = self.deployment.rate_limit
        window = int(now.timestamp()) // limit.per_seconds
        key = self.keys.rate(inbound.channel, inbound.user_id, window)
        count = await self.redis.incr(key)
        if count == 1:
            await self.redis.expire(key, limit.per_seconds * 2)
        return count > limit.messages

    async def _first_flood_notice(self, inbound: Inbound, now: dt.datetime) -> bool:
        limit = self.deployment.rate_limit
        window = int(now.timestamp()) // limit.per_seconds
        key = self.keys.rate_notice(inbound.channel, inbound.user_id, window)
        return bool(await self.redis.set(key, "1", nx=True, ex=limit.per_seconds * 2))

    async def _claim_delivery(self, inbound: Inbound) -> bool:
        assert inbound.external_id is not None
        key = self.keys.delivery(inbound.channel, inbound.external_id)
        return bool(await self.redis.set(key, "1", nx=True, ex=DELIVERY_TTL_SECONDS))

    async def _replies_of_first_copy(self, inbound: Inbound) -> list[Reply]:
        """Wait until the first copy of this delivery has been answered, then give the same answer."""
        assert inbound.external_id is not None
        deadline = asyncio.get_running_loop().time() + DUPLICATE_WAIT_SECONDS
        while True:
            async with self.sessionmaker() as session:
                message = await ConversationStore(session).find_inbound(inbound.channel, inbound.external_id)
                if message is not None and message.status != "received":
                    return await _stored_replies(session, inbound.external_id, inbound.channel)
            if asyncio.get_running_loop().time() > deadline:
                return []
            await asyncio.sleep(0.1)


async def _stored_replies(session: AsyncSession, external_id: str, channel: str) -> list[Reply]:
    conversations = ConversationStore(session)
    message = await conversations.find_inbound(channel, external_id)
    if message is None:
        return []
    return [Reply(m.text, tuple(m.payload.get("buttons", []))) for m in await conversations.replies_to(message.id)]


async def open_human_requests(session: AsyncSession) -> list[dict[str, Any]]:
    """Citizens waiting for a person, oldest first, with the time promised to them."""
    return [
        {
            "id": r.id,
            "conversation_id": r.conversation_id,
            "requested_at": r.requested_at.isoformat(),
            "answer_by": r.answer_by.isoformat(),
        }
        for r in await ConversationStore(session).open_human_requests()
    ]


async def request_human(
    session: AsyncSession, calendar: WorkingCalendar, party: Party, message_id: int, now: dt.datetime
) -> dt.datetime:
    """Record that the citizen asked for a person and tell the staff, with their last words; return by when a
    person will answer. Within the caller's unit of work (the turn)."""
    answer_by = human_answer_by(now, calendar)
    conversations = ConversationStore(session)
    request = await conversations.request_human(party, message_id, answer_by)
    recent = [m.text for m in await conversations.messages(party.conversation_id, limit=6) if m.direction == "in"]
    notice = person_requested(request.id, f"{party.channel}:{party.user_id}", answer_by, recent[-3:])
    await queue_direct(PushStore(session), RecipientStore(session), [notice], now)
    return answer_by


async def issue_bind_code(redis: Redis, keys: Keys, deputy_code: str) -> str:
    """A one-time code a deputy sends from their chat (绑定 CODE) to receive their pushes there."""
    return await BindCodes(redis, keys).issue(deputy_code)
