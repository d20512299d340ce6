"""What the console reads and changes of conversations: the list with its filters, the thread, holds
(take-over) and their record. Repositories: they never commit."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.expression import Executable

from storage.models import (
    Case,
    ChannelIdentity,
    Citizen,
    Conversation,
    ConversationAction,
    Deputy,
    HumanRequest,
    Message,
    User,
    utcnow,
)
from storage.prepared import Prepared


def preview(kind: str, text: str) -> str:
    """What the console's list shows of a message: its text, or what kind of message it was."""
    return (text or f"[{kind}]")[:200]


@dataclass(frozen=True)
class ConversationRow:
    conversation: Conversation
    user_id: str  # the citizen's id on the channel
    citizen_name: str | None
    holder: str | None
    waiting_since: dt.datetime | None  # the oldest unanswered request for a person


def _note_turn(reply: bool, deputy: bool) -> Prepared:
    def build(_dialect: str) -> Executable:
        values: dict[str, object] = {
            "last_status": bindparam("status"),
            "last_confidence": bindparam("confidence"),
            "flow": bindparam("flow"),
        }
        if reply:
            now = bindparam("now", type_=Conversation.last_message_at.type)
            values |= {"last_message_at": now, "last_text": bindparam("text"), "last_direction": "out"}
        if deputy:
            values["deputy_id"] = select(Deputy.id).where(Deputy.code == bindparam("deputy_code")).scalar_subquery()
        return update(Conversation).where(Conversation.id == bindparam("conversation_id")).values(**values)

    return Prepared(build)


# A turn's note, as it has a reply to show and a deputy to keep or not.
_NOTE_TURN = {(reply, deputy): _note_turn(reply, deputy) for reply in (False, True) for deputy in (False, True)}


class WatchStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def note_turn(
        self,
        conversation_id: int,
        *,
        status: str,
        confidence: float | None,
        flow: str | None,
        deputy_code: str | None,
        last_reply: str | None = None,
    ) -> None:
        """After a turn: the latest inbound message's status and confidence, the dialogue's flow, the deputy
        whose card brought the citizen (kept once known), and the turn's `last_reply` as the list's preview (the
        replies are logged by `ConversationStore.record_replies`): one UPDATE for the whole turn."""
        params: dict[str, object] = {
            "conversation_id": conversation_id,
            "status": status,
            "confidence": confidence,
            "flow": flow,
            "deputy_code": deputy_code,
        }
        if last_reply is not None:
            params |= {"now": utcnow(), "text": preview("text", last_reply)}
        await _NOTE_TURN[last_reply is not None, bool(deputy_code)].run(self.session, params)

    async def conversations(
        self, visible: ColumnElement[bool], conditions: Sequence[ColumnElement[bool]], limit: int, offset: int = 0
    ) -> list[ConversationRow]:
        """Newest activity first."""
        waiting = (
            select(func.min(HumanRequest.requested_at))
            .where(HumanRequest.conversation_id == Conversation.id, HumanRequest.answered_at.is_(None))
            .scalar_subquery()
        )
        rows = await self.session.execute(
            select(Conversation, ChannelIdentity.external_id, Citizen.display_name, User.name, waiting)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .join(Citizen, Citizen.id == Conversation.citizen_id)
            .outerjoin(User, User.id == Conversation.held_by_id)
            .where(visible, *conditions)
            .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return [ConversationRow(c, uid, name, holder, since) for c, uid, name, holder, since in rows.all()]

    async def count(self, visible: ColumnElement[bool], conditions: Sequence[ColumnElement[bool]]) -> int:
        return int(
            (
                await self.session.execute(select(func.count()).select_from(Conversation).where(visible, *conditions))
            ).scalar_one()
        )

    async def one(self, conversation_id: int, visible: ColumnElement[bool]) -> ConversationRow | None:
        rows = await self.conversations(visible, [Conversation.id == conversation_id], limit=1)
        return rows[0] if rows else None

    async def thread(self, conversation_id: int, visible: ColumnElement[bool], limit: int) -> Sequence[Message]:
        """The latest `limit` messages the viewer may read, in order."""
        rows = (
            (
                await self.session.execute(
                    select(Message)
                    .where(Message.conversation_id == conversation_id, visible)
                    .order_by(Message.id.desc())
                    .limit(limit)
                )
            )
            .scalars()
            .all()
        )
        return list(reversed(rows))

    async def message_visible(self, message_id: int, visible: ColumnElement[bool]) -> bool:
        found = await self.session.execute(select(Message.id).where(Message.id == message_id, visible))
        return found.first() is not None

    async def take(self, conversation_id: int, user_id: int, now: dt.datetime) -> bool:
        """Hold the conversation for `user_id` unless someone holds it: one conditional UPDATE, so two staff
        pressing 接管 at once cannot both win."""
        result = await self.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.held_by_id.is_(None))
            .values(held_by_id=user_id, held_since=now, staff_active_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def release(self, conversation_id: int, user_id: int | None) -> bool:
        """End the hold (of `user_id`, or whoever holds it when None)."""
        held = Conversation.held_by_id.is_not(None) if user_id is None else Conversation.held_by_id == user_id
        result = await self.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, held)
            .values(held_by_id=None, held_since=None, staff_active_at=None)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def touch(self, conversation_id: int, user_id: int, now: dt.datetime) -> bool:
        """The holder acted: the idle clock starts again. False when `user_id` no longer holds it."""
        result = await self.session.execute(
            update(Conversation)
            .where(Conversation.id == conversation_id, Conversation.held_by_id == user_id)
            .values(staff_active_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def idle_holds(self, before: dt.datetime) -> Sequence[Conversation]:
        return (
            (
                await self.session.execute(
                    select(Conversation).where(
                        Conversation.held_by_id.is_not(None), Conversation.staff_active_at < before
                    )
                )
            )
            .scalars()
            .all()
        )

    async def record_action(
        self,
        conversation_id: int,
        action: str,
        actor: str,
        user_id: int | None,
        now: dt.datetime,
        message_id: int | None = None,
    ) -> None:
        self.session.add(
            ConversationAction(
                conversation_id=conversation_id,
                action=action,
                actor=actor,
                user_id=user_id,
                message_id=message_id,
                at=now,
            )
        )
        await self.session.flush()

    async def actions(self, conversation_id: int) -> Sequence[ConversationAction]:
        return (
            (
                await self.session.execute(
                    select(ConversationAction)
                    .where(ConversationAction.conversation_id == conversation_id)
                    .order_by(ConversationAction.id)
                )
            )
            .scalars()
            .all()
        )

    async def answer_requests(self, conversation_id: int, now: dt.datetime) -> int:
        """A person answered: the conversation's open requests for a person are answered now."""
        result = await self.session.execute(
            update(HumanRequest)
            .where(HumanRequest.conversation_id == conversation_id, HumanRequest.answered_at.is_(None))
            .values(answered_at=now)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]

    async def open_requests(self, visible: ColumnElement[bool]) -> list[tuple[HumanRequest, ConversationRow]]:
        """Open requests for a person, oldest first, with their conversations."""
        rows = await self.session.execute(
            select(HumanRequest, Conversation, ChannelIdentity.external_id, Citizen.display_name, User.name)
            .join(Conversation, Conversation.id == HumanRequest.conversation_id)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .join(Citizen, Citizen.id == Conversation.citizen_id)
            .outerjoin(User, User.id == Conversation.held_by_id)
            .where(HumanRequest.answered_at.is_(None), visible)
            .order_by(HumanRequest.requested_at, HumanRequest.id)
        )
        return [
            (request, ConversationRow(c, uid, name, holder, request.requested_at))
            for request, c, uid, name, holder in rows.all()
        ]

    async def attach_to_case(self, conversation_id: int, case_id: int, from_message_id: int) -> None:
        """The messages of the report that opened a case belong to it (its department may read them)."""
        await self.session.execute(
            update(Message)
            .where(
                Message.conversation_id == conversation_id,
                Message.id >= from_message_id,
                Message.case_id.is_(None),
            )
            .values(case_id=case_id)
        )


def message_of_cases(cases: ColumnElement[bool]) -> ColumnElement[bool]:
    """Messages that belong to a case matching `cases` (a where-clause on Case), or answer one that does."""
    question = aliased(Message)
    own = select(Case.id).where(cases)
    return or_(
        Message.case_id.in_(own),
        exists().where(question.id == Message.in_reply_to_id, question.case_id.in_(own)),
    )


def citizen_has_case(cases: ColumnElement[bool]) -> ColumnElement[bool]:
    """Conversations whose citizen has a case matching `cases`."""
    return exists().where(Case.citizen_id == Conversation.citizen_id, cases)
