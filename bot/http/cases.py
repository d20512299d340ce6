"""The staff JSON API: cases and their operations, pushes. Each request carries a user's token."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.http.deps import current_actor, runtime, staff_actor
from bot.runtime import Runtime
from casework.actors import Actor
from casework.lifecycle import Action, Command
from services import cases, conversations, pushes
from storage.models import utcnow

router = APIRouter(prefix="/api", tags=["staff"])


class CaseAction(BaseModel):
    action: Action
    reason: str = Field(default="", max_length=5000, description="why; the reply text; the committee's outcome")
    rating: str | None = None
    merged_into: str | None = Field(default=None, max_length=20)
    answer: str | None = Field(default=None, max_length=5000)
    level: str | None = None
    kind: str | None = Field(default=None, description="约见, 评议 or 询问, for record_committee_action")
    topic: str | None = None
    department: str | None = Field(default=None, description="department code, for assign")


class SplitPart(BaseModel):
    description: str = Field(min_length=1, max_length=5000)
    topic: str = Field(max_length=40)
    department: str | None = Field(default=None, max_length=64, description="department code; default: the topic's")
    place: str = Field(default="", max_length=300, description="default: the original's")


class Split(BaseModel):
    parts: list[SplitPart] = Field(min_length=1, max_length=10)
    reason: str = Field(default="", max_length=2000)


@router.get("/cases")
async def list_cases(
    state: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    actor: Actor = Depends(current_actor),
    rt: Runtime = Depends(runtime),
) -> list[dict]:
    async with rt.sessionmaker() as session:
        return await cases.list_cases(session, actor, state=state, limit=limit)


@router.get("/cases/groups")
async def common_problems(actor: Actor = Depends(current_actor), rt: Runtime = Depends(runtime)) -> list[dict]:
    """Groups of similar cases (共性问题), largest first, so a recurring problem can be raised as one."""
    async with rt.sessionmaker() as session:
        return await cases.common_problem_groups(session, actor)


@router.get("/cases/{number}")
async def show_case(number: str, actor: Actor = Depends(current_actor), rt: Runtime = Depends(runtime)) -> JSONResponse:
    async with rt.sessionmaker() as session:
        _, data = await cases.case_detail(session, actor, number, policy=cases.case_policy(rt.deployment))
    return JSONResponse(data)


@router.get("/cases/{number}/contact")
async def case_contact(
    number: str, actor: Actor = Depends(current_actor), rt: Runtime = Depends(runtime)
) -> JSONResponse:
    """The citizen's contact consent and phone (as written to staff and the handling department); every read
    is recorded."""
    async with rt.sessionmaker() as session:
        contact = await cases.case_contact(session, actor, number, utcnow())
    return JSONResponse(
        {
            "case_no": contact.number,
            "anonymous": contact.anonymous,
            "consent": contact.consent,
            "phone": contact.phone,
            "unmasked": contact.unmasked,
        }
    )


@router.get("/cases/{number}/contact/views")
async def contact_views(number: str, actor: Actor = Depends(staff_actor), rt: Runtime = Depends(runtime)) -> list[dict]:
    """Who read the citizen's contact, and when."""
    async with rt.sessionmaker() as session:
        return await cases.contact_views(session, actor, number)


@router.get("/cases/{number}/reply-templates")
async def reply_templates(
    number: str, actor: Actor = Depends(current_actor), rt: Runtime = Depends(runtime)
) -> list[dict]:
    """The reply templates for the case's topic, its facts written in."""
    async with rt.sessionmaker() as session:
        return await cases.reply_templates(session, rt.deployment, actor, number)


@router.post("/cases/{number}/actions")
async def case_action(
    number: str, body: CaseAction, actor: Actor = Depends(current_actor), rt: Runtime = Depends(runtime)
) -> JSONResponse:
    command = Command(
        body.action,
        actor.role,
        actor.name,
        reason=body.reason,
        rating=body.rating,
        merged_into=body.merged_into,
        answer=body.answer,
        level=body.level,
        kind=body.kind,
    )
    async with rt.sessionmaker() as session:
        case, transition = await cases.perform(
            session,
            rt.deployment,
            rt.calendar,
            number,
            actor,
            command,
            utcnow(),
            topic=body.topic,
            department_code=body.department,
        )
    return JSONResponse(
        {
            "case_no": case.number,
            "from": transition.from_state.value,
            "to": transition.to_state.value,
            "reason": transition.reason,
        }
    )


@router.post("/cases/{number}/split")
async def split_case(
    number: str, body: Split, actor: Actor = Depends(current_actor), rt: Runtime = Depends(runtime)
) -> JSONResponse:
    """Split a case holding several problems into new cases, one per part; the original is closed as split."""
    parts = [cases.NewPart(p.description, p.topic, p.department, p.place) for p in body.parts]
    async with rt.sessionmaker() as session:
        original, made = await cases.split_case(
            session, rt.deployment, rt.calendar, number, actor, parts, utcnow(), reason=body.reason
        )
    return JSONResponse(
        {
            "case_no": original.number,
            "state": original.state,
            "parts": [{"case_no": c.number, "topic": c.topic} for c in made],
        }
    )


@router.get("/human-requests")
async def human_requests(actor: Actor = Depends(staff_actor), rt: Runtime = Depends(runtime)) -> list[dict]:
    """Citizens waiting for a person, oldest first, with the time promised to them."""
    async with rt.sessionmaker() as session:
        return await conversations.open_human_requests(session)


@router.get("/pushes")
async def list_pushes(
    request: Request,
    status: str | None = None,
    limit: int = Query(pushes.PAGE_LIMIT, ge=1, le=pushes.MAX_PAGE_LIMIT),
    offset: int = Query(0, ge=0),
    actor: Actor = Depends(staff_actor),
    rt: Runtime = Depends(runtime),
) -> dict:
    """The pushes, newest first, a page at a time: `items`, the `total` matching, and `next`, the address of
    the next page (null on the last)."""
    async with rt.sessionmaker() as session:
        page = await pushes.listing(session, status=status, limit=limit, offset=offset)
    following = page.next_offset
    query = {**({"status": status} if status else {}), "limit": page.limit, "offset": following}
    next_url = None if following is None else f"{request.url.path}?{urlencode(query)}"
    return {"items": page.items, "total": page.total, "limit": page.limit, "offset": page.offset, "next": next_url}
