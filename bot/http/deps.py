"""What routes depend on: the process's Runtime and the actor behind the request's token."""

from __future__ import annotations

from fastapi import Request

from bot.runtime import Runtime
from casework.actors import Actor
from casework.errors import Forbidden, Unauthenticated
from services import access
from services.users import actor_for_token
from texts import errors as texts


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def current_actor(request: Request) -> Actor:
    """The user behind `Authorization: Bearer TOKEN` (made by `liaison user add`)."""
    token = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not token:
        raise Unauthenticated(texts.TOKEN_REQUIRED)
    async with request.app.state.runtime.sessionmaker() as session:
        return await actor_for_token(session, token)


async def staff_actor(request: Request) -> Actor:
    """The current actor, who must be staff or an admin."""
    actor = await current_actor(request)
    if not access.is_staff(actor):
        raise Forbidden(texts.STAFF_ONLY)
    return actor
