"""`liaison reception slots|bookings|close-session|set-deputies|outcome`: each calls `services.reception` and
prints what it returns. Phone numbers are masked (the CLI has no viewer to show them to)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bot.cli.cases import actor_named
from casework.bookings import Refused
from casework.deadlines import LOCAL
from services import reception
from settings import Settings
from texts import staff as texts


async def _open(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.runtime import Runtime

    return await Runtime.start(settings)


async def slots_command(settings: Settings, first: dt.date | None, days: int, as_json: bool) -> str:
    services = await _open(settings)
    try:
        start = first or dt.datetime.now(LOCAL).date()
        async with services.sessionmaker() as session:
            found = await reception.list_sessions(session, services.deployment, services.calendar, start, days,
                                                  dt.datetime.now(dt.UTC))
    finally:
        await services.close()
    if as_json:
        return json.dumps(found, ensure_ascii=False, indent=2)
    if not found:
        return texts.RECEPTION_NO_SESSIONS
    lines = []
    for s in found:
        names = "、".join(d["name"] for d in s["deputies"])
        state = texts.RECEPTION_SESSION_CLOSED.format(reason=s["close_reason"]) if s["closed"] else \
            texts.RECEPTION_SLOTS.format(slots=" ".join(
                f"{dt.datetime.fromisoformat(x['starts_at']).astimezone(LOCAL):%H:%M}({x['booked']}/{x['capacity']})"
                for x in s["slots"]))
        lines.append(f"{s['key']}  {s['kind_label']}  {names}  {state}")
    return "\n".join(lines)


async def bookings_command(settings: Settings, first: dt.date | None, days: int, key: str | None,
                           as_json: bool) -> str:
    services = await _open(settings)
    try:
        start = first or dt.datetime.now(LOCAL).date()
        async with services.sessionmaker() as session:
            found = await reception.list_bookings(session, start, days, key=key, all_statuses=True)
    finally:
        await services.close()
    if as_json:
        return json.dumps(found, ensure_ascii=False, indent=2)
    if not found:
        return texts.RECEPTION_NO_BOOKINGS
    return "\n".join(f"{b['number']}  {b['slot']}  {b['status_label']}  {b['outcome_label'] or '-'}  "
                     f"{b['phone'] or '-'}  {' '.join(b['topic'].split())[:30]}" for b in found)


async def act_as(settings: Settings, user_name: str, operation: str, **fields: Any) -> tuple[bool, str]:
    """Run one staff or deputy operation (close | deputies | outcome) as the user named; (done, what to print)."""
    services = await _open(settings)
    topics = services.dispatcher.understanding.topics
    try:
        async with services.sessionmaker() as session:
            actor = await actor_named(session, user_name)
            if isinstance(actor, str):
                return False, actor
            try:
                done = await reception.perform(session, services.deployment, services.calendar, actor, operation,
                                               dt.datetime.now(dt.UTC),
                                               guess_topic=lambda text: topics.classify(text)[0], **fields)
            except Refused as exc:
                return False, exc.message
            return True, done["detail"]
    finally:
        await services.close()
