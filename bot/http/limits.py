"""Limits the doors enforce before a route runs: the body's size (before it is read into memory); no NUL
in the path or query (PostgreSQL cannot compare or store it); and on the staff API, no string in a JSON
body that cannot be stored (NUL, a lone surrogate).

What citizens say is cleaned instead (`handlers.turn.Inbound`): their message must not be lost for an
invisible character. What staff tools send is refused: the caller can fix it and send it again."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from casework.errors import InvalidInput
from services.conversations import UNSTORABLE
from texts import errors as texts

MAX_BODY_BYTES = 64 * 1024
log = logging.getLogger("liaison.limits")


def no_nul_in_url(request: Request) -> None:
    """An app-wide dependency: a path or query parameter holding NUL (%00) is refused with 422."""
    if "\x00" in request.url.path or any("\x00" in k or "\x00" in v for k, v in request.query_params.multi_items()):
        raise InvalidInput(texts.INVALID_TEXT, code="invalid_text")


async def storable_json(request: Request) -> None:
    """A dependency for the staff API: a JSON body holding an unstorable string is refused with 422.

    FastAPI has parsed (and cached) the body before dependencies run, so this reads no more than it did."""
    if not request.headers.get("content-type", "").startswith("application/json") or not await request.body():
        return
    try:
        data = await request.json()
    except (ValueError, RecursionError):
        return  # not JSON: FastAPI has refused it already, or the route takes no body
    if _unstorable(data):
        raise InvalidInput(texts.INVALID_TEXT, code="invalid_text")


def _unstorable(data: Any) -> bool:
    """Whether any string (key or value) holds NUL or a lone surrogate; iterative, so depth cannot hurt."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if UNSTORABLE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse requests whose body exceeds `max_bytes` (or the limit of their path in `paths`) with 413, counting as
    the body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, paths: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.paths = dict(paths or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.paths.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, scope, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._refuse(send, scope, limit)

    async def _refuse(self, send: Send, scope: Scope, limit: int) -> None:
        client = (scope.get("client") or ("?",))[0]
        log.warning("refused %s %s from %s: body over %d bytes", scope.get("method"), scope.get("path"), client, limit)
        message = texts.TOO_LARGE.format(limit=limit // 1024)
        # Outside the app, so bot.http.errors cannot render it: the same shape, written here.
        body = json.dumps(
            {"code": "body_too_large", "message": message, "detail": message}, ensure_ascii=False
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
