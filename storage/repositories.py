"""Repositories: the only code that reads and writes the case store.

Each takes an AsyncSession and leaves committing to the caller, unless its docstring says otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    Case,
    CaseAttachment,
    CaseCounter,
    CaseEvent,
    ChannelIdentity,
    Citizen,
    Conversation,
    Department,
    Deputy,
    HumanRequest,
    Message,
    Station,
    utcnow,
)


@dataclass(frozen=True)
class Party:
    """Who is talking: the citizen, their identity on this channel and their conversation."""

    citizen_id: int
    identity_id: int
    conversation_id: int
    channel: str
    user_id: str


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
        row = (
            await self.session.execute(
                select(ChannelIdentity.id, ChannelIdentity.citizen_id, Conversation.id)
                .join(Conversation, Conversation.identity_id == ChannelIdentity.id)
                .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == user_id)
            )
        ).first()
        if row is None:
            return None
        return Party(citizen_id=row[1], identity_id=row[0], conversation_id=row[2],
                     channel=channel, user_id=user_id)

    async def record_inbound(
        self,
        party: Party,
        *,
        kind: str,
        text: str,
        payload: dict[str, Any],
        external_id: str | None,
        status: str = "received",
    ) -> Message | None:
        """Store an inbound message; None when this delivery (channel, external_id) is already stored."""
        now = utcnow()
        message = Message(conversation_id=party.conversation_id, channel=party.channel, direction="in",
                          external_id=external_id, kind=kind, text=text, payload=payload,
                          status=status, created_at=now)
        try:
            async with self.session.begin_nested():
                self.session.add(message)
                await self.session.flush()
        except IntegrityError:
            return None
        await self.session.execute(
            update(Conversation).where(Conversation.id == party.conversation_id).values(last_message_at=now)
        )
        await self.session.execute(
            update(ChannelIdentity).where(ChannelIdentity.id == party.identity_id).values(last_inbound_at=now)
        )
        return message

    async def find_inbound(self, channel: str, external_id: str) -> Message | None:
        return (
            await self.session.execute(
                select(Message).where(Message.channel == channel, Message.direction == "in",
                                      Message.external_id == external_id)
            )
        ).scalar_one_or_none()

    async def record_outbound(self, party: Party, *, text: str, payload: dict[str, Any],
                              in_reply_to: int | None) -> Message:
        message = Message(conversation_id=party.conversation_id, channel=party.channel, direction="out",
                          kind="text", text=text, payload=payload, status="sent", in_reply_to_id=in_reply_to)
        self.session.add(message)
        await self.session.flush()
        return message

    async def replies_to(self, message_id: int) -> Sequence[Message]:
        return (
            await self.session.execute(
                select(Message).where(Message.in_reply_to_id == message_id, Message.direction == "out")
                .order_by(Message.id)
            )
        ).scalars().all()

    async def mark(self, message_id: int, *, status: str, intent: str | None = None,
                   confidence: float | None = None) -> None:
        await self.session.execute(
            update(Message).where(Message.id == message_id)
            .values(status=status, intent=intent, confidence=confidence)
        )

    async def request_human(self, party: Party, message_id: int, answer_by: dt.datetime) -> HumanRequest:
        request = HumanRequest(conversation_id=party.conversation_id, message_id=message_id, answer_by=answer_by)
        self.session.add(request)
        await self.session.flush()
        return request

    async def messages(self, conversation_id: int, limit: int = 100) -> Sequence[Message]:
        rows = (
            await self.session.execute(
                select(Message).where(Message.conversation_id == conversation_id)
                .order_by(Message.id.desc()).limit(limit)
            )
        ).scalars().all()
        return list(reversed(rows))


class CaseStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def next_sequence(self, day: dt.date) -> int:
        """The next number of the day, atomically (UPDATE ... RETURNING on both databases)."""
        for _ in range(5):
            bumped = (
                await self.session.execute(
                    update(CaseCounter).where(CaseCounter.day == day)
                    .values(last=CaseCounter.last + 1).returning(CaseCounter.last)
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

    async def add_event(self, case: Case, *, action: str, actor: str, actor_role: str,
                        from_state: str | None, to_state: str, reason: str = "",
                        at: dt.datetime | None = None) -> CaseEvent:
        event = CaseEvent(case_id=case.id, action=action, actor=actor, actor_role=actor_role,
                          from_state=from_state, to_state=to_state, reason=reason, at=at or utcnow())
        self.session.add(event)
        await self.session.flush()
        return event

    async def attach(self, case_id: int, *, kind: str, media_ref: str = "", label: str = "",
                     latitude: float | None = None, longitude: float | None = None,
                     message_id: int | None = None) -> CaseAttachment:
        attachment = CaseAttachment(case_id=case_id, kind=kind, media_ref=media_ref, label=label,
                                    latitude=latitude, longitude=longitude, message_id=message_id)
        self.session.add(attachment)
        await self.session.flush()
        return attachment

    async def by_number(self, number: str) -> Case | None:
        return (
            await self.session.execute(
                select(Case).where(Case.number == number.upper())
                .options(selectinload(Case.events), selectinload(Case.attachments))
            )
        ).scalar_one_or_none()

    async def for_citizen(self, citizen_id: int, limit: int = 5) -> Sequence[Case]:
        return (
            await self.session.execute(
                select(Case).where(Case.citizen_id == citizen_id).order_by(Case.id.desc()).limit(limit)
            )
        ).scalars().all()

    async def count_for_citizen(self, citizen_id: int) -> int:
        return int((await self.session.execute(
            select(func.count()).select_from(Case).where(Case.citizen_id == citizen_id))).scalar_one())

    async def listing(self, limit: int = 100) -> Sequence[Case]:
        return (
            await self.session.execute(
                select(Case).order_by(Case.id.desc()).limit(limit)
                .options(selectinload(Case.events))
            )
        ).scalars().all()


class DirectoryStore:
    """Stations, departments and deputies: mirrored from config.yml at start."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def mirror(self, stations: Sequence[dict[str, Any]], departments: Sequence[dict[str, Any]],
                     deputies: Sequence[dict[str, Any]]) -> None:
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

    async def names(self, model: type[Station] | type[Department] | type[Deputy]) -> dict[int, str]:
        return {id_: name for id_, name in (await self.session.execute(select(model.id, model.name))).all()}
