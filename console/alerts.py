"""Alerts: what the station's jobs and turns addressed to this user (deadlines, requests for a person...), with
the count of new ones in every page's header, kept live."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from console.web import ConsoleRoute, context, page, signed_in
from services import alerts
from services.signin import ConsoleSession

router = APIRouter(route_class=ConsoleRoute)


@router.get("/console/alerts", response_class=HTMLResponse)
async def alert_list(request: Request, console: ConsoleSession = Depends(signed_in)) -> Response:
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        shown = await alerts.alerts_for(ctx, session, console.user_id, console.actor.name)
    return page(request, "alerts.html", console=console, alerts=shown)


@router.get("/console/alerts/count", response_class=HTMLResponse)
async def alert_count(request: Request, console: ConsoleSession = Depends(signed_in)) -> Response:
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        count = await alerts.unseen_count(ctx, session, console.user_id, console.actor.name)
    return page(request, "_alert_count.html", count=count)
