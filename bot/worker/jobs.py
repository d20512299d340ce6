"""The timed jobs, registered in JOBS (arq's habit); each is a use case of services/.

Every job may run again after a worker died halfway: what it creates carries a de-duplication key
(pushes) or is a compare-and-set (a case's automatic closing, a message's final status), so its effects
happen once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.runtime import Runtime
from bot.worker import reception as reception_jobs
from services import alerts, cases, pushes, takeover


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[Runtime, dt.datetime], Awaitable[int]]
    every: dt.timedelta
    timeout: dt.timedelta


async def recover_messages(services: Runtime, now: dt.datetime) -> int:
    """Messages left `received` by a process that died (or kept when they could not be taken): processed once,
    answered by push."""
    return await services.dispatcher.recover(now)


JOBS = (
    Job("recover_messages", recover_messages, every=dt.timedelta(seconds=5), timeout=dt.timedelta(minutes=2)),
    Job("send_pushes", pushes.send_due, every=dt.timedelta(seconds=2), timeout=dt.timedelta(minutes=2)),
    Job("console_alerts", alerts.announce, every=dt.timedelta(seconds=2), timeout=dt.timedelta(minutes=1)),
    Job(
        "person_request_alerts",
        alerts.remind_person_requests,
        every=dt.timedelta(minutes=1),
        timeout=dt.timedelta(minutes=2),
    ),
    Job("idle_holds", takeover.return_idle_holds_now, every=dt.timedelta(minutes=1), timeout=dt.timedelta(minutes=2)),
    Job("scan_deadlines", cases.scan_deadlines, every=dt.timedelta(minutes=1), timeout=dt.timedelta(minutes=10)),
    Job("reception_rota", reception_jobs.keep_rota, every=dt.timedelta(hours=1), timeout=dt.timedelta(minutes=5)),
    Job(
        "reception_offers", reception_jobs.expire_offers, every=dt.timedelta(minutes=1), timeout=dt.timedelta(minutes=2)
    ),
    Job(
        "reception_reminders",
        reception_jobs.remind_bookings,
        every=dt.timedelta(minutes=1),
        timeout=dt.timedelta(minutes=5),
    ),
)
