"""What conversations keep in Redis: each citizen's dialogue state, who unfollowed the account, and the
one-time codes that bind a chat to a deputy.

Redis (not process memory) holds them so that any web worker can take the next message and a restart
loses nothing. Every key comes from `storage.keys`.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from storage.keys import Keys

# A half-told report is kept for two days; after that the citizen starts again.
DIALOGUE_TTL_SECONDS = 2 * 24 * 3600
# No 0/O, 1/I/L: codes are read off a screen and typed on a phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
BIND_CODE_TTL_SECONDS = 24 * 3600


class DialogueStore:
    """Dialogue state as a JSON object with a TTL; an empty state is no key at all."""

    def __init__(self, redis: Redis, keys: Keys, ttl: int = DIALOGUE_TTL_SECONDS) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl = ttl

    async def load(self, channel: str, user_id: str) -> dict[str, Any]:
        return decode(await self.redis.get(self.keys.dialogue(channel, user_id)))

    async def save(self, channel: str, user_id: str, state: dict[str, Any] | None) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            self.save_in(pipe, channel, user_id, state)
            await pipe.execute()

    def load_in(self, pipe: Pipeline, channel: str, user_id: str) -> None:
        """Queue the read of the dialogue on `pipe` (a turn reads it with its rate count); `decode` its result."""
        pipe.get(self.keys.dialogue(channel, user_id))

    def save_in(self, pipe: Pipeline, channel: str, user_id: str, state: dict[str, Any] | None) -> None:
        """Queue the write of the dialogue on `pipe` (a turn writes it with its live event)."""
        key = self.keys.dialogue(channel, user_id)
        if not state:
            pipe.delete(key)
        else:
            pipe.set(key, json.dumps(state, ensure_ascii=False), ex=self.ttl)


def decode(raw: str | bytes | None) -> dict[str, Any]:
    """A stored dialogue as a dict; no key is the empty state."""
    return json.loads(raw) if raw else {}


class Subscriptions:
    """Who unfollowed the account (a flag in Redis): pushes to them stop until they follow again."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def unfollowed(self, channel: str, user_id: str) -> None:
        await self.redis.set(self.keys.unsubscribed(channel, user_id), "1")

    async def followed(self, channel: str, user_id: str) -> None:
        await self.redis.delete(self.keys.unsubscribed(channel, user_id))


class BindCodes:
    """One-time codes that bind a chat to a deputy, kept in Redis until used or expired."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def issue(self, deputy_code: str, ttl: int = BIND_CODE_TTL_SECONDS) -> str:
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if await self.redis.set(self.keys.deputy_bind_code(code), deputy_code, nx=True, ex=ttl):
                return code

    async def redeem(self, code: str) -> str | None:
        """The deputy the code was issued for, once; None for an unknown, used or expired code."""
        found = await self.redis.getdel(self.keys.deputy_bind_code(code.upper()))
        return found.decode() if isinstance(found, bytes) else found
