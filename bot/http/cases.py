"""The staff JSON API: cases and their operations, pushes. Each request carries a user's token."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import select

from bot.cli.cases import actor_of, case_json, common_problem_groups
from bot.runtime import Runtime
from casework.lifecycle import Action, Command, IllegalTransition, allowed_actions
from services import access
from services.cases import perform
from services.records import Actor, case_facts
from storage.models import Case, Department, utcnow
from storage.repositories import CaseStore, ConversationStore, DirectoryStore, PushStore, UserStore

router = APIRouter(prefix="/api", tags=["staff"])


def services(request: Request) -> Runtime:
    return request.app.state.runtime


async def current_actor(request: Request) -> Actor:
    """The user behind `Authorization: Bearer TOKEN` (made by `liaison user add`)."""
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not token:
        raise HTTPException(401, "需要登录：请在 Authorization 头中提供令牌（liaison user add 生成）")
    async with request.app.state.runtime.sessionmaker() as session:
        user = await UserStore(session).by_token(token)
        if user is None:
            raise HTTPException(401, "令牌无效或已停用")
        return await actor_of(session, user)


def for_actor(data: dict, actor: Actor) -> dict:
    """A case's JSON as the actor may read it: unless staff, phone and ID numbers in its texts masked and
    the citizen's channel id in its events hidden."""
    data["description"] = access.masked_for(actor, data["description"])
    for event in data.get("events", ()):
        event["reason"] = access.masked_for(actor, event["reason"])
        event["actor"] = access.event_actor_for(actor, event["role"], event["actor"])
    return data


def refusal(exc: IllegalTransition) -> JSONResponse:
    forbidden = ("forbidden_role", "not_your_department", "not_your_case")
    status = 404 if exc.code == "not_found" else 403 if exc.code in forbidden else 409
    return JSONResponse({"code": exc.code, "detail": exc.message}, status_code=status)


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
async def list_cases(state: str | None = None, limit: int = 100, actor: Actor = Depends(current_actor),
                     services: Runtime = Depends(services)) -> list[dict]:
    async with services.sessionmaker() as session:
        query = select(Case).order_by(Case.id.desc()).limit(min(limit, 1000))
        if state:
            query = query.where(Case.state == state)
        cases = (await session.execute(query.where(access.case_filter(actor)))).scalars().all()
        departments = await DirectoryStore(session).names(Department)
        return [for_actor(case_json(c, departments, events=False), actor) for c in cases]


@router.get("/cases/groups")
async def common_problems(actor: Actor = Depends(current_actor), services: Runtime = Depends(services)) -> list[dict]:
    """Groups of similar cases (共性问题), largest first, so a recurring problem can be raised as one."""
    async with services.sessionmaker() as session:
        return await common_problem_groups(session, actor)


@router.get("/cases/{number}")
async def show_case(number: str, actor: Actor = Depends(current_actor),
                    services: Runtime = Depends(services)) -> JSONResponse:
    async with services.sessionmaker() as session:
        cases = CaseStore(session)
        case = await cases.by_number(number)
        if case is None or not access.may_see_case(actor, await access.case_scope(session, case)):
            return JSONResponse({"code": "not_found", "detail": f"没有编号为 {number} 的案件。"}, status_code=404)
        departments = await DirectoryStore(session).names(Department)
        data = for_actor(case_json(case, departments), actor)
        data["replies"] = [{"text": r.text, "status": r.status, "number": r.number, "author": r.author,
                            "review_note": r.review_note} for r in await cases.replies(case.id)]
        data["allowed_actions"] = [a.value for a in allowed_actions(await case_facts(cases, case), actor.role)]
        data["pushes"] = [{"kind": p.kind, "recipient": p.recipient, "channel": p.channel, "status": p.status,
                           "attempts": p.attempts, "error": p.last_error}
                          for p in await PushStore(session).listing(case_id=case.id)]
        return JSONResponse(data)


@router.post("/cases/{number}/actions")
async def case_action(number: str, body: CaseAction, actor: Actor = Depends(current_actor),
                      services: Runtime = Depends(services)) -> JSONResponse:
    command = Command(body.action, actor.role, actor.name, reason=body.reason, rating=body.rating,
                      merged_into=body.merged_into, answer=body.answer, level=body.level)
    async with services.sessionmaker() as session:
        try:
            case, transition = await perform(session, services.deployment, services.calendar, number, actor,
                                             command, utcnow(), topic=body.topic, department_code=body.department)
        except IllegalTransition as exc:
            return refusal(exc)
    return JSONResponse({"case_no": case.number, "from": transition.from_state.value,
                         "to": transition.to_state.value, "reason": transition.reason})


@router.get("/human-requests")
async def human_requests(actor: Actor = Depends(current_actor), services: Runtime = Depends(services)) -> list[dict]:
    """Citizens waiting for a person, oldest first, with the time promised to them."""
    if not access.is_staff(actor):
        raise HTTPException(403, "只有工作人员可以查看转人工请求")
    async with services.sessionmaker() as session:
        return [{"id": r.id, "conversation_id": r.conversation_id, "requested_at": r.requested_at.isoformat(),
                 "answer_by": r.answer_by.isoformat()}
                for r in await ConversationStore(session).open_human_requests()]


@router.get("/pushes")
async def list_pushes(status: str | None = None, actor: Actor = Depends(current_actor),
                      services: Runtime = Depends(services)) -> list[dict]:
    if not access.is_staff(actor):
        raise HTTPException(403, "只有工作人员可以查看推送记录")
    async with services.sessionmaker() as session:
        return [{"id": p.id, "kind": p.kind, "recipient_type": p.recipient_type, "recipient": p.recipient,
                 "channel": p.channel, "status": p.status, "attempts": p.attempts, "error": p.last_error,
                 "created_at": p.created_at.isoformat(), "sent_at": p.sent_at.isoformat() if p.sent_at else None}
                for p in await PushStore(session).listing(status=status)]
