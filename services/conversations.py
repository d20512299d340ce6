"""Conversations, the application layer: every inbound message from any channel is logged, de-duplicated,
rate-limited and answered here, exactly once, one turn per message; plus the citizens waiting for a person.

    lease the delivery ─► lease the citizen ─► log the message (committed) ─► load the dialogue
        ─► rate limit ─► converse (the handlers) ─► log the replies, mark the message (compare-and-set
        from `received`; committed) ─► save the dialogue

A turn is two transactions: the inbound message is written before anything acts on it, so nothing is
lost if the process dies mid-way; everything the turn did (cases, pushes, replies) commits together with
the message's final status. The handlers decide what to say; they get the turn's session as their unit of
work and never commit. A message left `received` (its process died, or it could not be taken and was kept)
is processed by the channel's retry of it, or else by the recovery pass (`Inbox.recover`, a worker job),
which sends the replies as a push.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casework.errors import InvalidInput, TryLater
from casework.handoff import human_answer_by
from casework.notices import person_requested
from casework.workdays import WorkingCalendar
from services import live
from services.pushes import queue_direct
from settings import Deployment
from storage.dialogues import BindCodes, DialogueStore, Subscriptions, decode
from storage.keys import Keys
from storage.leases import Leases
from storage.models import Message
from storage.repositories import ConversationStore, Party, PushStore, RecipientStore
from storage.watch import WatchStore

__all__ = ["BindCodes", "DialogueState", "Inbound", "Inbox", "Party", "Reply", "Subscriptions", "TurnEnd", "TurnStart"]
from texts import citizen as texts
from texts import errors as error_texts

log = logging.getLogger("liaison.conversations")
# A delivery's and a citizen's leases last this long unless renewed (every third of it, while a turn runs).
LEASE_SECONDS = 10.0
# A message waits for a lease (another copy of its delivery at work, the citizen's previous message) half a
# lease longer than a lease lasts, so that a dead holder's lease lapses within the wait.
WAIT_FACTOR = 1.5
POLL_SECONDS = 0.1
# What a message that cannot be taken within the wait tells the channel: send it again after this.
RETRY_AFTER_SECONDS = 5
# The recovery pass takes a message left `received` this long, once its leases are free: a crashed turn's
# retries, and a kept message's retry after Retry-After, come well before.
STUCK_AFTER = dt.timedelta(seconds=30)
RECOVER_PER_RUN = 50
RECEIVED = "received"
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
    # Unfinished flows set aside when the citizen turned to something else ({"flow", "step", "draft"}), oldest
    # first, one per flow; "继续" takes the latest back (handlers.detours).
    parked: list[dict[str, Any]] = field(default_factory=list)

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
    """The inbound pipeline every channel shares (through handlers.dispatch.Dispatcher).

    Leases (storage.leases, renewed while the turn runs, `lease` seconds unless renewed): one on the delivery
    (channel, sender, external id), so that its copies wait for one answer, and one on the citizen, so that
    their messages are answered one at a time. A process that dies holding them frees them within a lease.
    Exactly once is the database's: the message's final status is a compare-and-set from `received`, and a
    turn that loses it undoes its work."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        keys: Keys,
        deployment: Deployment,
        *,
        lease: float = LEASE_SECONDS,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.keys = keys
        self.deployment = deployment
        self.lease = lease
        # Longer than a lease: the leases of a process that died lapse while a message waits for them.
        self.wait = lease * WAIT_FACTOR
        self.dialogues = DialogueStore(redis, keys)
        self.subscriptions = Subscriptions(redis, keys)
        self.bind_codes = BindCodes(redis, keys)

    async def handle(self, inbound: Inbound, converse: Converse, now: dt.datetime) -> list[Reply]:
        """Answer one inbound message. Copies of a delivery get the replies of the one that was processed; a
        stored copy nobody finished (its process died) is processed now. TryLater when the message cannot be
        taken within the wait; a message with an id is then kept, for its retry or the recovery pass."""
        async with Leases(self.redis, self.lease) as leases:
            if inbound.external_id:
                answered = await self._claim_delivery(leases, inbound)
                if answered is not None:
                    return answered
            citizen = self.keys.citizen_lock(inbound.channel, inbound.user_id)
            if not await leases.take(citizen):
                # The citizen's previous message is in a turn. A delivery is stored before waiting for it: a
                # channel that hangs up meanwhile (WeChat after 5 s) and a process killed meanwhile lose nothing.
                if inbound.external_id:
                    await self._keep(inbound)
                if not await leases.take(citizen, self.wait):
                    raise TryLater(RETRY_AFTER_SECONDS, detail=f"{inbound.channel} citizen busy past {self.wait} s")
            async with self.sessionmaker() as session:
                return await self._turn(session, inbound, converse, now)

    async def stored(self, inbound: Inbound) -> bool:
        """Whether this delivery is in the store (a door may then tell its channel it was received). A message
        without the channel's id cannot be looked up, and counts as stored once handed over."""
        if not inbound.external_id:
            return True
        async with self.sessionmaker() as session:
            found = await ConversationStore(session).find_inbound(inbound.channel, inbound.user_id, inbound.external_id)
        return found is not None

    async def recover(self, converse: Converse, now: dt.datetime) -> int:
        """The recovery pass: process the messages left `received` for STUCK_AFTER whose leases are free (their
        process died mid-turn, or they were kept when they could not be taken), each once, oldest first; their
        replies go to the citizen by push. Return how many were processed."""
        async with self.sessionmaker() as session:
            stuck = await ConversationStore(session).stuck_inbound(now - STUCK_AFTER, RECOVER_PER_RUN)
        recovered = 0
        for message, user_id in stuck:
            try:
                recovered += await self._recover(stored_inbound(message, user_id), message.id, converse, now)
            except Exception:  # noqa: BLE001 - one message that cannot be processed must not hold up the others
                log.exception("recovering message %s failed", message.id)
        return recovered

    async def _claim_delivery(self, leases: Leases, inbound: Inbound) -> list[Reply] | None:
        """Take the lease on this delivery: None once taken, for a delivery not yet answered; the replies of
        the copy that was answered. While another copy holds the lease, wait for it (its answer, or its
        lease lapsing); TryLater past the wait."""
        assert inbound.external_id is not None
        key = self.keys.delivery(inbound.channel, inbound.user_id, inbound.external_id)
        deadline = asyncio.get_running_loop().time() + self.wait
        while True:
            taken = await leases.take(key)
            async with self.sessionmaker() as session:
                conversations = ConversationStore(session)
                message = await conversations.find_inbound(inbound.channel, inbound.user_id, inbound.external_id)
                if message is not None and message.status != RECEIVED:
                    return await _answer_again(session, conversations, message)
            if taken:
                return None
            if asyncio.get_running_loop().time() > deadline:
                raise TryLater(RETRY_AFTER_SECONDS, detail=f"another copy of {inbound.external_id} is at work")
            await asyncio.sleep(POLL_SECONDS)

    async def _keep(self, inbound: Inbound) -> None:
        """Store a delivery not taken yet, `received`: this turn, its retry or the recovery pass answers it."""
        async with self.sessionmaker() as session:
            conversations = ConversationStore(session)
            party = await conversations.identify(inbound.channel, inbound.user_id)
            await conversations.record_inbound(
                party, kind=inbound.kind, text=inbound.text, payload=inbound.payload(), external_id=inbound.external_id
            )
            await session.commit()

    async def _turn(self, session: AsyncSession, inbound: Inbound, converse: Converse, now: dt.datetime) -> list[Reply]:
        conversations = ConversationStore(session)
        party = await conversations.identify(inbound.channel, inbound.user_id)
        message_id = await conversations.record_inbound(
            party, kind=inbound.kind, text=inbound.text, payload=inbound.payload(), external_id=inbound.external_id
        )
        if message_id is None:
            # Stored before: by a process that died mid-turn, or kept when it could not be taken. Ours now.
            assert inbound.external_id is not None
            message = await conversations.find_inbound(inbound.channel, inbound.user_id, inbound.external_id)
            assert message is not None
            if message.status != RECEIVED:
                return await _answer_again(session, conversations, message)
            message_id = message.id
        # Pushes that waited for this citizen's next message (channels that cannot push) come first.
        waiting = _replies(await conversations.take_unread(party.conversation_id)) if party.unread else []
        if party.waiting_window:
            # Pushes that waited for this citizen's messaging window (WeChat's 48 hours) can go now.
            await PushStore(session).reopen_window(inbound.channel, inbound.user_id, now)
        await session.commit()  # written before the bot acts on it
        await live.publish(
            self.redis, self.keys, live.MESSAGE, conversation_id=party.conversation_id, message_id=message_id
        )
        replies = await self._process(session, party, inbound, message_id, converse, now)
        if replies is None:
            replies = _replies(await conversations.replies_to(message_id))
        return waiting + replies

    async def _recover(self, inbound: Inbound, message_id: int, converse: Converse, now: dt.datetime) -> bool:
        async with Leases(self.redis, self.lease) as leases:
            if inbound.external_id and not await leases.take(
                self.keys.delivery(inbound.channel, inbound.user_id, inbound.external_id)
            ):
                return False  # a copy of it is at work
            if not await leases.take(self.keys.citizen_lock(inbound.channel, inbound.user_id)):
                return False  # the citizen is in a turn: the next pass
            async with self.sessionmaker() as session:
                conversations = ConversationStore(session)
                if await conversations.inbound_status(message_id) != RECEIVED:
                    return False  # answered since the pass looked
                party = await conversations.identify(inbound.channel, inbound.user_id)
                await session.commit()
                log.info("recovering message %s of %s", message_id, inbound.channel)
                return await self._process(session, party, inbound, message_id, converse, now, by_push=True) is not None

    async def _process(
        self,
        session: AsyncSession,
        party: Party,
        inbound: Inbound,
        message_id: int,
        converse: Converse,
        now: dt.datetime,
        *,
        by_push: bool = False,
    ) -> list[Reply] | None:
        """Converse on a stored `received` message, log the replies and mark it, in one transaction; save the
        dialogue. The replies; None when another turn had processed the message first (this one's work is
        undone). `by_push`: the citizen is not waiting on this turn, so the replies go out as one push."""
        conversations = ConversationStore(session)
        state, count = await self._open(party, inbound, now)
        if party.held:
            # A person answers this citizen (services.takeover): the message is kept and shown, the bot is silent.
            end = TurnEnd([], "held")
        elif count > self.deployment.rate_limit.messages:
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
        await conversations.record_replies(
            party,
            [(reply.text, {"buttons": list(reply.buttons)}) for reply in end.replies],
            in_reply_to=message_id,
            status="pushed" if by_push else "sent",
        )
        if by_push and end.replies:
            await _push_replies(PushStore(session), party, message_id, end.replies, now)
        marked = await conversations.mark(
            message_id, status=end.status, intent=end.intent, confidence=end.confidence, topic=end.topic
        )
        if not marked:
            await session.rollback()
            log.warning("message %s was processed by another turn; this turn's work is undone", message_id)
            return None
        await WatchStore(session).note_turn(
            party.conversation_id,
            status=end.status,
            confidence=end.confidence,
            flow=state.flow,
            deputy_code=state.deputy_code,
            last_reply=end.replies[-1].text if end.replies else None,
        )
        await session.commit()
        async with self.redis.pipeline(transaction=False) as pipe:
            saved = None if state == DialogueState() else asdict(state)
            self.dialogues.save_in(pipe, inbound.channel, inbound.user_id, saved)
            live.publish_in(pipe, self.keys, live.MESSAGE, conversation_id=party.conversation_id, message_id=message_id)
            await pipe.execute()
        return end.replies

    async def _open(self, party: Party, inbound: Inbound, now: dt.datetime) -> tuple[DialogueState, int]:
        """The citizen's dialogue and, unless a person holds the conversation, this message counted in the
        citizen's rate window (0 when not counted): one Redis round trip."""
        limit = self.deployment.rate_limit
        key = self.keys.rate(inbound.channel, inbound.user_id, int(now.timestamp()) // limit.per_seconds)
        async with self.redis.pipeline(transaction=False) as pipe:
            self.dialogues.load_in(pipe, inbound.channel, inbound.user_id)
            if not party.held:
                pipe.incr(key)
                pipe.expire(key, limit.per_seconds * 2)
            stored, *counted = await pipe.execute()
        return DialogueState(**decode(stored)), counted[0] if counted else 0

    async def _first_flood_notice(self, inbound: Inbound, now: dt.datetime) -> bool:
        limit = self.deployment.rate_limit
        window = int(now.timestamp()) // limit.per_seconds
        key = self.keys.rate_notice(inbound.channel, inbound.user_id, window)
        return bool(await self.redis.set(key, "1", nx=True, ex=limit.per_seconds * 2))


def stored_inbound(message: Message, user_id: str) -> Inbound:
    """The `Inbound` a stored message was made from."""
    payload = message.payload or {}
    return Inbound(
        channel=message.channel,
        user_id=user_id,
        kind=message.kind,
        text=message.text,
        media_ref=payload.get("media_ref", ""),
        latitude=payload.get("latitude"),
        longitude=payload.get("longitude"),
        label=payload.get("label", ""),
        external_id=message.external_id,
        event=payload.get("event", ""),
        event_key=payload.get("event_key", ""),
    )


async def _answer_again(session: AsyncSession, conversations: ConversationStore, message: Message) -> list[Reply]:
    """What a later copy of an answered message gets: the replies that answered it; for a message the recovery
    pass answered by push on a channel that cannot push (the API, the terminal), that answer, waiting unread in
    the conversation, is taken now (with any other push waiting there) instead of with the next message."""
    replies = _replies(await conversations.replies_to(message.id))
    if not replies:
        replies = _replies(await conversations.take_unread(message.conversation_id))
        await session.commit()
    return replies


def _replies(messages: Sequence[Message]) -> list[Reply]:
    return [Reply(m.text, tuple(m.payload.get("buttons", []))) for m in messages]


async def _push_replies(
    pushes: PushStore, party: Party, message_id: int, replies: list[Reply], now: dt.datetime
) -> None:
    """A recovered message's replies, as one push to the citizen (a customer-service message on WeChat, a
    message on Telegram, an unread message shown with their next reply on the API), queued in the turn's
    transaction so that it exists exactly when the message is marked."""
    await pushes.enqueue(
        dedupe_key=f"reply:{message_id}",
        kind="reply",
        recipient_type="citizen",
        recipient=f"{party.channel}:{party.user_id}",
        channel=party.channel,
        address=party.user_id,
        text="\n\n".join(r.text for r in replies),
        buttons=list(replies[-1].buttons),
        status="queued",
        next_attempt_at=now,
        created_at=now,
    )


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
