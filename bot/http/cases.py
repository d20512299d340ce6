"""The staff JSON API: cases and their operations, pushes. Each request carries a user's token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
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
    reason: str = Field(default="", max_length=5000)
    rating: str | None = None
    merged_into: str | None = Field(default=None, max_length=20)
    answer: str | None = Field(default=None, max_length=5000)
    level: str | None = None
    topic: str | None = None
    department: str | None = Field(default=None, description="department code, for assign")


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
        _, data = await cases.case_detail(session, actor, number)
    return JSONResponse(data)


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


@router.get("/human-requests")
async def human_requests(actor: Actor = Depends(staff_actor), rt: Runtime = Depends(runtime)) -> list[dict]:
    """Citizens waiting for a person, oldest first, with the time promised to them."""
    async with rt.sessionmaker() as session:
        return await conversations.open_human_requests(session)


@router.get("/pushes")
async def list_pushes(
    status: str | None = None, actor: Actor = Depends(staff_actor), rt: Runtime = Depends(runtime)
) -> list[dict]:
    async with rt.sessionmaker() as session:
        return await pushes.listing(session, status=status)
