"""Repositories: the only code that reads and writes the case store.

Each takes an AsyncSession and leaves committing to the caller, unless its docstring says otherwise.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    Select,
    Text,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import case as sql_case
from sqlalchemy import insert as insert_rows
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, joinedload, selectinload
from sqlalchemy.sql.expression import Executable

from storage.models import (
    Case,
    CaseAttachment,
    CaseCounter,
    CaseEvent,
    CaseFollower,
    CaseLink,
    CaseReply,
    ChannelIdentity,
    Citizen,
    ContactView,
    Conversation,
    Department,
    Deputy,
    HumanRequest,
    Message,
    Push,
    Rating,
    Station,
    User,
    utcnow,
)
from storage.prepared import Prepared
from storage.watch import preview


@dataclass(frozen=True)
class Party:
    """Who is talking: the citizen, their identity on this channel and their conversation."""

    citizen_id: int
    identity_id: int
    conversation_id: int
    channel: str
    user_id: str
    # A member of staff holds the conversation (接管): the bot stays silent.
    held: bool = False
    # Pushes wait for this citizen's next message: unread in the conversation (a channel that cannot push),
    # or for their messaging window to open again (WeChat's 48 hours). Read with the party, in one statement.
    unread: bool = False
    waiting_window: bool = False


def _find_party(_dialect: str) -> Executable:
    """Who is talking, and whether pushes wait for their next message (unread, or for their window)."""
    unread = (
        select(Message.id)
        .where(Message.conversation_id == Conversation.id, Message.direction == "out", Message.status == "unread")
        .exists()
    )
    waiting_window = (
        select(Push.id)
        .where(
            Push.status == "waiting_window", Push.channel == bindparam("channel"), Push.address == bindparam("user_id")
        )
        .exists()
    )
    return (
        select(
            ChannelIdentity.id,
            ChannelIdentity.citizen_id,
            Conversation.id,
            Conversation.held_by_id,
            unread,
            waiting_window,
        )
        .join(Conversation, Conversation.identity_id == ChannelIdentity.id)
        .where(ChannelIdentity.channel == bindparam("channel"), ChannelIdentity.external_id == bindparam("user_id"))
    )


def _log_inbound(dialect: str) -> Executable:
    """One INSERT that skips a stored delivery (the sender's external id), rather than a savepoint around a
    failing one; the new message's id, or no row."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values: dict[str, Any] = {
        name: bindparam(name) for name in ("conversation_id", "channel", "external_id", "kind", "text")
    }
    values |= {"payload": bindparam("payload", type_=Message.payload.type), "status": bindparam("status")}
    return (
        insert(Message)
        .values(**values, direction="in", created_at=bindparam("now", type_=Message.created_at.type))
        .on_conflict_do_nothing(index_elements=["conversation_id", "direction", "external_id"])
        .returning(Message.id)
    )


def _log_reply(_dialect: str) -> Executable:
    values: dict[str, Any] = {
        name: bindparam(name) for name in ("conversation_id", "channel", "text", "status", "in_reply_to_id")
    }
    return insert_rows(Message).values(
        **values,
        payload=bindparam("payload", type_=Message.payload.type),
        direction="out",
        kind="text",
        created_at=bindparam("now", type_=Message.created_at.type),
    )


def _note_inbound(_dialect: str) -> Executable:
    now = bindparam("now", type_=Conversation.last_message_at.type)
    return (
        update(Conversation)
        .where(Conversation.id == bindparam("conversation_id"))
        .values(
            last_message_at=now,
            last_inbound_at=now,
            last_text=bindparam("text"),
            last_direction="in",
            last_status=bindparam("status"),
        )
    )


def _note_identity(_dialect: str) -> Executable:
    return (
        update(ChannelIdentity)
        .where(ChannelIdentity.id == bindparam("identity_id"))
        .values(last_inbound_at=bindparam("now", type_=ChannelIdentity.last_inbound_at.type))
    )


def _mark(_dialect: str) -> Executable:
    """Compare-and-set from `received`: a message is processed once even if two turns ran it."""
    return (
        update(Message)
        .where(Message.id == bindparam("message_id"), Message.status == "received")
        .values(
            status=bindparam("status"),
            intent=bindparam("intent"),
            confidence=bindparam("confidence"),
            topic=bindparam("topic"),
        )
    )


_FIND_PARTY = Prepared(_find_party)
_LOG_INBOUND = Prepared(_log_inbound)
_LOG_REPLY = Prepared(_log_reply)
_NOTE_INBOUND = Prepared(_note_inbound)
_NOTE_IDENTITY = Prepared(_note_identity)
_MARK = Prepared(_mark)


class ConversationStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def identify(self, channel: str, user_id: str) -> Party:
        """Find or create the citizen behind (channel, user_id); safe when two requests race."""
        party = await self._find(channel, user_id)
        if party:
            return party
        try:
            async with self.session.begin_nested():
                citizen = Citizen()
                self.session.add(citizen)
                await self.session.flush()
                identity = ChannelIdentity(citizen_id=citizen.id, channel=channel, external_id=user_id)
                self.session.add(identity)
                await self.session.flush()
                conversation = Conversation(identity_id=identity.id, citizen_id=citizen.id, channel=channel)
                self.session.add(conversation)
                await self.session.flush()
        except IntegrityError:
            pass
        party = await self._find(channel, user_id)
        assert party is not None
        return party

    async def _find(self, channel: str, user_id: str) -> Party | None:
        row: Any = (await _FIND_PARTY.run(self.session, {"channel": channel, "user_id": user_id})).first()
        if row is None:
            return None
        return Party(
            citizen_id=row[1],
            identity_id=row[0],
            conversation_id=row[2],
            channel=channel,
            user_id=user_id,
            held=row[3] is not None,
            unread=bool(row[4]),
            waiting_window=bool(row[5]),
        )

    async def record_inbound(
        self,
        party: Party,
        *,
        kind: str,
        text: str,
        payload: dict[str, Any],
        external_id: str | None,
        status: str = "received",
    ) -> int | None:
        """Store an inbound message; its id, or None when this delivery (the sender's external_id) is already
        stored. One INSERT that skips a stored delivery, rather than a savepoint around a failing one."""
        now = utcnow()
        message_id: int | None = (
            await _LOG_INBOUND.run(
                self.session,
                {
                    "conversation_id": party.conversation_id,
                    "channel": party.channel,
                    "external_id": external_id,
                    "kind": kind,
                    "text": text,
                    "payload": payload,
                    "status": status,
                    "now": now,
                },
            )
        ).scalar_one_or_none()
        if message_id is None:
            return None
        await _NOTE_INBOUND.run(
            self.session,
            {
                "conversation_id": party.conversation_id,
                "now": now,
                "text": preview(kind, text),
                "status": status,
            },
        )
        await _NOTE_IDENTITY.run(self.session, {"identity_id": party.identity_id, "now": now})
        return message_id

    async def find_inbound(self, channel: str, user_id: str, external_id: str) -> Message | None:
        """The stored delivery `external_id` of this sender (ids are the sender's: two users may share one)."""
        return (
            await self.session.execute(
                select(Message)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(
                    ChannelIdentity.channel == channel,
                    ChannelIdentity.external_id == user_id,
                    Message.direction == "in",
                    Message.external_id == external_id,
                )
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()

    async def stuck_inbound(self, before: dt.datetime, limit: int) -> list[tuple[Message, str]]:
        """Inbound messages still `received` that were stored before `before`, oldest first, with their
        sender's user id: nobody finished them (their process died, or they were kept for later)."""
        rows = await self.session.execute(
            select(Message, ChannelIdentity.external_id)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .where(Message.direction == "in", Message.status == "received", Message.created_at < before)
            .order_by(Message.created_at, Message.id)  # the partial index's order
            .limit(limit)
        )
        return [(message, user_id) for message, user_id in rows.all()]

    async def inbound_status(self, message_id: int) -> str:
        return (await self.session.execute(select(Message.status).where(Message.id == message_id))).scalar_one()

    async def record_outbound(
        self, party: Party, *, text: str, payload: dict[str, Any], in_reply_to: int | None, status: str = "sent"
    ) -> Message:
        message = Message(
            conversation_id=party.conversation_id,
            channel=party.channel,
            direction="out",
            kind="text",
            text=text,
            payload=payload,
            status=status,
            in_reply_to_id=in_reply_to,
            created_at=utcnow(),
        )
        self.session.add(message)
        await self.session.flush()
        await self.session.execute(
            update(Conversation)
            .where(Conversation.id == party.conversation_id)
            .values(last_message_at=message.created_at, last_text=preview("text", text), last_direction="out")
        )
        return message

    async def record_replies(
        self, party: Party, replies: Sequence[tuple[str, dict[str, Any]]], *, in_reply_to: int, status: str
    ) -> None:
        """Log a turn's replies (text, payload), in order, in one INSERT. The conversation's preview is the turn's
        to update, once, with the last of them (`storage.watch.WatchStore.note_turn`)."""
        if not replies:
            return
        now = utcnow()
        await _LOG_REPLY.run(
            self.session,
            [
                {
                    "conversation_id": party.conversation_id,
                    "channel": party.channel,
                    "text": text,
                    "payload": payload,
                    "status": status,
                    "in_reply_to_id": in_reply_to,
                    "now": now,
                }
                for text, payload in replies
            ],
        )

    async def take_unread(self, conversation_id: int) -> Sequence[Message]:
        """Pushes waiting in the conversation for a channel that cannot push; marked sent as they are taken."""
        unread = (
            (
                await self.session.execute(
                    select(Message)
                    .where(
                        Message.conversation_id == conversation_id,
                        Message.direction == "out",
                        Message.status == "unread",
                    )
                    .order_by(Message.id)
                )
            )
            .scalars()
            .all()
        )
        for message in unread:
            message.status = "sent"
        return unread

    async def replies_to(self, message_id: int) -> Sequence[Message]:
        """The replies that answered the message (not those that went out by push: status pushed)."""
        return (
            (
                await self.session.execute(
                    select(Message)
                    .where(Message.in_reply_to_id == message_id, Message.direction == "out", Message.status == "sent")
                    .order_by(Message.id)
                )
            )
            .scalars()
            .all()
        )

    async def mark(
        self,
        message_id: int,
        *,
        status: str,
        intent: str | None = None,
        confidence: float | None = None,
        topic: str | None = None,
    ) -> bool:
        """Give a `received` inbound message its final status; False when it had one already (someone else
        processed it): compare-and-set, so a message is processed once even if two turns ran it."""
        result = await _MARK.run(
            self.session,
            {"message_id": message_id, "status": status, "intent": intent, "confidence": confidence, "topic": topic},
        )
        return bool(result.rowcount)

    async def request_human(self, party: Party, message_id: int, answer_by: dt.datetime) -> HumanRequest:
        request = HumanRequest(conversation_id=party.conversation_id, message_id=message_id, answer_by=answer_by)
        self.session.add(request)
        await self.session.flush()
        return request

    async def open_human_requests(self) -> Sequence[HumanRequest]:
        return (
            (
                await self.session.execute(
                    select(HumanRequest).where(HumanRequest.answered_at.is_(None)).order_by(HumanRequest.id)
                )
            )
            .scalars()
            .all()
        )

    async def who(self, conversation_id: int) -> str:
        """The citizen of a conversation as staff notices name them: channel:id."""
        row = (
            await self.session.execute(
                select(Conversation.channel, ChannelIdentity.external_id)
                .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(Conversation.id == conversation_id)
            )
        ).one()
        return f"{row[0]}:{row[1]}"

    async def messages(self, conversation_id: int, limit: int = 100) -> Sequence[Message]:
        rows = (
            (
                await self.session.execute(
                    select(Message)
                    .where(Message.conversation_id == conversation_id)
                    .order_by(Message.id.desc())
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        return list(reversed(rows))


@dataclass(frozen=True)
class CaseRecord:
    """A case with its events and attachments, its department's name and what its page reads of it (`CaseStore.record`:
    one statement): its followers' citizen ids and, when asked, its replies (oldest
    first), its ratings and its pushes (newest first), each a dict of the columns named in `_record_query`."""

    case: Case
    department: str | None
    followers: list[int]
    replies: list[dict[str, Any]]
    ratings: list[dict[str, Any]]
    pushes: list[dict[str, Any]]


def _json_rows(
    dialect: str, where: ColumnElement[bool], columns: dict[str, InstrumentedAttribute[Any]]
) -> ScalarSelect[str]:
    """The rows of one table matching `where` as a JSON array (text) of objects of `columns`: a case's children
    come with the case in one statement, where each would take a round trip of its own."""
    pairs: list[ColumnElement[Any] | InstrumentedAttribute[Any]] = []
    for name, column in columns.items():
        pairs += [literal_column(f"'{name}'"), column]
    rows: ColumnElement[str]
    if dialect == "postgresql":
        rows = func.coalesce(cast(func.json_agg(func.json_build_object(*pairs)), Text), literal_column("'[]'"))
    else:
        rows = func.json_group_array(func.json_object(*pairs))
    return select(rows).where(where).scalar_subquery()


@functools.cache
def _record_query(dialect: str, children: bool) -> Select[Any]:
    """`CaseStore.record`'s statement, built once a dialect: building it took longer than PostgreSQL runs it."""
    department = select(Department.name).where(Department.id == Case.department_id).scalar_subquery()
    columns = [
        department,
        _json_rows(dialect, CaseFollower.case_id == Case.id, {"citizen_id": CaseFollower.citizen_id}),
    ]
    if children:
        replies = {
            "id": CaseReply.id,
            "text": CaseReply.text,
            "status": CaseReply.status,
            "number": CaseReply.number,
            "author": CaseReply.author,
            "review_note": CaseReply.review_note,
        }
        ratings = {"reply_number": Rating.reply_number, "rating": Rating.rating}
        pushes = {
            "id": Push.id,
            "kind": Push.kind,
            "recipient": Push.recipient,
            "channel": Push.channel,
            "status": Push.status,
            "attempts": Push.attempts,
            "last_error": Push.last_error,
        }
        columns += [
            _json_rows(dialect, CaseReply.case_id == Case.id, replies),
            _json_rows(dialect, Rating.case_id == Case.id, ratings),
            _json_rows(dialect, Push.case_id == Case.id, pushes),
        ]
    # LIMIT 1 (numbers are unique) has the ORM join the events and attachments to the case read as a subquery, so
    # that the JSON columns are made once rather than once a joined row. The attachments are joined too, though
    # their rows multiply the events' (a case has a few, a photo or a location): a statement of their own was a
    # round trip and the ORM's work for it, a third of the lookup's time in Python (bench/README.md).
    return (
        select(Case, *columns)
        .where(Case.number == bindparam("number"))
        .limit(1)
        .options(joinedload(Case.events), joinedload(Case.attachments))
    )


class CaseStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(self, number: str, *, children: bool = True) -> CaseRecord | None:
        """The case numbered `number` as a `CaseRecord` (its replies, ratings and pushes left empty unless
        `children`), or None; one statement."""
        query = _record_query(self.session.get_bind().dialect.name, children)
        found = (await self.session.execute(query, {"number": number.upper()})).unique().first()
        if found is None:
            return None
        case, name, followers, *rest = found
        replies, ratings, pushes = (json.loads(text) for text in rest) if children else ([], [], [])
        return CaseRecord(
            case,
            name,
            [f["citizen_id"] for f in json.loads(followers)],
            sorted(replies, key=lambda r: r["id"]),
            ratings,
            sorted(pushes, key=lambda p: -p["id"]),
        )

    async def next_sequence(self, day: dt.date) -> int:
        """The next number of the day, atomically (UPDATE ... RETURNING on both databases)."""
        for _ in range(5):
            bumped = (
                await self.session.execute(
                    update(CaseCounter)
                    .where(CaseCounter.day == day)
                    .values(last=CaseCounter.last + 1)
                    .returning(CaseCounter.last)
                )
            ).scalar_one_or_none()
            if bumped is not None:
                return int(bumped)
            try:
                async with self.session.begin_nested():
                    self.session.add(CaseCounter(day=day, last=1))
                    await self.session.flush()
                return 1
            except IntegrityError:
                continue
        raise RuntimeError(f"could not allocate a case number for {day}")

    async def create(self, **fields: Any) -> Case:
        case = Case(**fields)
        self.session.add(case)
        await self.session.flush()
        return case

    async def add_event(
        self,
        case: Case,
        *,
        action: str,
        actor: str,
        actor_role: str,
        from_state: str | None,
        to_state: str,
        reason: str = "",
        at: dt.datetime | None = None,
        detail: dict[str, Any] | None = None,
    ) -> CaseEvent:
        event = CaseEvent(
            case_id=case.id,
            action=action,
            actor=actor,
            actor_role=actor_role,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            detail=detail or {},
            at=at or utcnow(),
        )
        self.session.add(event)
        await self.session.flush()
        return event

    async def attach(
        self,
        case_id: int,
        *,
        kind: str,
        media_ref: str = "",
        label: str = "",
        latitude: float | None = None,
        longitude: float | None = None,
        message_id: int | None = None,
    ) -> CaseAttachment:
        attachment = CaseAttachment(
            case_id=case_id,
            kind=kind,
            media_ref=media_ref,
            label=label,
            latitude=latitude,
            longitude=longitude,
            message_id=message_id,
        )
        self.session.add(attachment)
        await self.session.flush()
        return attachment

    async def answers(self, case_id: int) -> tuple[bool, int, int, set[int]]:
        """(a reply awaits review, replies approved, 不满意 ratings, reply numbers already rated)."""
        statuses = (
            (await self.session.execute(select(CaseReply.status).where(CaseReply.case_id == case_id))).scalars().all()
        )
        ratings = (
            await self.session.execute(select(Rating.reply_number, Rating.rating).where(Rating.case_id == case_id))
        ).all()
        return (
            "pending" in statuses,
            statuses.count("approved"),
            sum(1 for _, r in ratings if r == "不满意"),
            {n for n, _ in ratings},
        )

    async def pending_reply(self, case_id: int) -> CaseReply | None:
        """The reply awaiting review, if any (there is at most one)."""
        return (
            await self.session.execute(
                select(CaseReply).where(CaseReply.case_id == case_id, CaseReply.status == "pending").limit(1)
            )
        ).scalar_one_or_none()

    async def count_events(self, case_id: int, action: str) -> int:
        return int(
            (
                await self.session.execute(
                    select(func.count())
                    .select_from(CaseEvent)
                    .where(CaseEvent.case_id == case_id, CaseEvent.action == action)
                )
            ).scalar_one()
        )

    async def answered_at(self, case_id: int) -> dt.datetime | None:
        """When the latest answer (an approved reply or an answer on the spot) went to the citizen."""
        return (
            await self.session.execute(
                select(func.max(CaseEvent.at)).where(
                    CaseEvent.case_id == case_id, CaseEvent.action.in_(("approve_reply", "answer_on_spot"))
                )
            )
        ).scalar()

    async def compare_and_set(self, case: Case, *, next_notice_at: dt.datetime | None, **values: Any) -> bool:
        """Change the case only if nobody changed it since it was read (its version); bump the version.
        `next_notice_at`: every change says when the deadline scan must look at the case again (`Case`)."""
        result = await self.session.execute(
            update(Case)
            .where(Case.id == case.id, Case.version == case.version)
            .values(version=case.version + 1, next_notice_at=next_notice_at, **values)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return False
        await self.session.refresh(case)
        return True

    async def look_again_at(self, case: Case, moment: dt.datetime | None, read: dt.datetime | None) -> None:
        """When the deadline scan must look at the case again, unless it changed since it was read, or its moment
        did (`read`: as it was read; an event or a new recipient sets it anew without a new version). Not a
        change of the case: its version stays."""
        await self.session.execute(
            update(Case)
            .where(
                Case.id == case.id,
                Case.version == case.version,
                Case.next_notice_at.is_not_distinct_from(read),
            )
            .values(next_notice_at=moment)
            .execution_options(synchronize_session=False)
        )

    async def look_again_from(
        self,
        now: dt.datetime,
        open_states: Sequence[str],
        *,
        case_id: int | None = None,
        department_id: int | None = None,
        deputy_id: int | None = None,
    ) -> None:
        """Have the deadline scan look again from `now` at the open cases named: one, a department's, a deputy's,
        or all of them. Not a change of the cases: their versions stay."""
        query = update(Case).where(Case.state.in_(open_states))
        for column, value in ((Case.id, case_id), (Case.department_id, department_id), (Case.deputy_id, deputy_id)):
            if value is not None:
                query = query.where(column == value)
        await self.session.execute(query.values(next_notice_at=now).execution_options(synchronize_session=False))

    async def to_look_at(self, now: dt.datetime, open_states: Sequence[str]) -> Sequence[int]:
        """The open cases the deadline scan must look at by `now`, the longest waiting first."""
        return (
            (
                await self.session.execute(
                    select(Case.id)
                    .where(Case.next_notice_at <= now, Case.state.in_(open_states))
                    .order_by(Case.next_notice_at, Case.id)
                )
            )
            .scalars()
            .all()
        )

    async def add_reply(self, case_id: int, *, text: str, author: str, author_role: str, at: dt.datetime) -> CaseReply:
        reply = CaseReply(case_id=case_id, text=text, author=author, author_role=author_role, created_at=at)
        self.session.add(reply)
        await self.session.flush()
        return reply

    async def review_pending_reply(
        self, case_id: int, *, status: str, by: str, at: dt.datetime, note: str = "", number: int | None = None
    ) -> CaseReply:
        reply = (
            await self.session.execute(
                select(CaseReply).where(CaseReply.case_id == case_id, CaseReply.status == "pending")
            )
        ).scalar_one()
        reply.status, reply.reviewed_by, reply.reviewed_at, reply.review_note = status, by, at, note
        reply.number = number
        await self.session.flush()
        return reply

    async def replies(self, case_id: int) -> Sequence[CaseReply]:
        return (
            (await self.session.execute(select(CaseReply).where(CaseReply.case_id == case_id).order_by(CaseReply.id)))
            .scalars()
            .all()
        )

    async def add_rating(
        self, case_id: int, *, reply_number: int, rating: str, comment: str, at: dt.datetime
    ) -> Rating:
        """Raises IntegrityError when this reply was already rated (one rating per reply)."""
        row = Rating(case_id=case_id, reply_number=reply_number, rating=rating, comment=comment, at=at)
        async with self.session.begin_nested():
            self.session.add(row)
            await self.session.flush()
        return row

    async def open_of_topic(
        self, topic: str, open_states: Sequence[str], limit: int = 300
    ) -> Sequence[tuple[str, str, str, str]]:
        """The latest open cases of a topic as (number, topic, place, description): what similarity compares,
        without loading whole cases (a report compares itself with up to `limit` of them)."""
        rows = await self.session.execute(
            select(Case.number, Case.topic, Case.place, Case.description)
            .where(Case.topic == topic, Case.state.in_(open_states))
            .order_by(Case.id.desc())
            .limit(limit)
        )
        return [(number, topic_, place, description) for number, topic_, place, description in rows.all()]

    async def by_numbers(self, numbers: Collection[str]) -> dict[str, Case]:
        rows = await self.session.execute(select(Case).where(Case.number.in_(numbers)))
        return {case.number: case for case in rows.scalars()}

    async def link(self, case_id: int, similar_case_id: int, score: float) -> None:
        self.session.add(CaseLink(case_id=case_id, similar_case_id=similar_case_id, score=score))
        await self.session.flush()

    async def links(self) -> Sequence[tuple[str, str]]:
        later, earlier = Case.__table__.alias("later"), Case.__table__.alias("earlier")
        return [
            tuple(row)
            for row in (
                await self.session.execute(
                    select(later.c.number, earlier.c.number)
                    .join(CaseLink, CaseLink.case_id == later.c.id)
                    .join(earlier, CaseLink.similar_case_id == earlier.c.id)
                )
            ).all()
        ]

    async def follow(self, case_id: int, party: Party) -> bool:
        """The citizen follows the case; False when they already did."""
        return await self.add_follower(case_id, party.citizen_id, party.conversation_id)

    async def add_follower(self, case_id: int, citizen_id: int, conversation_id: int) -> bool:
        """The citizen of `conversation_id` follows the case (hears what its citizen hears, reads its public
        summary); False when they already did."""
        try:
            async with self.session.begin_nested():
                self.session.add(CaseFollower(case_id=case_id, citizen_id=citizen_id, conversation_id=conversation_id))
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def followers(self, case_id: int) -> Sequence[tuple[int, int]]:
        """(citizen id, conversation id) of each citizen following the case, in the order they began."""
        rows = await self.session.execute(
            select(CaseFollower.citizen_id, CaseFollower.conversation_id)
            .where(CaseFollower.case_id == case_id)
            .order_by(CaseFollower.id)
        )
        return [(citizen_id, conversation_id) for citizen_id, conversation_id in rows.all()]

    async def record_contact_view(
        self, case_id: int, *, user_id: int | None, actor: str, actor_role: str, unmasked: bool, at: dt.datetime
    ) -> ContactView:
        view = ContactView(
            case_id=case_id, user_id=user_id, actor=actor, actor_role=actor_role, unmasked=unmasked, at=at
        )
        self.session.add(view)
        await self.session.flush()
        return view

    async def contact_views(self, case_id: int) -> Sequence[ContactView]:
        """Who read the case's contact, oldest first."""
        return (
            (
                await self.session.execute(
                    select(ContactView).where(ContactView.case_id == case_id).order_by(ContactView.id)
                )
            )
            .scalars()
            .all()
        )

    async def follower_conversations(self, case_id: int) -> Sequence[int]:
        return (
            (
                await self.session.execute(
                    select(CaseFollower.conversation_id)
                    .where(CaseFollower.case_id == case_id)
                    .order_by(CaseFollower.id)
                )
            )
            .scalars()
            .all()
        )

    async def followed_by(self, deputy_id: int, states: Sequence[str], limit: int = 5) -> Sequence[Case]:
        """The cases a deputy follows in `states`, newest first."""
        return (
            (
                await self.session.execute(
                    select(Case)
                    .where(Case.deputy_id == deputy_id, Case.state.in_(states))
                    .order_by(Case.id.desc())
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )

    async def latest_pushed_to(self, recipient: str) -> Case | None:
        """The case of the latest push to `recipient` (a user name), the one a short answer refers to."""
        case_id = (
            await self.session.execute(
                select(Push.case_id)
                .where(Push.recipient == recipient, Push.case_id.is_not(None))
                .order_by(Push.id.desc())
                .limit(1)
            )
        ).scalar_one_or_none()
        if case_id is None:
            return None
        return (
            await self.session.execute(
                select(Case)
                .where(Case.id == case_id)
                .options(selectinload(Case.events), selectinload(Case.attachments))
            )
        ).scalar_one_or_none()

    async def by_number(self, number: str) -> Case | None:
        return (
            await self.session.execute(
                select(Case)
                .where(Case.number == number.upper())
                .options(selectinload(Case.events), selectinload(Case.attachments))
            )
        ).scalar_one_or_none()

    async def for_citizen(self, citizen_id: int, limit: int = 5) -> Sequence[Case]:
        return (
            (
                await self.session.execute(
                    select(Case).where(Case.citizen_id == citizen_id).order_by(Case.id.desc()).limit(limit)
                )
            )
            .scalars()
            .all()
        )

    async def listing(self, limit: int = 100) -> Sequence[Case]:
        return (
            (
                await self.session.execute(
                    select(Case).order_by(Case.id.desc()).limit(limit).options(selectinload(Case.events))
                )
            )
            .scalars()
            .all()
        )


class DirectoryStore:
    """Stations, departments and deputies: mirrored from config.yml at start."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def mirror(
        self,
        stations: Sequence[dict[str, Any]],
        departments: Sequence[dict[str, Any]],
        deputies: Sequence[dict[str, Any]],
    ) -> None:
        """Insert or update rows by code; rows no longer in config stay (cases refer to them)."""
        for model, rows in ((Station, stations), (Department, departments)):
            for row in rows:
                await self._upsert(model, row)
        station_ids = await self.ids(Station)
        for row in deputies:
            fields = dict(row)
            fields["station_id"] = station_ids[fields.pop("station")]
            await self._upsert(Deputy, fields)

    async def _upsert(self, model: type[Station] | type[Department] | type[Deputy], fields: dict[str, Any]) -> None:
        existing = (await self.session.execute(select(model).where(model.code == fields["code"]))).scalar_one_or_none()
        if existing is None:
            self.session.add(model(**fields))
        else:
            for key, value in fields.items():
                setattr(existing, key, value)
        await self.session.flush()

    async def ids(self, model: type[Station] | type[Department] | type[Deputy]) -> dict[str, int]:
        return {code: id_ for code, id_ in (await self.session.execute(select(model.code, model.id))).all()}

    async def case_ids(
        self, *, station: str, department: str, deputy: str | None
    ) -> tuple[int | None, int | None, int | None]:
        """The ids of a new case's station, department and deputy (by code; None where there is no such code),
        in one statement."""

        def id_of(model: type[Station] | type[Department] | type[Deputy], code: str | None) -> Any:
            return select(model.id).where(model.code == code).scalar_subquery()

        row = (
            await self.session.execute(
                select(id_of(Station, station), id_of(Department, department), id_of(Deputy, deputy))
            )
        ).one()
        return row[0], row[1], row[2]

    async def names(self, model: type[Station] | type[Department] | type[Deputy]) -> dict[int, str]:
        return {id_: name for id_, name in (await self.session.execute(select(model.id, model.name))).all()}

    async def all_names(self) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
        """The names of the departments, stations and deputies by id, in one statement."""
        models: tuple[type[Department] | type[Station] | type[Deputy], ...] = (Department, Station, Deputy)
        query = union_all(*(select(literal(i).label("kind"), model.id, model.name) for i, model in enumerate(models)))
        found: tuple[dict[int, str], ...] = tuple({} for _ in models)
        for kind, id_, name in (await self.session.execute(query)).all():
            found[kind][id_] = name
        return found[0], found[1], found[2]


def hash_token(token: str) -> str:
    """API tokens are long random strings, so a plain SHA-256 is enough to keep them unreadable at rest."""
    return hashlib.sha256(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    """scrypt (RFC 7914) with a random salt, as `scrypt$n$r$p$salt$hash`."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"scrypt$16384$8$1${salt.hex()}${digest.hex()}"


def password_matches(stored: str | None, password: str) -> bool:
    """Whether `password` hashes to `stored` (as made by hash_password), compared in constant time."""
    try:
        scheme, n, r, p, salt, digest = (stored or "").split("$")
        if scheme != "scrypt":
            return False
        given = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p))
    except ValueError:
        return False
    return hmac.compare_digest(given.hex(), digest)


class UserStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        name: str,
        role: str,
        department_id: int | None = None,
        deputy_id: int | None = None,
        password: str | None = None,
    ) -> tuple[User, str]:
        """Create a user; return it and its API token (shown once, only its hash is kept)."""
        token = secrets.token_urlsafe(32)
        user = User(
            name=name,
            role=role,
            department_id=department_id,
            deputy_id=deputy_id,
            token_hash=hash_token(token),
            password_hash=hash_password(password) if password else None,
        )
        self.session.add(user)
        await self.session.flush()
        return user, token

    async def by_token(self, token: str) -> User | None:
        return (
            await self.session.execute(select(User).where(User.token_hash == hash_token(token), User.active.is_(True)))
        ).scalar_one_or_none()

    async def by_name(self, name: str) -> User | None:
        return (await self.session.execute(select(User).where(User.name == name))).scalar_one_or_none()

    async def by_address(self, channel: str, address: str) -> Sequence[User]:
        """Active users whose pushes go to this chat (e.g. a deputy bound to a WeChat openid)."""
        return (
            (
                await self.session.execute(
                    select(User)
                    .where(User.channel == channel, User.address == address, User.active.is_(True))
                    .order_by(User.id)
                )
            )
            .scalars()
            .all()
        )


class PushStore:
    """The push queue's rows. Claiming is compare-and-set per row, so several workers never share one."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_key(self, dedupe_key: str) -> Push | None:
        return (await self.session.execute(select(Push).where(Push.dedupe_key == dedupe_key))).scalar_one_or_none()

    async def enqueue(self, **fields: Any) -> Push | None:
        """Insert a push; None when one with the same dedupe_key exists (the job ran before)."""
        push = Push(**fields)
        try:
            async with self.session.begin_nested():
                self.session.add(push)
                await self.session.flush()
        except IntegrityError:
            return None
        return push

    async def claim_next(
        self,
        now: dt.datetime,
        *,
        skip_channels: Collection[str] = (),
        skip_recipients: Collection[tuple[str, str]] = (),
    ) -> Push | None:
        """Claim the oldest due push (queued, or a retry whose time has come) and commit the claim; none on the
        `skip_channels` nor to the (channel, address) of `skip_recipients` (held back by their pace).

        One at a time, so that a worker dying mid-send leaves only the pushes it was sending in doubt.
        """
        query = (
            select(Push.id, Push.attempts)
            .where(Push.status.in_(("queued", "retry")), Push.next_attempt_at <= now)
            .order_by(Push.id)
            .limit(1)
        )
        if skip_channels:
            query = query.where(or_(Push.channel.is_(None), Push.channel.not_in(skip_channels)))
        held: dict[str, list[str]] = {}
        for channel, address in skip_recipients:
            held.setdefault(channel, []).append(address)
        for channel, addresses in held.items():
            query = query.where(or_(Push.channel.is_distinct_from(channel), Push.address.not_in(addresses)))
        for _ in range(10):
            seen = (await self.session.execute(query)).one_or_none()
            if seen is None:
                return None
            if claimed := await self.claim(seen.id, attempts=seen.attempts, now=now):
                return claimed
        return None

    async def claim(self, push_id: int, *, attempts: int, now: dt.datetime) -> Push | None:
        """Claim a push as it was seen (due, `attempts` tried) and commit the claim; None if it changed since.

        Due and its attempts unchanged, not merely queued or retry: another sender may have claimed it, failed
        and put it back as a retry for later in between, and it must not go out again at once."""
        result = await self.session.execute(
            update(Push)
            .where(
                Push.id == push_id,
                Push.status.in_(("queued", "retry")),
                Push.attempts == attempts,
                Push.next_attempt_at <= now,
            )
            .values(status="sending", claimed_at=now, attempts=Push.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        await self.session.commit()
        if result.rowcount != 1:  # type: ignore[attr-defined]
            return None
        return (
            await self.session.execute(select(Push).where(Push.id == push_id).execution_options(populate_existing=True))
        ).scalar_one()

    async def finish(
        self,
        push_id: int,
        *,
        status: str,
        error: str = "",
        next_attempt_at: dt.datetime | None = None,
        sent_at: dt.datetime | None = None,
    ) -> None:
        values: dict[str, Any] = {"status": status, "last_error": error[:2000]}
        if next_attempt_at is not None:
            values["next_attempt_at"] = next_attempt_at
        if sent_at is not None:
            values["sent_at"] = sent_at
        await self.session.execute(update(Push).where(Push.id == push_id, Push.status == "sending").values(**values))
        await self.session.commit()

    async def release(self, push_id: int, *, next_attempt_at: dt.datetime, error: str = "") -> None:
        """Give back a claimed push that was not sent (held back by its pace): due again at `next_attempt_at`,
        and its claim not counted as an attempt."""
        await self.session.execute(
            update(Push)
            .where(Push.id == push_id, Push.status == "sending")
            .values(
                status=sql_case((Push.attempts > 1, "retry"), else_="queued"),
                attempts=Push.attempts - 1,
                next_attempt_at=next_attempt_at,
                **({"last_error": error[:2000]} if error else {}),
            )
            .execution_options(synchronize_session=False)
        )
        await self.session.commit()

    async def reopen_window(self, channel: str, address: str, now: dt.datetime) -> int:
        """The person wrote again: pushes that waited for their messaging window go back in the queue."""
        result = await self.session.execute(
            update(Push)
            .where(Push.channel == channel, Push.address == address, Push.status == "waiting_window")
            .values(status="queued", next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def give_up_in_doubt(self, claimed_before: dt.datetime) -> int:
        """Pushes a dead worker left half-sent: maybe delivered, so never resent; marked for staff to see."""
        result = await self.session.execute(
            update(Push)
            .where(Push.status == "sending", Push.claimed_at < claimed_before)
            .values(status="failed", last_error="发送过程中进程中断，无法确认是否送达；为避免重复，未自动重发")
            .execution_options(synchronize_session=False)
        )
        await self.session.commit()
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def listing(
        self, *, status: str | None = None, case_id: int | None = None, limit: int = 100, offset: int = 0
    ) -> Sequence[Push]:
        """Pushes newest first, `offset` rows skipped."""
        query = select(Push).order_by(Push.id.desc()).limit(limit).offset(offset)
        for condition in self._filters(status, case_id):
            query = query.where(condition)
        return (await self.session.execute(query)).scalars().all()

    async def count(self, *, status: str | None = None, case_id: int | None = None) -> int:
        query = select(func.count()).select_from(Push)
        for condition in self._filters(status, case_id):
            query = query.where(condition)
        return int((await self.session.execute(query)).scalar_one())

    @staticmethod
    def _filters(status: str | None, case_id: int | None) -> list[Any]:
        return [
            *([Push.status == status] if status else []),
            *([Push.case_id == case_id] if case_id else []),
        ]


class RecipientStore:
    """Where pushes reach people: a citizen's channel identity, or users by role."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def citizen_address(self, conversation_id: int | None) -> tuple[str | None, str | None]:
        if conversation_id is None:
            return None, None
        row = (
            await self.session.execute(
                select(ChannelIdentity.channel, ChannelIdentity.external_id)
                .join(Conversation, Conversation.identity_id == ChannelIdentity.id)
                .where(Conversation.id == conversation_id)
            )
        ).first()
        return (row[0], row[1]) if row else (None, None)

    async def last_inbound_at(self, channel: str, address: str) -> dt.datetime | None:
        """When this person last wrote on the channel (WeChat's 48-hour window opens then)."""
        return (
            await self.session.execute(
                select(ChannelIdentity.last_inbound_at).where(
                    ChannelIdentity.channel == channel, ChannelIdentity.external_id == address
                )
            )
        ).scalar_one_or_none()

    async def followers(self, case_id: int) -> Sequence[int]:
        return await CaseStore(self.session).follower_conversations(case_id)

    async def users(
        self, roles: Sequence[str], *, department_id: int | None = None, deputy_id: int | None = None
    ) -> Sequence[User]:
        query = select(User).where(User.role.in_(roles), User.active.is_(True)).order_by(User.id)
        if department_id is not None:
            query = query.where(User.department_id == department_id)
        if deputy_id is not None:
            query = query.where(User.deputy_id == deputy_id)
        return (await self.session.execute(query)).scalars().all()

    async def user_ids(self, names: Iterable[str]) -> dict[str, int]:
        """The ids of the users with these names (pushes name their recipient)."""
        rows = await self.session.execute(select(User.name, User.id).where(User.name.in_(list(names))))
        return {name: id_ for name, id_ in rows.all()}
