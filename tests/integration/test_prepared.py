"""The message path's prepared statements (storage/prepared.py) write what the ORM would: the message and its
replies logged, the compare-and-set mark, the conversation's and the identity's notes; a moment stored as the
ORM stores it (so SQL comparing and sorting moments sees one kind of value), JSON as JSON; a stored delivery
skipped; on SQLite and PostgreSQL alike."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import String, cast, select

from storage.db import make_engine, make_sessionmaker
from storage.models import ChannelIdentity, Conversation, Message
from storage.repositories import ConversationStore
from storage.watch import WatchStore

pytestmark = pytest.mark.integration

PAYLOAD = {"label": "幸福里小区5栋门口 🏠", "latitude": 31.2, "longitude": 121.5}


async def test_the_message_path_writes_what_the_orm_writes(database_url):
    engine = make_engine(database_url.replace("sqlite://", "sqlite+aiosqlite://", 1))
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session:
            store = ConversationStore(session)
            party = await store.identify("test", f"prepared-{uuid.uuid4().hex[:8]}")
            inbound = await store.record_inbound(
                party, kind="location", text="路灯坏了 🏠", payload=PAYLOAD, external_id="m-1"
            )
            again = await store.record_inbound(party, kind="text", text="重复", payload={}, external_id="m-1")
            assert inbound is not None and again is None  # the stored delivery skipped, not written twice
            await store.record_replies(
                party,
                [("请问具体位置在哪里？", {"buttons": ["确认", "修改"]}), ("好的", {"buttons": []})],
                in_reply_to=inbound,
                status="sent",
            )
            marked = await store.mark(inbound, status="handled", intent="report_issue", confidence=0.91, topic="路灯")
            marked_again = await store.mark(inbound, status="failed")
            await WatchStore(session).note_turn(
                party.conversation_id,
                status="handled",
                confidence=0.91,
                flow="report",
                deputy_code=None,
                last_reply="好的",
            )
            await session.commit()

            rows = (
                await session.execute(
                    select(Message).where(Message.conversation_id == party.conversation_id).order_by(Message.id)
                )
            ).scalars()
            logged = list(rows)
            conversation = await session.get(Conversation, party.conversation_id)
            identity = await session.get(ChannelIdentity, party.identity_id)
            written_at = logged[0].created_at
            session.add(
                Message(
                    conversation_id=party.conversation_id,
                    channel="test",
                    direction="in",
                    kind="text",
                    text="ORM",
                    payload={},
                    status="handled",
                    created_at=written_at,
                )
            )
            await session.commit()
            stored = (
                await session.execute(
                    select(cast(Message.created_at, String))
                    .where(Message.conversation_id == party.conversation_id)
                    .order_by(Message.id)
                )
            ).scalars()
            stored_at = list(stored)
    finally:
        await engine.dispose()

    assert marked and not marked_again  # compare-and-set from `received`: once
    message, first, second = logged
    assert (message.kind, message.text, message.payload, message.direction) == (
        "location",
        "路灯坏了 🏠",
        PAYLOAD,
        "in",
    )
    assert (message.status, message.intent, message.confidence, message.topic) == (
        "handled",
        "report_issue",
        0.91,
        "路灯",
    )
    assert [(r.text, r.payload, r.direction, r.status, r.in_reply_to_id) for r in (first, second)] == [
        ("请问具体位置在哪里？", {"buttons": ["确认", "修改"]}, "out", "sent", inbound),
        ("好的", {"buttons": []}, "out", "sent", inbound),
    ]
    assert written_at.utcoffset() is not None and written_at.utcoffset().total_seconds() == 0
    assert stored_at[0] == stored_at[-1]  # the prepared row's moment stored as the ORM's row stores the same moment
    assert identity.last_inbound_at == conversation.last_inbound_at == written_at
    assert (conversation.last_text, conversation.last_direction, conversation.last_status) == ("好的", "out", "handled")
    assert (conversation.flow, conversation.last_confidence) == ("report", 0.91)
