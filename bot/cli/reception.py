"""`liaison reception slots|bookings|close-session|set-deputies|outcome`: each calls `services.reception` and
prints what it returns. Phone numbers are masked (the CLI has no viewer to show them to)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import click

from bot.cli.common import echo_done, load_settings
from casework.deadlines import LOCAL
from settings import Settings
from texts import staff as texts


@click.group("reception")
def reception() -> None:
    """Reception bookings: sessions and slots, bookings, closing a session, its deputies, outcomes."""


@reception.command("slots")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None, help="first day, default today")
@click.option("--days", default=14, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def reception_slots(first: dt.datetime | None, days: int, as_json: bool) -> None:
    """The sessions of the coming days with their slots (booked/capacity) and deputies on duty."""
    click.echo(asyncio.run(slots_command(load_settings(), first.date() if first else None, days, as_json)))


@reception.command("bookings")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None, help="first day, default today")
@click.option("--days", default=1, show_default=True)
@click.option("--session", "key", default=None, help="one session, e.g. demo:2026-11-24:0900")
@click.option("--json", "as_json", is_flag=True)
def reception_bookings(first: dt.datetime | None, days: int, key: str | None, as_json: bool) -> None:
    """Bookings of a day (or several, or one session); phone numbers masked."""
    click.echo(asyncio.run(bookings_command(load_settings(), first.date() if first else None, days, key, as_json)))


@reception.command("close-session")
@click.argument("key")
@click.option("--reason", required=True, help="told to the booked citizens")
@click.option("--as", "user_name", required=True, help="a staff user (liaison user add)")
def reception_close(key: str, reason: str, user_name: str) -> None:
    """Close a session (e.g. demo:2026-11-24:0900); its booked citizens and deputies are told."""
    echo_done(asyncio.run(act_as(load_settings(), user_name, "close", key=key, reason=reason)))


@reception.command("set-deputies")
@click.argument("key")
@click.argument("deputies", nargs=-1, required=True)
@click.option("--as", "user_name", required=True, help="a staff user (liaison user add)")
def reception_set_deputies(key: str, deputies: tuple[str, ...], user_name: str) -> None:
    """Name the deputies on duty at a session (deputy codes); citizens and deputies are told."""
    echo_done(asyncio.run(act_as(load_settings(), user_name, "deputies", key=key, deputies=list(deputies))))


@reception.command("outcome")
@click.argument("number")
@click.argument("outcome", type=click.Choice(["attended", "absent", "answered", "case"]))
@click.option("--as", "user_name", required=True, help="the deputy on duty, or a staff user")
@click.option("--answer", default="", help="the answer given on the spot (answered), or a note")
@click.option("--deputy", default=None, help="the deputy who received the citizen (staff, several on duty)")
@click.option("--topic", default=None, help="the case's topic (case); guessed from the text if omitted")
@click.option("--place", default=None, help="where the problem is (case); default: the station")
def reception_outcome(
    number: str,
    outcome: str,
    user_name: str,
    answer: str,
    deputy: str | None,
    topic: str | None,
    place: str | None,
) -> None:
    """After the session: what came of a booking. "case" registers a case followed by the deputy."""
    echo_done(
        asyncio.run(
            act_as(
                load_settings(),
                user_name,
                "outcome",
                number=number,
                outcome=outcome,
                answer=answer,
                deputy=deputy,
                topic=topic,
                place=place,
            )
        )
    )


async def _open(settings: Settings):  # type: ignore[no-untyped-def]
    from bot.runtime import Runtime

    return await Runtime.start(settings)


async def slots_command(settings: Settings, first: dt.date | None, days: int, as_json: bool) -> str:
    from services import reception

    services = await _open(settings)
    try:
        start = first or dt.datetime.now(LOCAL).date()
        async with services.sessionmaker() as session:
            found = await reception.list_sessions(
                session, services.deployment, services.calendar, start, days, dt.datetime.now(dt.UTC)
            )
    finally:
        await services.close()
    if as_json:
        return json.dumps(found, ensure_ascii=False, indent=2)
    if not found:
        return texts.RECEPTION_NO_SESSIONS
    lines = []
    for s in found:
        names = "、".join(d["name"] for d in s["deputies"])
        state = (
            texts.RECEPTION_SESSION_CLOSED.format(reason=s["close_reason"])
            if s["closed"]
            else texts.RECEPTION_SLOTS.format(
                slots=" ".join(
                    f"{dt.datetime.fromisoformat(x['starts_at']).astimezone(LOCAL):%H:%M}({x['booked']}/{x['capacity']})"
                    for x in s["slots"]
                )
            )
        )
        lines.append(f"{s['key']}  {s['kind_label']}  {names}  {state}")
    return "\n".join(lines)


async def bookings_command(settings: Settings, first: dt.date | None, days: int, key: str | None, as_json: bool) -> str:
    from services import reception

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
    return "\n".join(
        f"{b['number']}  {b['slot']}  {b['status_label']}  {b['outcome_label'] or '-'}  "
        f"{b['phone'] or '-'}  {' '.join(b['topic'].split())[:30]}"
        for b in found
    )


async def act_as(settings: Settings, user_name: str, operation: str, **fields: Any) -> tuple[bool, str]:
    """Run one staff or deputy operation (close | deputies | outcome) as the user named; (done, what to print)."""
    from bot.cli.users import actor_named
    from casework.bookings import Refused
    from services import reception

    services = await _open(settings)
    topics = services.dispatcher.understanding.topics
    try:
        async with services.sessionmaker() as session:
            actor = await actor_named(session, user_name)
            if isinstance(actor, str):
                return False, actor
            try:
                done = await reception.perform(
                    session,
                    services.deployment,
                    services.calendar,
                    actor,
                    operation,
                    dt.datetime.now(dt.UTC),
                    guess_topic=lambda text: topics.classify(text)[0],
                    **fields,
                )
            except Refused as exc:
                return False, exc.message
            return True, done["detail"]
    finally:
        await services.close()
