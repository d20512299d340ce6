"""What routes depend on: the process's Runtime, the actor behind the request's token, whether the caller is on this
machine."""

from __future__ import annotations

import hmac

from fastapi import Request

from bot.runtime import Runtime
from casework.actors import Actor
from casework.errors import Forbidden, Unauthenticated
from services import access
from services.users import actor_for_token
from texts import errors as texts

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


def runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def from_loopback(request: Request) -> bool:
    """Whether the caller is on this machine. (Behind a proxy on this machine, uvicorn takes the caller from the
    proxy's X-Forwarded-For.)"""
    return (request.client.host if request.client else "") in LOOPBACK


def bearer(request: Request) -> str:
    return request.headers.get("authorization", "").removeprefix("Bearer ").strip()


def same_secret(given: str, expected: str) -> bool:
    """`given` is `expected`, compared in constant time; an empty secret matches nothing."""
    return bool(given and expected) and hmac.compare_digest(given.encode(), expected.encode())


async def current_actor(request: Request) -> Actor:
    """The user behind `Authorization: Bearer TOKEN` (made by `liaison user add`)."""
    token = bearer(request)
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
