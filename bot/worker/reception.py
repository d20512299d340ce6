"""The reception's timed jobs (registered in bot.worker.jobs.JOBS): the rota made into sessions and slots,
waiting-list offers that ran out, reminders to citizens and digests to deputies.

Each is safe to run again: sessions are keyed by station, day and start; pushes by their dedupe key;
an offer expires by a conditional UPDATE of its row.
"""

from __future__ import annotations

import datetime as dt

from bot.runtime import Runtime
from services import reception


async def keep_rota(services: Runtime, now: dt.datetime) -> int:
    """Sessions and slots of the coming weeks from the rota; sessions the rota now closes are closed."""
    async with services.sessionmaker() as session:
        return await reception.ensure_sessions(session, services.deployment, services.calendar, now)


async def expire_offers(services: Runtime, now: dt.datetime) -> int:
    """Places held for the waiting list and not taken in time go to the next in line."""
    async with services.sessionmaker() as session:
        return await reception.expire_offers(session, services.deployment, now)


async def remind_bookings(services: Runtime, now: dt.datetime) -> int:
    """Reminders the day before and two hours before; the deputies' digest on the morning of the session."""
    async with services.sessionmaker() as session:
        return await reception.queue_reminders(session, services.deployment, now)
