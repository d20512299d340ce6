"""GET/POST /wechat: the official account's server URL.

A view verifies, opens, hands off and answers. WeChat waits 5 seconds for an answer and then sends
the same delivery again (three times in all), so the message is answered passively only when the
replies are ready within a budget well under that (WECHAT_REPLY_BUDGET, 4 s); otherwise the answer
is "success" at once and the replies follow as a customer-service message, recorded in the push
queue. The Dispatcher stores the message before anything else and answers a repeated delivery
(MsgId; for events sender + CreateTime) once, with the replies of the copy that was processed. A message
that cannot be taken within the budget (TryLater) gets 503, so WeChat sends it again; past the budget it
is kept and the recovery pass answers it by push. Refusals (a forged signature, a malformed body, too
large...) are raised as `casework.errors` and rendered by `bot.http.errors`.

WeChat's retries repeat the query string and the body exactly. Each (timestamp, nonce) is remembered in Redis with
a digest of the query string and body for as long as its timestamp is accepted: the same again is a retry and
goes on to be answered once; anything else under that nonce is a replay of a signed URL and is refused (403)
before anything is stored.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from bot.channels.wechat.protocol import MAX_CLOCK_SKEW, Delivery, Protocol
from casework.errors import Forged, NotConfigured, TryLater
from services.conversations import RETRY_AFTER_SECONDS, Inbound, Reply
from services.pushes import send_reply
from storage.models import utcnow
from texts import errors as texts

if TYPE_CHECKING:
    from bot.runtime import Runtime

log = logging.getLogger("liaison.wechat")
# WeChat documents no limit on what a citizen sends (its 2048 bytes are for what we send). A 10,000-character
# Chinese text is about 30 KB of UTF-8, about 40 KB encrypted and base64-encoded in safe mode, and both at once
# (about 72 KB) in compatible mode: 128 KB keeps such a message whole in every mode. Enforced by
# bot.http.limits.BodyLimit as the body streams in.
MAX_BODY_BYTES = 128 * 1024
# A nonce is remembered for as long as its timestamp can be accepted: up to MAX_CLOCK_SKEW either side of now.
NONCE_SECONDS = 2 * MAX_CLOCK_SKEW
# How long shutting down waits for replies still on their way.
DRAIN_SECONDS = 15.0
# WeChat retries a delivery for about 15 seconds; the claim on its answer outlives that comfortably.
ANSWER_CLAIM_SECONDS = 3600
PASSIVE, LATE = "passive", "late"


class WeChatDoor:
    """The door's state in one process: the protocol of the configured account and the late replies."""

    def __init__(self, services: Runtime, clock: Callable[[], dt.datetime] = utcnow) -> None:
        settings = services.settings
        self.services = services
        self.clock = clock
        self.budget = settings.wechat_reply_budget
        self.protocol = (
            Protocol(
                settings.wechat_token,
                settings.wechat_aes_key,
                settings.wechat_app_id,
                safe_mode=settings.wechat_encrypted_only,
            )
            if settings.wechat_token
            else None
        )
        self._late: set[asyncio.Task[None]] = set()

    async def open(self, query: dict[str, str], body: bytes) -> Delivery:
        """A verified delivery; a replayed signed URL is refused before its body is opened."""
        protocol = self._protocol()
        now = self.clock()
        protocol.authenticate(query, now)
        await self._refuse_replay(query, body)
        return protocol.open(query, body, now)

    def verify_url(self, query: dict[str, str]) -> str:
        # Echoing echostr changes nothing and tells nothing: the timestamp's age is all that is checked.
        return self._protocol().verify_url(query, self.clock())

    async def answer(self, delivery: Delivery) -> list[Reply]:
        """The replies, if ready within the budget; [] when they follow as a customer-service message (or went
        out as one already, for an earlier copy of this delivery)."""
        task = asyncio.create_task(self.services.dispatcher.handle(delivery.inbound))
        try:
            await asyncio.wait({task}, timeout=self.budget)
        finally:
            # Also when WeChat hung up first (this request cancelled): the replies must still reach the citizen.
            if not task.done():
                late = asyncio.create_task(self._send_late(task, delivery.inbound))
                self._late.add(late)
                late.add_done_callback(self._late.discard)
        if not task.done() and not await self.services.dispatcher.inbox.stored(delivery.inbound):
            # "success" tells WeChat to stop sending this delivery: only once it is stored (a process killed
            # now leaves it to the recovery pass). Not yet stored: 503, and WeChat sends it again.
            raise TryLater(RETRY_AFTER_SECONDS, detail=f"{delivery.inbound.external_id} not stored within the budget")
        replies = task.result() if task.done() else []
        return replies if replies and await self._may_answer(delivery.inbound, PASSIVE) else []

    def render(self, delivery: Delivery, replies: list[Reply]) -> Response:
        text = joined(replies)
        if not text:
            return PlainTextResponse("success")
        return Response(self._protocol().render(delivery, text), media_type="application/xml")

    async def drain(self) -> None:
        if self._late:
            await asyncio.wait(set(self._late), timeout=DRAIN_SECONDS)

    async def _send_late(self, task: asyncio.Task[list[Reply]], inbound: Inbound) -> None:
        try:
            replies = await task
            if replies and await self._may_answer(inbound, LATE):
                await deliver_late(self.services, inbound, replies)
        except TryLater:
            # WeChat was answered already; the message is another copy's, or kept for the recovery pass.
            log.info("WeChat delivery %s could not be taken in time; it is answered by push", inbound.external_id)
        except Exception:  # noqa: BLE001 - a background task has nobody else to tell
            log.exception("a late WeChat reply to %s failed", inbound.external_id)

    async def _may_answer(self, inbound: Inbound, how: str) -> bool:
        """Whether this answer to a delivery may go out. Copies of one delivery (WeChat's retries) all get its
        replies: every passive answer carries them (WeChat shows one), and a late customer-service message goes
        only when no answer went out before it, passive or late; after a late one, no passive answer does."""
        if not inbound.external_id:
            return True
        runtime = self.services
        key = runtime.keys.wechat_answered(inbound.external_id)
        if await runtime.redis.set(key, how, nx=True, ex=ANSWER_CLAIM_SECONDS):
            return True
        first = await runtime.redis.get(key)
        return how == PASSIVE and (first.decode() if isinstance(first, bytes) else first) == PASSIVE

    async def _refuse_replay(self, query: dict[str, str], body: bytes) -> None:
        """The first use of a (timestamp, nonce) is remembered with its request; only the same request again
        (WeChat's retry) may follow under it."""
        digest = hashlib.sha256(repr(sorted(query.items())).encode() + b"\n" + body).hexdigest()
        runtime = self.services
        key = runtime.keys.wechat_nonce(query["timestamp"], query["nonce"])
        if await runtime.redis.set(key, digest, nx=True, ex=NONCE_SECONDS):
            return
        first = await runtime.redis.get(key)
        if first is not None and (first.decode() if isinstance(first, bytes) else first) != digest:
            raise Forged(
                texts.REPLAYED,
                code="replayed",
                detail=f"nonce {query['nonce'][:40]!r} at {query['timestamp']} came before with another request",
            )

    def _protocol(self) -> Protocol:
        if self.protocol is None:
            raise NotConfigured(detail="WECHAT_TOKEN is not set")
        return self.protocol


async def deliver_late(services: Runtime, inbound: Inbound, replies: list[Reply]) -> None:
    """Replies that missed the passive answer: one customer-service message, sent once per delivery."""
    key = inbound.external_id or utcnow().isoformat()
    await send_reply(
        services,
        dedupe_key=f"{inbound.channel}:late-reply:{key}",
        channel=inbound.channel,
        address=inbound.user_id,
        text=joined(replies),
    )


def joined(replies: list[Reply]) -> str:
    """WeChat's passive answer is one message: the replies in order, a blank line apart."""
    return "\n\n".join(r.text for r in replies if r.text)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Runs inside the app's lifespan: the services are open.
    app.state.wechat = door = WeChatDoor(app.state.runtime)
    try:
        yield
    finally:
        await door.drain()


router = APIRouter(tags=["wechat"], lifespan=lifespan)


@router.get("/wechat", response_class=PlainTextResponse)
async def verify(request: Request) -> Response:
    """The server URL check: echo `echostr` when the signature holds."""
    return PlainTextResponse(request.app.state.wechat.verify_url(dict(request.query_params)))


@router.post("/wechat")
async def receive(request: Request) -> Response:
    """A message or event from WeChat's servers."""
    door: WeChatDoor = request.app.state.wechat
    delivery = await door.open(dict(request.query_params), await request.body())
    return door.render(delivery, await door.answer(delivery))
