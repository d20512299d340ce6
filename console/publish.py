"""Publishing: staff choose which months' three lists and headline figures are shown at /public/ (公布 /
撤回), and preview a month's public page before they do."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from casework.lists import LIST_TITLES
from casework.metrics import Month
from console.figures import month_of
from console.public import list_of, page_number
from console.web import ConsoleRoute, checked, context, now, page, signed_in
from services import publication
from services.signin import ConsoleSession

router = APIRouter(route_class=ConsoleRoute)


@router.get("/console/publish", response_class=HTMLResponse)
async def months(
    request: Request, done: str = "", month: str = "", console: ConsoleSession = Depends(signed_in)
) -> Response:
    async with context(request).sessionmaker() as session:
        shown = await publication.publication_months(session, console.actor, Month.of(now()))
    changed = month_of(month).label if month else ""
    return page(request, "publish.html", console=console, months=shown, done=done, changed=changed)


@router.post("/console/publish/{month}")
async def publish(request: Request, month: str, console: ConsoleSession = Depends(checked)) -> Response:
    chosen = month_of(month)
    async with context(request).sessionmaker() as session:
        await publication.publish(session, console.actor, chosen, now())
    return RedirectResponse(f"/console/publish?done=published&month={chosen}", status_code=303)


@router.post("/console/publish/{month}/withdraw")
async def withdraw(request: Request, month: str, console: ConsoleSession = Depends(checked)) -> Response:
    chosen = month_of(month)
    async with context(request).sessionmaker() as session:
        await publication.withdraw(session, console.actor, chosen)
    return RedirectResponse(f"/console/publish?done=withdrawn&month={chosen}", status_code=303)


@router.get("/console/publish/{month}", response_class=HTMLResponse)
async def preview(
    request: Request,
    month: str,
    kind: str = Query("", alias="list"),
    number: str = Query("1", alias="page"),
    console: ConsoleSession = Depends(signed_in),
) -> Response:
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        view = await publication.preview_month(
            session,
            ctx.deployment,
            ctx.calendar,
            console.actor,
            month_of(month),
            list_of(kind),
            page_number(number),
            now(),
        )
    base = f"/console/publish/{view.month}"
    return page(request, "public_month.html", view=view, titles=LIST_TITLES, base=base, preview=True)
