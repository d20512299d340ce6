"""The reception tables: sessions made from the rota, their slots, bookings, the waiting lists.

Seats are counted on the slot row (`ReceptionSlot.booked`) and only ever moved by conditional
UPDATEs (`take_seat`, `release_seat`), so on PostgreSQL and SQLite alike no more than `capacity`
citizens hold a slot however many confirm at the same moment. Status changes of a booking or a
waiting-list entry are conditional UPDATEs too (`change_booking`, `change_wait`): of two people
acting on the same row, one wins and the other is told. Times are written in UTC.

Like every repository, these methods leave committing to the caller.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.models import (
    Booking,
    BookingCounter,
    BookingWait,
    ChannelIdentity,
    Conversation,
    Push,
    ReceptionSession,
    ReceptionSlot,
    utc,
)

ACTIVE = "booked"


class BookingTaken(Exception):
    """The citizen already holds a booking in that week (the database's unique index said so)."""


class ReceptionStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # Sessions and slots

    async def sessions_between(self, first: dt.date, last: dt.date) -> Sequence[ReceptionSession]:
        """Sessions from `first` to `last` (local days, inclusive) with their slots, in time order."""
        return (
            (
                await self.session.execute(
                    select(ReceptionSession)
                    .where(ReceptionSession.day >= first, ReceptionSession.day <= last)
                    .options(selectinload(ReceptionSession.slots))
                    .order_by(ReceptionSession.starts_at, ReceptionSession.id)
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )

    async def session_by_key(self, key: str) -> ReceptionSession | None:
        return (
            await self.session.execute(
                select(ReceptionSession)
                .where(ReceptionSession.key == key)
                .options(selectinload(ReceptionSession.slots))
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()

    async def add_session(self, slots: Sequence[tuple[dt.datetime, dt.datetime]], **fields: Any) -> bool:
        """Insert a session with its slots; False when its key exists already (another process made it)."""
        for name in ("starts_at", "ends_at"):
            fields[name] = utc(fields[name])
        try:
            async with self.session.begin_nested():
                row = ReceptionSession(**fields)
                self.session.add(row)
                await self.session.flush()
                for start, end in slots:
                    self.session.add(
                        ReceptionSlot(
                            session_id=row.id,
                            starts_at=utc(start),
                            ends_at=utc(end),
                            capacity=fields["capacity"],
                            booked=0,
                        )
                    )
                await self.session.flush()
        except IntegrityError:
            return False
        return True

    async def update_session(self, session_id: int, **values: Any) -> None:
        await self.session.execute(
            update(ReceptionSession)
            .where(ReceptionSession.id == session_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def close_session(self, session_id: int, reason: str, actor: str | None, now: dt.datetime) -> bool:
        """Close an open session; False when it was closed already (by someone else, maybe just now)."""
        result = await self.session.execute(
            update(ReceptionSession)
            .where(ReceptionSession.id == session_id, ReceptionSession.closed.is_(False))
            .values(closed=True, close_reason=reason, changed_by=actor, updated_at=utc(now))
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def slot(self, slot_id: int) -> ReceptionSlot | None:
        return (
            await self.session.execute(
                select(ReceptionSlot)
                .where(ReceptionSlot.id == slot_id)
                .options(selectinload(ReceptionSlot.session))
                .execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()

    async def take_seat(self, slot_id: int) -> bool:
        """Take one place of an open slot, if one is left: a single conditional UPDATE."""
        open_sessions = select(ReceptionSession.id).where(ReceptionSession.closed.is_(False))
        result = await self.session.execute(
            update(ReceptionSlot)
            .where(
                ReceptionSlot.id == slot_id,
                ReceptionSlot.booked < ReceptionSlot.capacity,
                ReceptionSlot.session_id.in_(open_sessions),
            )
            .values(booked=ReceptionSlot.booked + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def release_seat(self, slot_id: int) -> None:
        await self.session.execute(
            update(ReceptionSlot)
            .where(ReceptionSlot.id == slot_id, ReceptionSlot.booked > 0)
            .values(booked=ReceptionSlot.booked - 1)
            .execution_options(synchronize_session=False)
        )

    # Bookings

    async def next_number(self, day: dt.date) -> int:
        """The next booking number of the day, atomically (UPDATE ... RETURNING on both databases)."""
        for _ in range(5):
            bumped = (
                await self.session.execute(
                    update(BookingCounter)
                    .where(BookingCounter.day == day)
                    .values(last=BookingCounter.last + 1)
                    .returning(BookingCounter.last)
                )
            ).scalar_one_or_none()
            if bumped is not None:
                return int(bumped)
            try:
                async with self.session.begin_nested():
                    self.session.add(BookingCounter(day=day, last=1))
                    await self.session.flush()
                return 1
            except IntegrityError:
                continue
        raise RuntimeError(f"could not allocate a booking number for {day}")

    async def add_booking(self, **fields: Any) -> Booking:
        """Insert a booking; raises BookingTaken when the citizen already holds one in that week."""
        for name in ("created_at", "updated_at"):
            fields[name] = utc(fields[name])
        booking = Booking(**fields)
        try:
            async with self.session.begin_nested():
                self.session.add(booking)
                await self.session.flush()
        except IntegrityError as exc:
            raise BookingTaken(fields.get("week", "")) from exc
        return booking

    async def change_booking(self, booking_id: int, from_status: str, **values: Any) -> bool:
        """Change a booking only if it is still in `from_status`; False when someone else changed it first."""
        values = {k: utc(v) if isinstance(v, dt.datetime) else v for k, v in values.items()}
        result = await self.session.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.status == from_status)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def record_outcome(self, booking_id: int, **values: Any) -> bool:
        """Record the outcome of a booking once; False when one was recorded already."""
        values = {k: utc(v) if isinstance(v, dt.datetime) else v for k, v in values.items()}
        result = await self.session.execute(
            update(Booking)
            .where(Booking.id == booking_id, Booking.status == ACTIVE, Booking.outcome.is_(None))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def booking(self, booking_id: int) -> Booking | None:
        return (
            await self.session.execute(
                select(Booking).where(Booking.id == booking_id).execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()

    async def booking_by_number(self, number: str) -> Booking | None:
        return (
            await self.session.execute(
                select(Booking).where(Booking.number == number.upper()).execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()

    async def active_of_citizen(self, citizen_id: int, after: dt.datetime) -> Sequence[Booking]:
        """The citizen's booked bookings whose slot starts after `after`, soonest first."""
        return (
            (
                await self.session.execute(
                    select(Booking)
                    .join(ReceptionSlot, ReceptionSlot.id == Booking.slot_id)
                    .where(
                        Booking.citizen_id == citizen_id, Booking.status == ACTIVE, ReceptionSlot.starts_at > utc(after)
                    )
                    .order_by(ReceptionSlot.starts_at)
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )

    async def weeks_booked(self, citizen_id: int) -> set[str]:
        return set(
            (
                await self.session.execute(
                    select(Booking.week).where(Booking.citizen_id == citizen_id, Booking.status == ACTIVE)
                )
            )
            .scalars()
            .all()
        )

    async def bookings_of_sessions(
        self, session_ids: Sequence[int], statuses: Sequence[str] = (ACTIVE,)
    ) -> Sequence[Booking]:
        if not session_ids:
            return []
        return (
            (
                await self.session.execute(
                    select(Booking)
                    .join(ReceptionSlot, ReceptionSlot.id == Booking.slot_id)
                    .where(Booking.session_id.in_(session_ids), Booking.status.in_(statuses))
                    .order_by(ReceptionSlot.starts_at, Booking.id)
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )

    async def booked_starting_between(self, start: dt.datetime, end: dt.datetime) -> Sequence[Booking]:
        """Booked bookings whose slot starts in [start, end), for reminders."""
        return (
            (
                await self.session.execute(
                    select(Booking)
                    .join(ReceptionSlot, ReceptionSlot.id == Booking.slot_id)
                    .where(
                        Booking.status == ACTIVE,
                        ReceptionSlot.starts_at >= utc(start),
                        ReceptionSlot.starts_at < utc(end),
                    )
                    .order_by(Booking.id)
                )
            )
            .scalars()
            .all()
        )

    async def outcomes_between(
        self, start: dt.datetime, end: dt.datetime
    ) -> Sequence[tuple[Booking, ReceptionSession]]:
        """Bookings with an outcome whose session started in [start, end), with their session."""
        rows = (
            await self.session.execute(
                select(Booking, ReceptionSession)
                .join(ReceptionSession, ReceptionSession.id == Booking.session_id)
                .where(
                    Booking.outcome.is_not(None),
                    ReceptionSession.starts_at >= utc(start),
                    ReceptionSession.starts_at < utc(end),
                )
                .order_by(Booking.id)
            )
        ).all()
        return [(b, s) for b, s in rows]

    async def reminded_at(self, booking_id: int) -> dt.datetime | None:
        """When the latest reminder of the booking was queued, if one was."""
        latest = (
            await self.session.execute(
                select(func.max(Push.created_at)).where(Push.dedupe_key.like(f"booking:{booking_id}:remind:%"))
            )
        ).scalar_one_or_none()
        return utc(latest) if latest is not None else None

    # Waiting lists

    async def add_wait(self, **fields: Any) -> tuple[BookingWait, int]:
        """Put a citizen on a slot's waiting list; return the entry and its place in the line (1 = next)."""
        fields["created_at"] = utc(fields["created_at"])
        entry = BookingWait(**fields)
        self.session.add(entry)
        await self.session.flush()
        return entry, await self.place_in_line(entry)

    async def place_in_line(self, entry: BookingWait) -> int:
        return int(
            (
                await self.session.execute(
                    select(func.count())
                    .select_from(BookingWait)
                    .where(
                        BookingWait.slot_id == entry.slot_id,
                        BookingWait.status == "waiting",
                        BookingWait.id <= entry.id,
                    )
                )
            ).scalar_one()
        )

    async def waiting_of_citizen(
        self, citizen_id: int, statuses: Sequence[str] = ("waiting", "offered")
    ) -> Sequence[BookingWait]:
        return (
            (
                await self.session.execute(
                    select(BookingWait)
                    .where(BookingWait.citizen_id == citizen_id, BookingWait.status.in_(statuses))
                    .order_by(BookingWait.id)
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )

    async def waiting_for(self, slot_id: int) -> Sequence[BookingWait]:
        """The slot's waiting list, first in line first."""
        return (
            (
                await self.session.execute(
                    select(BookingWait)
                    .where(BookingWait.slot_id == slot_id, BookingWait.status == "waiting")
                    .order_by(BookingWait.id)
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )

    async def waits_of_slots(self, slot_ids: Sequence[int]) -> Sequence[BookingWait]:
        if not slot_ids:
            return []
        return (
            (
                await self.session.execute(
                    select(BookingWait)
                    .where(BookingWait.slot_id.in_(slot_ids), BookingWait.status.in_(("waiting", "offered")))
                    .order_by(BookingWait.id)
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )

    async def change_wait(self, wait_id: int, from_status: str, **values: Any) -> bool:
        values = {k: utc(v) if isinstance(v, dt.datetime) else v for k, v in values.items()}
        result = await self.session.execute(
            update(BookingWait)
            .where(BookingWait.id == wait_id, BookingWait.status == from_status)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    async def offers_expired(self, now: dt.datetime) -> Sequence[int]:
        return (
            (
                await self.session.execute(
                    select(BookingWait.id)
                    .where(BookingWait.status == "offered", BookingWait.offer_expires_at <= utc(now))
                    .order_by(BookingWait.id)
                )
            )
            .scalars()
            .all()
        )

    async def wait(self, wait_id: int) -> BookingWait | None:
        return (
            await self.session.execute(
                select(BookingWait).where(BookingWait.id == wait_id).execution_options(populate_existing=True)
            )
        ).scalar_one_or_none()

    # People

    async def party_of(self, conversation_id: int) -> tuple[int, int, str, str] | None:
        """(identity id, citizen id, channel, user id) of a conversation, to act for its citizen."""
        row = (
            await self.session.execute(
                select(
                    ChannelIdentity.id, ChannelIdentity.citizen_id, ChannelIdentity.channel, ChannelIdentity.external_id
                )
                .join(Conversation, Conversation.identity_id == ChannelIdentity.id)
                .where(Conversation.id == conversation_id)
            )
        ).first()
        return (row[0], row[1], row[2], row[3]) if row else None
