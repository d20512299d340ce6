"""The console's first page."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from console.web import ConsoleRoute, page, signed_in
from services.signin import ConsoleSession

router = APIRouter(route_class=ConsoleRoute)


@router.get("/console/", response_class=HTMLResponse)
async def home(request: Request, console: ConsoleSession = Depends(signed_in)) -> Response:
    return page(request, "home.html", console=console)
