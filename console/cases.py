"""The case desk: the worklist (/console/cases) and one case's page with the actions its user may take."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from casework.lifecycle import Action, Command
from console.web import ConsoleRoute, checked, context, now, page, signed_in
from services import casedesk, cases
from services.signin import ConsoleSession

router = APIRouter(route_class=ConsoleRoute)
TEXT_LIMIT = 5000
# A case is split into at most this many parts from the console (the API takes any number).
SPLIT_ROWS = 6  # as many as the parts the bot may suggest (nlu.problems.MAX_PARTS)


@router.get("/console/cases", response_class=HTMLResponse)
async def worklist(request: Request, console: ConsoleSession = Depends(signed_in)) -> Response:
    query = dict(request.query_params)
    filters = casedesk.WorklistFilters.parse(query)
    sort = query.get("sort", "need")
    page_number = int(query["page"]) if query.get("page", "").isdigit() else 1
    async with context(request).sessionmaker() as session:
        listing = await casedesk.worklist(session, console.actor, filters, now(), sort=sort, page=page_number)
    return page(request, "cases.html", console=console, listing=listing, urlencode=urlencode, now=now())


@router.get("/console/cases/{number}", response_class=HTMLResponse)
async def case_page(request: Request, number: str, console: ConsoleSession = Depends(signed_in)) -> Response:
    async with context(request).sessionmaker() as session:
        view = await casedesk.case_page(session, context(request).deployment, console.actor, number, now())
    done = request.query_params.get("done", "")
    return page(request, "case.html", console=console, view=view, done=done, now=now())


@router.post("/console/cases/{number}/actions")
async def act(
    request: Request,
    number: str,
    action: Action = Form(),
    reason: str = Form(default="", max_length=TEXT_LIMIT),
    answer: str = Form(default="", max_length=TEXT_LIMIT),
    merged_into: str = Form(default="", max_length=20),
    level: str = Form(default="", max_length=20),
    topic: str = Form(default="", max_length=40),
    department: str = Form(default="", max_length=64),
    kind: str = Form(default="", max_length=10),
    console: ConsoleSession = Depends(checked),
) -> Response:
    ctx, actor = context(request), console.actor
    async with ctx.sessionmaker() as session:
        if action is Action.TRANSFER:
            await casedesk.transfer(session, ctx.deployment, ctx.calendar, number, actor, department, reason, now())
        else:
            command = Command(
                action,
                actor.role,
                actor.name,
                reason=reason,
                answer=answer or None,
                merged_into=merged_into.strip().upper() or None,
                level=level or None,
                kind=kind or None,
            )
            await cases.perform(
                session,
                ctx.deployment,
                ctx.calendar,
                number,
                actor,
                command,
                now(),
                topic=topic or None,
                department_code=department or None,
            )
    return RedirectResponse(f"/console/cases/{number}?done={action.value}", status_code=303)


@router.post("/console/cases/{number}/split")
async def split(request: Request, number: str, console: ConsoleSession = Depends(checked)) -> Response:
    """The parts come as rows of the form (part_text_N, part_topic_N, part_department_N); empty rows are left out."""
    form = await request.form()

    def field(name: str, limit: int) -> str:
        value = form.get(name, "")
        return value.strip()[:limit] if isinstance(value, str) else ""

    parts = [
        cases.NewPart(
            field(f"part_text_{i}", TEXT_LIMIT), field(f"part_topic_{i}", 40), field(f"part_department_{i}", 64) or None
        )
        for i in range(1, SPLIT_ROWS + 1)
        if field(f"part_text_{i}", TEXT_LIMIT)
    ]
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        await cases.split_case(
            session,
            ctx.deployment,
            ctx.calendar,
            number,
            console.actor,
            parts,
            now(),
            reason=field("reason", TEXT_LIMIT),
        )
    return RedirectResponse(f"/console/cases/{number}?done=split", status_code=303)


@router.post("/console/cases/{number}/contact", response_class=HTMLResponse)
async def contact(request: Request, number: str, console: ConsoleSession = Depends(checked)) -> Response:
    """The phone the citizen left for the handling staff, as written to those who may read it; every read is
    recorded."""
    async with context(request).sessionmaker() as session:
        found = await cases.case_contact(session, console.actor, number, now())
    return page(request, "_case_contact.html", contact=found)
