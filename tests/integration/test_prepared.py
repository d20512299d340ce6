"""The message path's prepared statements write what the ORM would: a moment stored as the ORM stores it
(so SQL comparing and sorting moments sees one kind of value), JSON as JSON, the construct's own literals, a
skipped duplicate; on SQLite and PostgreSQL alike."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import bindparam, cast, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import String

from storage.db import make_engine, make_sessionmaker
from storage.models import Message
from storage.prepared import Prepared
from storage.repositories import ConversationStore

pytestmark = pytest.mark.integration

BEIJING = dt.timezone(dt.timedelta(hours=8))


def _log(dialect: str) -> insert:
    on_conflict = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (
        on_conflict(Message)
        .values(
            conversation_id=bindparam("conversation_id"),
            channel=bindparam("channel"),
            external_id=bindparam("external_id"),
            kind="text",
            text=bindparam("text"),
            payload=bindparam("payload", type_=Message.payload.type),
            status="received",
            direction="in",
            created_at=bindparam("at", type_=Message.created_at.type),
        )
        .on_conflict_do_nothing(index_elements=["conversation_id", "direction", "external_id"])
        .returning(Message.id)
    )


LOG = Prepared(_log)


async def test_a_prepared_statement_writes_what_the_orm_writes(database_url):
    engine = make_engine(database_url.replace("sqlite://", "sqlite+aiosqlite://", 1))
    sessions = make_sessionmaker(engine)
    at = dt.datetime(2027, 1, 1, 7, 30, 15, 123456, tzinfo=BEIJING)  # 2026-12-31 in UTC
    payload = {"label": "幸福里小区5栋门口 🏠", "buttons": ["确认", "修改"], "n": 3}
    try:
        async with sessions() as session:
            party = await ConversationStore(session).identify("test", f"prepared-{id(at)}")
            params = {"conversation_id": party.conversation_id, "channel": "test", "text": "路灯坏了", "at": at}
            first = (await LOG.run(session, {**params, "external_id": "m-1", "payload": payload})).scalar_one()
            again = (await LOG.run(session, {**params, "external_id": "m-1", "payload": {}})).scalar_one_or_none()
            session.add(
                Message(
                    conversation_id=party.conversation_id,
                    channel="test",
                    external_id="m-2",
                    direction="in",
                    kind="text",
                    text="路灯坏了",
                    payload=payload,
                    status="received",
                    created_at=at,
                )
            )
            await session.commit()

            rows = (
                await session.execute(
                    select(Message, cast(Message.created_at, String).label("stored"))
                    .where(Message.conversation_id == party.conversation_id)
                    .order_by(Message.external_id)
                )
            ).all()
    finally:
        await engine.dispose()

    assert again is None  # the stored delivery skipped, not written twice
    (prepared, prepared_text), (orm, orm_text) = rows
    assert prepared.id == first
    assert prepared_text == orm_text  # stored alike: SQL compares and sorts them as one kind
    assert prepared.created_at == at and prepared.created_at.utcoffset() == dt.timedelta(0)
    assert prepared.payload == orm.payload == payload
    assert (prepared.direction, prepared.kind, prepared.status) == ("in", "text", "received")
