"""What routes depend on: the process's Runtime and the actor behind the request's token."""

from __future__ import annotations

from fastapi import HTTPException, Request

from bot.runtime import Runtime
from casework.actors import Actor
from services import access
from services.users import UnknownUser, actor_for_token


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def current_actor(request: Request) -> Actor:
    """The user behind `Authorization: Bearer TOKEN` (made by `liaison user add`)."""
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not token:
        raise HTTPException(401, "需要登录：请在 Authorization 头中提供令牌（liaison user add 生成）")
    async with request.app.state.runtime.sessionmaker() as session:
        try:
            return await actor_for_token(session, token)
        except UnknownUser as exc:
            raise HTTPException(401, exc.message) from None


async def staff_actor(request: Request) -> Actor:
    """The current actor, who must be staff or an admin."""
    actor = await current_actor(request)
    if not access.is_staff(actor):
        raise HTTPException(403, "只有工作人员可以查看")
    return actor
