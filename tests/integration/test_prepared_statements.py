"""On PostgreSQL a transaction that only read ends with COMMIT, so that psycopg keeps the statements it prepared
(storage.db._keep_prepared_statements); one that wrote anything, or failed, is rolled back as before."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from storage.db import make_engine, make_sessionmaker
from storage.models import Station

pytestmark = pytest.mark.integration


@pytest.fixture
async def sessions(postgres_url):
    engine = make_engine(postgres_url)
    yield make_sessionmaker(engine)
    await engine.dispose()


async def prepared(session) -> list[str]:
    rows = await session.execute(text("SELECT statement FROM pg_prepared_statements"))
    return list(rows.scalars())


async def test_a_statement_prepared_in_sessions_that_only_read_stays_prepared(sessions):
    for _ in range(7):  # psycopg prepares a statement the fifth time a connection runs it
        async with sessions() as session:
            await session.execute(select(Station.code).where(Station.code == "none"))
    async with sessions() as session:
        assert any("FROM stations" in statement for statement in await prepared(session))


async def test_a_session_that_wrote_and_did_not_commit_is_rolled_back(sessions):
    code = f"t-{uuid.uuid4().hex[:8]}"
    async with sessions() as session:
        await session.execute(select(Station.id).limit(1))
        await session.execute(
            text("INSERT INTO stations (code, name, address, hours, phone) VALUES (:code, '测试站', '', '', '')"),
            {"code": code},
        )
    async with sessions() as session:
        session.add(Station(code=f"{code}-orm", name="测试站", address="", hours="", phone=""))
        await session.flush()
    async with sessions() as session:
        found = await session.execute(select(Station.code).where(Station.code.in_([code, f"{code}-orm"])))
        assert list(found.scalars()) == []


async def test_a_read_that_failed_is_rolled_back_and_the_next_session_reads(sessions):
    async with sessions() as session:
        with pytest.raises(DBAPIError):
            await session.execute(text("SELECT 1 / 0"))
    async with sessions() as session:
        assert (await session.execute(text("SELECT 2"))).scalar() == 2


async def test_a_select_that_sets_a_setting_is_rolled_back(sessions):
    async with sessions() as session:
        await session.execute(text("SELECT set_config('statement_timeout', '1234', false)"))
    async with sessions() as session:
        assert (await session.execute(text("SHOW statement_timeout"))).scalar() != "1234ms"


async def test_a_connection_lost_in_a_session_that_only_read_is_given_up_as_before(sessions):
    async with sessions() as session:
        pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar()
        async with sessions() as other:
            await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(DBAPIError):
            await session.execute(text("SELECT 1"))
    async with sessions() as session:
        assert (await session.execute(text("SELECT 2"))).scalar() == 2
