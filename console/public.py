"""The public pages, no sign-in: /public/ lists the published months; /public/2026-11 shows a month's headline
figures and its three lists (代表建议清单、交办清单、办理效果清单) a page at a time, laid out for a phone as
well as a desk; /public/2026-11/lists.xlsx is the month's Excel download. A month not published answers 404
with a Chinese page. Everything shown is masked (services/publication.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute

from casework.errors import LiaisonError
from casework.lists import LIST_TITLES, ListKind
from casework.metrics import Month
from console.web import context, now, page
from services import publication
from services.publication import NotPublished
from texts import public as texts

log = logging.getLogger("liaison.public")


class PublicRoute(APIRoute):
    """A refusal (a month not published, a page that does not exist) as a Chinese page with its status."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def public_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except LiaisonError as refusal:
                log.info("public page refused %s: %s", request.url.path, refusal.detail)
                return page(request, "public_missing.html", refusal.status, message=refusal.message)

        return public_handler


router = APIRouter(route_class=PublicRoute)


def month_of(text: str) -> Month:
    """The month of the path, written 2026-11; anything else is a page that does not exist."""
    try:
        month = Month.parse(text)
    except ValueError:
        raise NotPublished(texts.NO_SUCH_PAGE) from None
    if str(month) != text:
        raise NotPublished(texts.NO_SUCH_PAGE)
    return month


def list_of(text: str) -> ListKind:
    return next((kind for kind in publication.LIST_KINDS if kind == text), "suggestions")


def page_number(text: str) -> int:
    return int(text) if text.isdigit() and len(text) < 7 else 1


@router.get("/public/", response_class=HTMLResponse)
async def index(request: Request) -> Response:
    async with context(request).sessionmaker() as session:
        months = await publication.published_months(session)
    return page(request, "public_index.html", months=months)


@router.get("/public/{month}", response_class=HTMLResponse)
async def month_page(
    request: Request, month: str, kind: str = Query("", alias="list"), number: str = Query("1", alias="page")
) -> Response:
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        view = await publication.public_month(
            session, ctx.deployment, ctx.calendar, month_of(month), list_of(kind), page_number(number), now()
        )
    return page(request, "public_month.html", view=view, titles=LIST_TITLES, base=f"/public/{view.month}")


@router.get("/public/{month}/lists.xlsx")
async def workbook(request: Request, month: str) -> Response:
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        found = await publication.public_workbook(session, ctx.deployment, ctx.calendar, month_of(month))
    disposition = f'attachment; filename="{found.name}"'
    return Response(found.content, media_type=found.media_type, headers={"content-disposition": disposition})
