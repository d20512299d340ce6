"""Watching conversations from the console: the live list with its filters, one conversation's thread with the
citizen's cases and bookings, the queue of requests for a person, and which live events a viewer may receive.

Everything is read through the access policy (`services.access`): the list and the thread are filtered in
the query, and texts are masked for anyone but authorised staff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.deadlines import LOCAL
from casework.errors import NotFound
from services import access
from services.live import LiveEvent
from storage.models import Booking, Case, Conversation, HumanRequest, Message
from storage.watch import ConversationRow, WatchStore
from texts import staff as texts

# Below this confidence the NLU's reading of a message is worth a look (the pipeline's fallback is 0.45).
LOW_CONFIDENCE = 0.6
TROUBLE_STATUSES = ("failed", "nlu_pending")
PAGE_SIZE = 50
THREAD_SIZE = 300


def local_time(moment: dt.datetime | None) -> str:
    """A moment as the station reads it (Beijing time): today's as 14:05, older ones with their date."""
    if moment is None:
        return ""
    return moment.astimezone(LOCAL).strftime("%m-%d %H:%M")


def waited_words(waited: dt.timedelta | None) -> str:
    """How long someone has waited, in words: 刚刚, 12 分钟, 3 小时 5 分, 2 天 4 小时."""
    if waited is None:
        return ""
    minutes = int(waited.total_seconds() // 60)
    if minutes < 1:
        return texts.WAITED_JUST_NOW
    if minutes < 60:
        return texts.WAITED_MINUTES.format(m=minutes)
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return texts.WAITED_HOURS.format(h=hours, m=minutes)
    days, hours = divmod(hours, 24)
    return texts.WAITED_DAYS.format(d=days, h=hours)


@dataclass(frozen=True)
class ConversationFilters:
    channel: str = ""
    waiting: bool = False  # a request for a person is open
    trouble: bool = False  # the latest message failed, or arrived while the NLU was down
    low: bool = False  # the NLU was unsure of the latest message
    in_flow: bool = False  # inside a report or a booking
    held: bool = False  # held by staff

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.channel:
            where.append(Conversation.channel == self.channel)
        if self.waiting:
            where.append(
                exists().where(HumanRequest.conversation_id == Conversation.id, HumanRequest.answered_at.is_(None))
            )
        if self.trouble:
            where.append(Conversation.last_status.in_(TROUBLE_STATUSES))
        if self.low:
            where.append(and_(Conversation.last_confidence.is_not(None), Conversation.last_confidence < LOW_CONFIDENCE))
        if self.in_flow:
            where.append(Conversation.flow.is_not(None))
        if self.held:
            where.append(Conversation.held_by_id.is_not(None))
        return where


@dataclass(frozen=True)
class ConversationLine:
    id: int
    who: str
    channel: str
    channel_label: str
    last_text: str
    last_from_citizen: bool
    last_at: dt.datetime
    flow_label: str
    waited: dt.timedelta | None  # since the citizen's unanswered message or request for a person
    held_by: str | None
    waiting_for_person: bool
    trouble: str  # the latest message's trouble, in words, or ""
    low_confidence: bool


@dataclass(frozen=True)
class MessageLine:
    id: int
    from_citizen: bool
    kind: str
    text: str
    at: dt.datetime
    status: str
    status_label: str  # what staff should know of its status, in words ("" when nothing)
    intent: str | None
    confidence: float | None
    topic: str | None
    staff: str | None  # the staff member who wrote it
    image_url: str | None
    place: str | None  # a location's label and coordinates


@dataclass
class ConversationPage:
    line: ConversationLine
    messages: list[MessageLine]
    cases: list[dict[str, Any]] = field(default_factory=list)
    bookings: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    held_by_me: bool = False
    user_id: str = ""  # the citizen's id on the channel, for staff


def who_for(actor: Actor, row: ConversationRow) -> str:
    """The citizen as the viewer may know them: their name or channel id for staff, masked for others."""
    name = row.citizen_name
    if access.unmasked(actor):
        return name or f"{texts.CHANNEL_LABELS.get(row.conversation.channel, row.conversation.channel)} {row.user_id}"
    if name:
        return access.name_for(actor, name) or ""
    return texts.CITIZEN_NUMBERED.format(id=row.conversation.id)


def line_for(actor: Actor, row: ConversationRow, now: dt.datetime) -> ConversationLine:
    c = row.conversation
    waited = None
    if row.waiting_since is not None:
        waited = now - row.waiting_since
    elif c.last_direction == "in" or c.held_by_id is not None:
        waited = now - (c.last_inbound_at or c.last_message_at)
    return ConversationLine(
        id=c.id,
        who=who_for(actor, row),
        channel=c.channel,
        channel_label=texts.CHANNEL_LABELS.get(c.channel, c.channel),
        last_text=access.masked_for(actor, c.last_text, [row.citizen_name]),
        last_from_citizen=c.last_direction == "in",
        last_at=c.last_message_at,
        flow_label=texts.FLOW_LABELS.get(c.flow or "", c.flow or ""),
        waited=waited if waited is None or waited.total_seconds() >= 0 else dt.timedelta(0),
        held_by=row.holder,
        waiting_for_person=row.waiting_since is not None,
        trouble=texts.MESSAGE_TROUBLE.get(c.last_status, ""),
        low_confidence=c.last_confidence is not None and c.last_confidence < LOW_CONFIDENCE,
    )


async def conversation_lines(
    session: AsyncSession, actor: Actor, filters: ConversationFilters, now: dt.datetime, page: int = 1
) -> tuple[list[ConversationLine], int]:
    """One page of the conversations the actor may see, newest activity first, and how many match."""
    store, visible, where = WatchStore(session), access.conversation_filter(actor), filters.conditions()
    rows = await store.conversations(visible, where, PAGE_SIZE, (max(page, 1) - 1) * PAGE_SIZE)
    return [line_for(actor, row, now) for row in rows], await store.count(visible, where)


async def conversation_page(
    session: AsyncSession, actor: Actor, user_id: int | None, conversation_id: int, now: dt.datetime
) -> ConversationPage:
    """One conversation as the actor may read it; NotFound when it is not theirs to see."""
    store = WatchStore(session)
    row = await store.one(conversation_id, access.conversation_filter(actor))
    if row is None:
        raise NotFound(texts.CONVERSATION_NOT_FOUND)
    names = [row.citizen_name]
    messages = [
        _message_line(actor, m, names)
        for m in await store.thread(conversation_id, access.message_filter(actor), THREAD_SIZE)
    ]
    page = ConversationPage(
        line_for(actor, row, now),
        messages,
        held_by_me=user_id is not None and row.conversation.held_by_id == user_id,
        user_id=row.user_id if access.unmasked(actor) else "",
    )
    cases = (
        await session.execute(
            select(Case)
            .where(Case.citizen_id == row.conversation.citizen_id, access.case_filter(actor))
            .order_by(Case.id.desc())
            .limit(20)
        )
    ).scalars()
    page.cases = [
        {
            "number": c.number,
            "state": texts.STATE_LABELS.get(c.state, c.state),
            "topic": c.topic,
            "at": c.created_at,
        }
        for c in cases
    ]
    if access.may_see_bookings_in_conversations(actor):
        bookings = (
            await session.execute(
                select(Booking)
                .where(Booking.citizen_id == row.conversation.citizen_id)
                .order_by(Booking.id.desc())
                .limit(10)
            )
        ).scalars()
        page.bookings = [
            {"number": b.number, "status": texts.BOOKING_STATUS_LABELS.get(b.status, b.status), "topic": b.topic}
            for b in bookings
        ]
    page.actions = [
        {"action": texts.ACTION_LABELS.get(a.action, a.action), "actor": a.actor, "at": a.at}
        for a in await store.actions(conversation_id)
    ]
    return page


def _message_line(actor: Actor, message: Message, names: list[str | None]) -> MessageLine:
    payload = message.payload or {}
    media = str(payload.get("media_ref", ""))
    place = None
    if message.kind == "location":
        place = f"{payload.get('label', '')} ({payload.get('latitude')}, {payload.get('longitude')})".strip()
    return MessageLine(
        id=message.id,
        from_citizen=message.direction == "in",
        kind=message.kind,
        text=access.masked_for(actor, message.text, names),
        at=message.created_at,
        status=message.status,
        status_label=texts.MESSAGE_STATUS_LABELS.get(message.status, ""),
        intent=message.intent,
        confidence=message.confidence,
        topic=message.topic,
        staff=payload.get("staff"),
        image_url=media if message.kind == "image" and media.startswith(("https://", "http://")) else None,
        place=place,
    )


@dataclass(frozen=True)
class RequestLine:
    id: int
    conversation: ConversationLine
    requested_at: dt.datetime
    answer_by: dt.datetime
    overdue: bool
    due_soon: bool


async def open_requests(session: AsyncSession, actor: Actor, now: dt.datetime) -> list[RequestLine]:
    """Requests for a person not yet answered, oldest first, with the time promised to each citizen."""
    rows = await WatchStore(session).open_requests(access.conversation_filter(actor))
    return [
        RequestLine(
            id=request.id,
            conversation=line_for(actor, row, now),
            requested_at=request.requested_at,
            answer_by=request.answer_by,
            overdue=request.answer_by <= now,
            due_soon=now < request.answer_by <= now + dt.timedelta(minutes=30),
        )
        for request, row in rows
    ]


async def may_receive(session: AsyncSession, actor: Actor, event: LiveEvent, user_id: int) -> bool:
    """Whether a live event may go to this viewer: an alert to its own user only; a conversation's event only
    to those who may see that conversation."""
    if event.user_id is not None:
        return event.user_id == user_id
    if event.conversation_id is None:
        return access.is_staff(actor)
    store = WatchStore(session)
    if await store.one(event.conversation_id, access.conversation_filter(actor)) is None:
        return False
    # Within a conversation it may see, a department reads only its cases' messages: no event of the others.
    return event.message_id is None or await store.message_visible(event.message_id, access.message_filter(actor))
