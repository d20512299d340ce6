"""Conversations: the live list, one conversation's page with 接管 / 发送 / 交还, the queue of requests for a
person, and the live stream (server-sent events) that keeps them up to date."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from console.web import ConsoleRoute, checked, context, is_htmx, now, page, signed_in
from services import live, takeover, watch
from services.signin import ConsoleSession
from services.takeover import StaffMember

log = logging.getLogger("liaison.console")
router = APIRouter(route_class=ConsoleRoute)
# How long one read of the live stream waits before checking that the browser is still there; under the Redis
# client's socket timeout (5 s by default).
LIVE_WAIT_MS = 3_000
FILTER_NAMES = ("waiting", "trouble", "low", "in_flow", "held")


def filters_of(request: Request) -> watch.ConversationFilters:
    query = request.query_params
    flags = {name: query.get(name) == "1" for name in FILTER_NAMES}
    return watch.ConversationFilters(channel=query.get("channel", "")[:20], **flags)


@router.get("/console/conversations", response_class=HTMLResponse)
async def conversations(request: Request, console: ConsoleSession = Depends(signed_in)) -> Response:
    filters = filters_of(request)
    async with context(request).sessionmaker() as session:
        lines, total = await watch.conversation_lines(session, console.actor, filters, now())
    return page(request, "conversations.html", console=console, lines=lines, total=total, filters=filters)


@router.get("/console/conversations/rows", response_class=HTMLResponse)
async def conversation_rows(request: Request, console: ConsoleSession = Depends(signed_in)) -> Response:
    async with context(request).sessionmaker() as session:
        lines, total = await watch.conversation_lines(session, console.actor, filters_of(request), now())
    return page(request, "_conversation_rows.html", console=console, lines=lines, total=total)


@router.get("/console/conversations/{conversation_id}", response_class=HTMLResponse)
async def conversation(
    request: Request, conversation_id: int, console: ConsoleSession = Depends(signed_in)
) -> Response:
    return await _conversation(request, console, conversation_id, "conversation.html")


@router.get("/console/conversations/{conversation_id}/panel", response_class=HTMLResponse)
async def conversation_panel(
    request: Request, conversation_id: int, console: ConsoleSession = Depends(signed_in)
) -> Response:
    return await _conversation(request, console, conversation_id, "_conversation_panel.html")


@router.get("/console/conversations/{conversation_id}/actions", response_class=HTMLResponse)
async def conversation_actions(
    request: Request, conversation_id: int, console: ConsoleSession = Depends(signed_in)
) -> Response:
    return await _conversation(request, console, conversation_id, "_conversation_actions.html")


@router.post("/console/conversations/{conversation_id}/take")
async def take(request: Request, conversation_id: int, console: ConsoleSession = Depends(checked)) -> Response:
    await takeover.take_over(context(request), _staff(console), conversation_id, now())
    return await _after(request, console, conversation_id)


@router.post("/console/conversations/{conversation_id}/send")
async def send(
    request: Request,
    conversation_id: int,
    reply: str = Form(default="", max_length=4000),
    console: ConsoleSession = Depends(checked),
) -> Response:
    note = await takeover.send(context(request), _staff(console), conversation_id, reply, now())
    return await _after(request, console, conversation_id, note)


@router.post("/console/conversations/{conversation_id}/hand-back")
async def hand_back(request: Request, conversation_id: int, console: ConsoleSession = Depends(checked)) -> Response:
    await takeover.hand_back(context(request), _staff(console), conversation_id, now())
    return await _after(request, console, conversation_id)


@router.get("/console/requests", response_class=HTMLResponse)
async def requests(request: Request, console: ConsoleSession = Depends(signed_in)) -> Response:
    async with context(request).sessionmaker() as session:
        lines = await watch.open_requests(session, console.actor, now())
    template = "_request_rows.html" if is_htmx(request) else "requests.html"
    return page(request, template, console=console, requests=lines)


@router.get("/console/live")
async def live_events(request: Request, console: ConsoleSession = Depends(signed_in)) -> Response:
    """Server-sent events for this viewer only; a reconnect resumes after the browser's Last-Event-ID."""
    conversation = request.query_params.get("conversation", "")
    only = int(conversation) if conversation.isdigit() else None
    alerts_only = request.query_params.get("alerts") == "1"
    resume = request.headers.get("last-event-id", "")
    return EventSourceResponse(_stream(request, console, only, alerts_only, resume), ping=15)


async def _stream(
    request: Request, console: ConsoleSession, only: int | None, alerts_only: bool, resume: str
) -> AsyncIterator[ServerSentEvent]:
    """`only`: one conversation's events; `alerts_only`: this user's alerts; else every event the viewer may
    receive."""
    ctx = context(request)
    last = resume if live.valid_event_id(resume) else await live.latest_id(ctx.redis, ctx.keys)
    while not await request.is_disconnected():
        events = await live.events_after(ctx.redis, ctx.keys, last, wait_ms=LIVE_WAIT_MS)
        async with ctx.sessionmaker() as session:
            for event in events:
                last = event.id
                if (only is not None and event.conversation_id != only) or (alerts_only and event.user_id is None):
                    continue
                if await watch.may_receive(session, console.actor, event, console.user_id):
                    yield ServerSentEvent(data=str(event.conversation_id or ""), event=event.kind, id=event.id)


def _staff(console: ConsoleSession) -> StaffMember:
    return StaffMember(console.user_id, console.actor)


async def _conversation(
    request: Request, console: ConsoleSession, conversation_id: int, template: str, note: str = "", oob: bool = False
) -> Response:
    async with context(request).sessionmaker() as session:
        view = await watch.conversation_page(session, console.actor, console.user_id, conversation_id, now())
    return page(request, template, console=console, view=view, note=note, oob=oob)


async def _after(request: Request, console: ConsoleSession, conversation_id: int, note: str = "") -> Response:
    """An action's answer: for htmx the actions and (out of band) the thread, else back to the page."""
    if is_htmx(request):
        return await _conversation(request, console, conversation_id, "_conversation_actions.html", note, oob=True)
    return RedirectResponse(f"/console/conversations/{conversation_id}", status_code=303)
