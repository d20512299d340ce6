"""The deputy's own page (/console/me), laid out for a phone: my cases and what is due, my bookings today (with their
outcomes to record), my points and yearly record, my QR card to print or share, binding my WeChat. And a deputy's
yearly record (/console/deputies/{code}/record), for staff and for that deputy only."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from casework.errors import NotFound
from console.web import ConsoleRoute, checked, context, is_htmx, now, page, signed_in
from services import deputy_page
from services.signin import ConsoleSession

router = APIRouter(route_class=ConsoleRoute)
YEARS = Query(None, ge=2000, le=2100)


@router.get("/console/me", response_class=HTMLResponse)
async def me(request: Request, year: int | None = YEARS, console: ConsoleSession = Depends(signed_in)) -> Response:
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        shown = await deputy_page.deputy_page(session, ctx.deployment, console.actor, now(), year)
    return page(request, "deputy.html", console=console, me=shown)


@router.post("/console/me/bind-code", response_class=HTMLResponse)
async def bind_code(request: Request, console: ConsoleSession = Depends(checked)) -> Response:
    code = await deputy_page.bind_code(context(request), console.actor)
    return page(request, "_bind_code.html", console=console, code=code, hours=deputy_page.BIND_CODE_HOURS)


@router.get("/console/me/card", response_class=HTMLResponse)
async def card(request: Request, console: ConsoleSession = Depends(signed_in)) -> Response:
    shown = await deputy_page.qr_card(context(request), console.actor)
    return page(request, "deputy_card.html", console=console, card=shown)


@router.get("/console/me/qr.png")
async def qr_png(request: Request, console: ConsoleSession = Depends(signed_in)) -> Response:
    image = await deputy_page.qr_image(context(request), console.actor)
    if image is None:
        raise NotFound()
    name = f"qrcode-{console.actor.deputy_code}.png"
    return Response(image, media_type="image/png", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/console/me/bookings/{number}/outcome")
async def outcome(
    request: Request,
    number: str,
    result: str = Form(default="", max_length=20, alias="outcome"),
    answer: str = Form(default="", max_length=5000),
    topic: str = Form(default="", max_length=40),
    console: ConsoleSession = Depends(checked),
) -> Response:
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        done, shown = await deputy_page.record_outcome(
            session, ctx.deployment, ctx.calendar, console.actor, number, result, answer, topic or None, now()
        )
    if not is_htmx(request):
        return RedirectResponse("/console/me", status_code=303)
    return page(request, "_deputy_today.html", console=console, me=shown, done=done)


@router.get("/console/deputies/{code}/record", response_class=HTMLResponse)
async def record(
    request: Request, code: str, year: int | None = YEARS, console: ConsoleSession = Depends(signed_in)
) -> Response:
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        found = await deputy_page.yearly_record(session, ctx.deployment, console.actor, code, now(), year)
    return page(request, "deputy_record.html", console=console, record=found)
