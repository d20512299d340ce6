"""Live events for the console: what changed, never what it says.

An event names a conversation (or a user, for an alert) and what happened; each viewer's stream asks the
access policy whether they may see that conversation before passing the event on, and the page then fetches
what changed through the same policy. So no event carries a citizen's words to anyone, and none reaches a
viewer who may not see its conversation. Events go through one Redis Stream shared by every web worker
(capped, so a long-closed tab cannot replay a day); an entry's id is the event id a browser resumes from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from storage.keys import Keys

KEEP_EVENTS = 10_000
# What a conversation's event may say happened.
MESSAGE, HOLD, REQUEST, ALERT = "message", "hold", "request", "alert"


@dataclass(frozen=True)
class LiveEvent:
    id: str  # the stream entry's id: the event's id for Last-Event-ID
    kind: str
    conversation_id: int | None
    user_id: int | None  # an alert for one user
    message_id: int | None = None  # the message a conversation's event is about


async def publish(redis: Redis, keys: Keys, kind: str, **about: int | None) -> None:
    """Publish one event: `about` names its conversation, user or message as `publish_in` does."""
    async with redis.pipeline(transaction=False) as pipe:
        publish_in(pipe, keys, kind, **about)
        await pipe.execute()


def publish_in(
    pipe: Pipeline,
    keys: Keys,
    kind: str,
    *,
    conversation_id: int | None = None,
    user_id: int | None = None,
    message_id: int | None = None,
) -> None:
    """Queue the event on `pipe`, to go with the other commands of the same moment in one round trip."""
    fields = {"kind": kind, "conversation": conversation_id or "", "user": user_id or "", "message": message_id or ""}
    pipe.xadd(keys.live, fields, maxlen=KEEP_EVENTS, approximate=True)  # type: ignore[arg-type]


async def latest_id(redis: Redis, keys: Keys) -> str:
    """Where a new stream starts: after the newest event (or the stream's start when there is none)."""
    newest = await redis.xrevrange(keys.live, count=1)
    return str(newest[0][0]) if newest else "0-0"


async def events_after(redis: Redis, keys: Keys, last_id: str, *, wait_ms: int, count: int = 100) -> list[LiveEvent]:
    """The events after `last_id`, waiting up to `wait_ms` for one when there are none yet."""
    answer: Any = await redis.xread({keys.live: last_id}, count=count, block=wait_ms)
    events = []
    for _stream, entries in answer or []:
        for entry_id, fields in entries:
            conversation, user, message = (fields.get(name, "") for name in ("conversation", "user", "message"))
            events.append(
                LiveEvent(
                    id=str(entry_id),
                    kind=str(fields.get("kind", "")),
                    conversation_id=int(conversation) if conversation else None,
                    user_id=int(user) if user else None,
                    message_id=int(message) if message else None,
                )
            )
    return events


def valid_event_id(value: str) -> bool:
    """A Last-Event-ID as a browser sends it back: a stream entry id (digits-digits), nothing else."""
    head, _, tail = value.partition("-")
    return head.isdigit() and tail.isdigit() and len(value) <= 41
