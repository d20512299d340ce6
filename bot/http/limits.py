"""Request-size limits for every door, enforced before the body is read into memory."""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 64 * 1024
log = logging.getLogger("liaison.limits")


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Refuse requests whose body exceeds `max_bytes` with 413, counting as the body streams in."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, scope)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
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
                await self._refuse(send, scope)

    async def _refuse(self, send: Send, scope: Scope) -> None:
        client = (scope.get("client") or ("?",))[0]
        log.warning("refused %s %s from %s: body over %d bytes", scope.get("method"), scope.get("path"), client,
                    self.max_bytes)
        body = json.dumps({"code": "body_too_large", "detail": f"请求内容超过 {self.max_bytes // 1024} KB 上限"},
                          ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
