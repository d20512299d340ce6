"""SQLite's writers in one process take turns in storage.db.WriterQueue: a second writer waits for the first's
commit (not in SQLite's busy handler), goes on at once after it, and never waits on itself for ever. A statement
that meets another process's lock waits for it in pauses on the loop (storage.db.ThreadedSqlite, InlineSqlite),
the loop serving others, and a task cancelled meanwhile leaves nothing behind. Each on both engines: statements in
aiosqlite's threads, and on the loop's thread (the message path's)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sqlite3
import warnings

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage import db
from storage.db import make_engine, make_sessionmaker

pytestmark = pytest.mark.integration


# SQLite's own busy timeout, short: a writer left to it fails at once where the queue would have let it wait.
SQLITE_WAIT = 0.05
# What the first writer holds the lock for, well past SQLITE_WAIT and well within the queue's wait.
HOLD = 0.3
# The queue's wait in these tests, and far below it the time a write may take when nobody holds the queue: a
# queue left held shows as a write that does not end in time.
QUEUE_WAIT = 600
QUEUE_LEFT = 60


@pytest.fixture
def database(tmp_path):
    return tmp_path / "queue.db"


@pytest.fixture(params=[False, True], ids=["threaded", "inline"])
def inline(request) -> bool:
    """The engine's statements in aiosqlite's threads, or on the loop's thread (the message path's)."""
    return request.param


@pytest.fixture
async def sessions(database, inline, monkeypatch):
    monkeypatch.setattr(db, "SQLITE_BUSY_SECONDS", SQLITE_WAIT)
    monkeypatch.setattr(db, "WRITER_QUEUE_SECONDS", QUEUE_WAIT)
    async with _notes(database, inline) as made:
        yield made


@pytest.fixture
async def patient_sessions(database, inline, monkeypatch):
    """Sessions that wait for another process's lock long enough for it to be let go, and not for ever."""
    monkeypatch.setattr(db, "SQLITE_BUSY_SECONDS", 10)
    monkeypatch.setattr(db, "WRITER_QUEUE_SECONDS", QUEUE_WAIT)
    async with _notes(database, inline) as made:
        yield made


@contextlib.asynccontextmanager
async def _notes(database, inline: bool):
    engine = make_engine(f"sqlite+aiosqlite:///{database}", inline=inline)
    async with engine.begin() as conn:
        await conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"))
    yield make_sessionmaker(engine)
    await engine.dispose()


async def _write_alone(sessions, body: str) -> None:
    """Write and commit `body`, failing unless the queue is free. The write goes through another connection
    than the last one used: a connection still marked as holding the queue would write on past it."""

    async def write() -> None:
        async with sessions() as last_used, sessions() as session:
            await last_used.execute(text("SELECT 1"))
            await session.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": body})
            await session.commit()

    await asyncio.wait_for(write(), timeout=QUEUE_LEFT)


async def _write(sessions, body: str) -> None:
    async with sessions() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": body})
        await session.commit()


async def _bodies(sessions) -> list[str]:
    async with sessions() as session:
        return list((await session.execute(text("SELECT body FROM notes ORDER BY id"))).scalars())


async def test_a_second_writer_waits_for_the_first_to_commit(sessions):
    events: list[str] = []
    first_wrote = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> None:
        async with sessions() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('first')"))
            first_wrote.set()
            await release_first.wait()
            await asyncio.sleep(HOLD)
            events.append("first commits")
            await session.commit()

    async def second() -> None:
        await first_wrote.wait()
        async with sessions() as session:
            # Reads do not queue: the first writer holds the queue, and this read goes on.
            assert await _bodies(sessions) == []
            events.append("second reads")
            release_first.set()
            await session.execute(text("INSERT INTO notes (body) VALUES ('second')"))
            events.append("second wrote")
            await session.commit()

    await asyncio.gather(first(), second())
    assert events == ["second reads", "first commits", "second wrote"]
    assert await _bodies(sessions) == ["first", "second"]


async def test_the_queue_is_left_on_rollback_and_on_error(sessions):
    async with sessions() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES ('undone')"))
        await session.rollback()
    with pytest.raises(OperationalError):
        async with sessions() as session:
            await session.execute(text("INSERT INTO no_such_table (body) VALUES ('x')"))
    await _write_alone(sessions, "kept")
    assert await _bodies(sessions) == ["kept"]


async def test_a_coroutine_writing_in_two_sessions_gets_sqlites_answer_not_a_hang(sessions, monkeypatch):
    monkeypatch.setattr(db, "WRITER_QUEUE_SECONDS", HOLD)
    async with sessions() as holding, sessions() as other:
        await holding.execute(text("INSERT INTO notes (body) VALUES ('held')"))
        # Past the queue's wait it meets SQLite's lock, which answers as it always did.
        with pytest.raises(OperationalError, match="locked"):
            await other.execute(text("INSERT INTO notes (body) VALUES ('blocked')"))
        await other.rollback()
        await holding.commit()
    monkeypatch.setattr(db, "WRITER_QUEUE_SECONDS", QUEUE_WAIT)
    await _write_alone(sessions, "after")
    assert await _bodies(sessions) == ["held", "after"]


async def test_a_writer_collected_unclosed_leaves_the_queue(sessions):
    # Collected without being closed, its connection is detached from the pool rather than checked in.
    forgotten = sessions()
    await forgotten.execute(text("INSERT INTO notes (body) VALUES ('forgotten')"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's warning about the connection it had to clean up
        del forgotten
        gc.collect()
    await _write_alone(sessions, "next")
    assert await _bodies(sessions) == ["next"]


async def test_a_writer_waits_for_another_process_lock_while_the_loop_serves_others(patient_sessions, database):
    sessions = patient_sessions
    other_process = _holding_the_lock(database)

    async def let_go() -> None:
        # Runs only while the loop is free: were the writer waiting on the loop's thread, the holder would keep
        # the lock past the writer's wait and the write would fail.
        await asyncio.sleep(HOLD)
        other_process.execute("COMMIT")

    await asyncio.gather(_write(sessions, "ours"), let_go())
    other_process.close()
    assert await _bodies(sessions) == ["other", "ours"]


async def test_a_writer_cancelled_while_it_waits_for_another_process_lock_leaves_nothing(patient_sessions, database):
    # A job's timeout, a request given up, a shutdown: the wait ends, nothing is written, the pool goes on.
    sessions = patient_sessions
    other_process = _holding_the_lock(database)
    waiting = asyncio.create_task(_write(sessions, "cancelled"))
    await asyncio.sleep(HOLD)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    other_process.execute("COMMIT")
    other_process.close()
    await _write_alone(sessions, "after")
    assert await _bodies(sessions) == ["other", "after"]


async def test_no_engine_waits_in_sqlites_busy_handler(database, inline):
    engine = make_engine(f"sqlite+aiosqlite:///{database}", inline=inline)
    async with engine.connect() as conn:
        # SQLite's busy handler would sleep on the loop's thread, or keep a cancelled statement going in
        # aiosqlite's: the pauses are on the loop.
        assert (await conn.execute(text("PRAGMA busy_timeout"))).scalar() == 0
    await engine.dispose()


def _holding_the_lock(database) -> sqlite3.Connection:
    """Another process's connection, in the middle of a write."""
    other_process = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    other_process.execute("BEGIN IMMEDIATE")
    other_process.execute("INSERT INTO notes (body) VALUES ('other')")
    return other_process
