"""The sender of channels that cannot message first (the web API, the terminal): a push waits in the
conversation as an unread message and is shown with the citizen's next reply."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.senders import PushSender
from storage.models import Push
from storage.repositories import ConversationStore


class ConversationSender(PushSender):
    waits_for_next_message = True

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker

    async def send(self, push: Push) -> None:
        async with self.sessionmaker() as session:
            store = ConversationStore(session)
            party = await store.identify(push.channel or "", push.address or "")
            await store.record_outbound(
                party,
                text=push.text,
                payload={"buttons": push.buttons, "push_id": push.id},
                in_reply_to=None,
                status="unread",
            )
            await session.commit()
