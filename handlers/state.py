"""Dialogue state: where each citizen is in a conversation flow, kept in Redis with a TTL.

Redis (not process memory) holds it so that any web worker can take the next message and a
restart of the bot loses nothing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis

from storage.keys import Keys

# A half-told report is kept for two days; after that the citizen starts again.
DIALOGUE_TTL_SECONDS = 2 * 24 * 3600


@dataclass
class DialogueState:
    flow: str | None = None  # the flow in progress ("report", "withdraw", "booking") or None
    step: str | None = None
    draft: dict[str, Any] = field(default_factory=dict)
    # A message that arrived while the NLU was down and could not be understood, kept for later.
    pending_text: str | None = None
    # The deputy a citizen came to through a deputy's card (QR scene), followed by their reports.
    deputy_code: str | None = None

    def reset_flow(self) -> None:
        self.flow = None
        self.step = None
        self.draft = {}


class DialogueStore:
    def __init__(self, redis: Redis, keys: Keys, ttl: int = DIALOGUE_TTL_SECONDS) -> None:
        self.redis = redis
        self.keys = keys
        self.ttl = ttl

    async def load(self, channel: str, user_id: str) -> DialogueState:
        raw = await self.redis.get(self.keys.dialogue(channel, user_id))
        if not raw:
            return DialogueState()
        return DialogueState(**json.loads(raw))

    async def save(self, channel: str, user_id: str, state: DialogueState) -> None:
        key = self.keys.dialogue(channel, user_id)
        if state == DialogueState():
            await self.redis.delete(key)
        else:
            await self.redis.set(key, json.dumps(asdict(state), ensure_ascii=False), ex=self.ttl)
