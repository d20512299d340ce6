"""Conversations: the citizens waiting for a person, and (soon) the live view and takeover of the console."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories import ConversationStore


async def open_human_requests(session: AsyncSession) -> list[dict[str, Any]]:
    """Citizens waiting for a person, oldest first, with the time promised to them."""
    return [{"id": r.id, "conversation_id": r.conversation_id, "requested_at": r.requested_at.isoformat(),
             "answer_by": r.answer_by.isoformat()}
            for r in await ConversationStore(session).open_human_requests()]
