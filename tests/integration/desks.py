"""Builders shared by the tests of the console's desks (reception desk, the deputy's page, users): citizens,
reception sessions and bookings made through the reception use cases at chosen moments."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from bot.runtime import Runtime
from casework.deadlines import LOCAL
from services import reception
from storage.models import Booking, Citizen, ReceptionSession
from storage.reception import ReceptionStore
from storage.repositories import ConversationStore, Party


async def citizen(runtime: Runtime, name: str | None = None) -> Party:
    """A new citizen on the web channel, with a display name when given."""
    async with runtime.sessionmaker() as session:
        party = await ConversationStore(session).identify("web", f"web-{uuid.uuid4().hex[:10]}")
        if name:
            (await session.get(Citizen, party.citizen_id)).display_name = name  # type: ignore[union-attr]
        await session.commit()
    return party


async def open_session(
    runtime: Runtime, first: dt.date, *, weekday: int | None = None, after: dt.datetime | None = None
) -> ReceptionSession:
    """The first open weekly session from the day `first` (on `weekday`, 0 = Monday, when given; starting after
    `after` when given), made from the rota first."""
    at = dt.datetime.combine(first, dt.time(0, 1), tzinfo=LOCAL)
    async with runtime.sessionmaker() as session:
        await reception.ensure_sessions(session, runtime.deployment, runtime.calendar, at)
        rows = await ReceptionStore(session).sessions_between(first, first + dt.timedelta(weeks=4))
    return next(
        r
        for r in rows
        if not r.closed
        and r.kind == "weekly"
        and (weekday is None or r.day.weekday() == weekday)
        and (after is None or r.starts_at > after)
    )


async def book(runtime: Runtime, party: Party, slot_id: int, topic: str, phone: str | None, at: dt.datetime) -> str:
    """Book the slot for the citizen as if at `at` (before the slot); return the booking's number."""
    async with runtime.sessionmaker() as session:
        booking, _ = await reception.book(session, runtime.deployment, party, slot_id, topic, phone, at)
    return booking.number


async def booking(runtime: Runtime, number: str) -> Booking:
    async with runtime.sessionmaker() as session:
        return (await session.execute(select(Booking).where(Booking.number == number))).scalar_one()


def before(row: ReceptionSession, **delta: float) -> dt.datetime:
    """A moment before the session starts (a day, by default)."""
    return row.starts_at - (dt.timedelta(**delta) if delta else dt.timedelta(days=1))
