"""The reception desk (/console/reception, staff): a week's calendar of reception sessions with their deputies, slots,
bookings and waiting lists; closing a session, naming its deputies and recording a booking's outcome, each through
the reception use case that the API and the CLI use (services.reception_desk.act → services.reception.perform)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from console.web import ConsoleRoute, checked, context, is_htmx, now, page, signed_in
from services import reception_desk
from services.signin import ConsoleSession

router = APIRouter(route_class=ConsoleRoute)


@router.get("/console/reception", response_class=HTMLResponse)
async def week(request: Request, week: str = "", console: ConsoleSession = Depends(signed_in)) -> Response:
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        shown = await reception_desk.reception_week(
            session, ctx.deployment, ctx.calendar, console.actor, week[:10], now()
        )
    return page(request, "reception.html", console=console, week=shown)


@router.post("/console/reception/sessions/{key}/close")
async def close(
    request: Request,
    key: str,
    reason: str = Form(default="", max_length=500),
    console: ConsoleSession = Depends(checked),
) -> Response:
    return await _act(request, console, key, "close", reason=reason)


@router.post("/console/reception/sessions/{key}/deputies")
async def deputies(
    request: Request,
    key: str,
    codes: list[str] = Form(default=[], alias="deputy"),
    console: ConsoleSession = Depends(checked),
) -> Response:
    return await _act(request, console, key, "deputies", deputies=codes)


@router.post("/console/reception/sessions/{key}/bookings/{number}/outcome")
async def outcome(
    request: Request,
    key: str,
    number: str,
    result: str = Form(default="", max_length=20, alias="outcome"),
    answer: str = Form(default="", max_length=5000),
    deputy: str = Form(default="", max_length=64),
    topic: str = Form(default="", max_length=40),
    console: ConsoleSession = Depends(checked),
) -> Response:
    fields = {"number": number, "outcome": result, "answer": answer, "deputy": deputy or None, "topic": topic or None}
    return await _act(request, console, key, "outcome", **fields)


async def _act(request: Request, console: ConsoleSession, key: str, operation: str, **fields: Any) -> Response:
    """Carry out the operation, then show the session as it now is (htmx), or its week again."""
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        done, card = await reception_desk.act(
            session, ctx.deployment, ctx.calendar, console.actor, key, operation, now(), **fields
        )
    if not is_htmx(request) or card is None:
        return RedirectResponse(f"/console/reception?week={card.day if card else ''}", status_code=303)
    choices = reception_desk.choices(ctx.deployment)
    return page(request, "_reception_session.html", console=console, card=card, choices=choices, done=done)
