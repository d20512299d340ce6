"""Database engines and sessions, and migrations through Alembic."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import functools
import itertools
import logging
import re
import sqlite3
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import psycopg
from alembic import command
from alembic.config import Config
from psycopg.pq import TransactionStatus
from sqlalchemy import event, make_url
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.util import await_only

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# glibc's malloc.h: mallopt's parameter for the most arenas malloc keeps.
M_ARENA_MAX = -8
# How long a statement waits for SQLite's write lock held by another process (ThreadedSqlite's pauses, on the loop).
SQLITE_BUSY_SECONDS = 30
# How long a writer waits for this process's queue (WriterQueue) before going on to SQLite's lock.
WRITER_QUEUE_SECONDS = 30
# The statements before which SQLite's driver takes the write lock, or that take it themselves.
SQLITE_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|BEGIN\s+IMMEDIATE|CREATE|DROP|ALTER)\b", re.I)
# The statements that change nothing on PostgreSQL (_keep_prepared_statements); anything else counts as a write.
READS_ONLY = re.compile(r"\s*SELECT\b", re.I)
# A SELECT that makes a table, sets a setting or sends a notification: committed, it would keep them.
WRITES_IN_A_SELECT = re.compile(r"\b(INTO|set_config|pg_notify)\b", re.I)
_WROTE = "liaison_wrote"


def make_engine(async_url: str, *, inline: bool = False) -> AsyncEngine:
    """The engine of `async_url`. On SQLite, `inline`: its statements run on the event loop's thread
    (InlineSqlite), for the message path's short ones (`message_path_engine`); otherwise in aiosqlite's threads
    (ThreadedSqlite). The engines of one database file in a process share its WriterQueue."""
    if async_url.startswith("sqlite"):
        _ensure_sqlite_dir(async_url)
        _one_malloc_arena()
        connection = InlineSqlite if inline else ThreadedSqlite
        engine = create_async_engine(async_url, async_creator=connection.connector(async_url))
        _writer_queue(make_url(async_url).database or "").attach(engine)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # WAL lets the web app, the worker and `liaison case` read while one writes.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    # No JIT compilation: PostgreSQL compiles a query it estimates costly (the desk's counts, the figures over a
    # million cases), which costs 0.4-0.5 s a query here and saves less than that; the app's queries are short.
    connect_args = {"options": "-c jit=off"} if async_url.startswith("postgresql") else {}
    engine = create_async_engine(
        async_url, pool_size=10, max_overflow=20, pool_pre_ping=True, connect_args=connect_args
    )
    if engine.dialect.driver == "psycopg":
        _keep_prepared_statements(engine)
    return engine


def _keep_prepared_statements(engine: AsyncEngine) -> None:
    """End a transaction that only read with COMMIT rather than ROLLBACK. psycopg prepares a statement the fifth
    time a connection runs it, and forgets every statement it prepared at each rollback (an object they read may
    have been dropped in the transaction). A session that only reads ends in a rollback when it closes, so a
    request's statements were parsed and planned again each time: 1.1 of a lookup's 3.9 ms (bench/README.md). A
    transaction that sent anything but SELECTs, or failed, is rolled back as before."""

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.info[_WROTE] = False

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _note_writes(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not READS_ONLY.match(statement) or WRITES_IN_A_SELECT.search(statement):
            conn.info[_WROTE] = True

    @event.listens_for(engine.sync_engine, "rollback")
    def _commit_reads(conn: Any) -> None:
        # A connection lost is rolled back as it would have been (its info cannot be read until then).
        if conn.invalidated or conn.info.pop(_WROTE, True):
            return
        driver = conn.connection.driver_connection
        if driver is not None and driver.info.transaction_status == TransactionStatus.INTRANS:
            # The rollback that follows finds no transaction, and keeps them; if the commit fails (the connection
            # lost), it goes on as it would have.
            with contextlib.suppress(psycopg.Error):
                await_only(driver.commit())


class ThreadedSqlite(aiosqlite.Connection):
    """aiosqlite's connection, its calls made in a thread of its own, without SQLite's busy timeout: the console's,
    the reports' and the jobs' statements, which can be long.

    What may wait is SQLite's write lock held by another process (a CLI command, another web process, the
    worker). Such a statement fails at once and is made again after a short pause on the loop, as SQLite's own
    busy handler would, for up to SQLITE_BUSY_SECONDS. A statement or commit that found the lock taken had no
    effect, so making it again is safe. Waiting on the loop rather than in SQLite's busy handler, a task
    cancelled meanwhile leaves nothing behind: in the busy handler its statement went on in the thread, took
    the lock once it was let go and held it until the connection was closed."""

    # SQLite's own busy handler's first pauses, then its longest kept short: the loop serves others meanwhile.
    PAUSES = (0.001, 0.002, 0.005, 0.01, 0.015, 0.02)
    # The calls made again after a pause: one statement (SQLAlchemy gives executemany a list) or a commit.
    RETRIED = frozenset({"execute", "executemany", "commit"})

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)

    @classmethod
    def connector(cls, async_url: str) -> Callable[[], Awaitable[ThreadedSqlite]]:
        """The engine's async_creator: connections made with the arguments SQLAlchemy's dialect gives the URL."""
        args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(make_url(async_url))
        connect = functools.partial(sqlite3.connect, *args, **{**kwargs, "timeout": 0})

        async def connection() -> ThreadedSqlite:
            made = cls(connect)
            if made._thread is not None:
                made._thread.daemon = True  # as SQLAlchemy's own connect sets it: no exit waits for it
            await made  # connects
            return made

        return connection

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        waited = 0.0
        for pause in itertools.chain(self.PAUSES, itertools.repeat(self.PAUSES[-1])):
            try:
                return await self._attempt(fn, *args, **kwargs)
            except sqlite3.OperationalError as exc:
                if not _lock_taken(exc) or getattr(fn, "__name__", "") not in self.RETRIED:
                    raise
                if waited >= SQLITE_BUSY_SECONDS:
                    raise
            await asyncio.sleep(pause)
            waited += pause

    async def _attempt(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]


class InlineSqlite(ThreadedSqlite):
    """ThreadedSqlite with its calls made on the event loop's thread, not handed to a thread of its own: for the
    message path's statements (`make_engine(inline=True)`), a few short ones a message.

    Each hand-off to aiosqlite's thread and back cost more than the statement it carried: with them a message
    cost the web process 10.4-11.7 ms of CPU, without them 6.6-8.4 (bench/README.md, "... the message path's
    SQLite statements on the loop's thread ..."). A long statement (the desk's, a report's) would stop the loop
    for its time, so those stay on the threaded engine. Another process's lock is waited for as ThreadedSqlite
    waits for it, on the loop: nothing runs meanwhile."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector)
        self._tx = _AtOnce()  # type: ignore[assignment]
        self._thread = None  # type: ignore[assignment]  # aiosqlite's, never started here

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._connect().__await__()  # no thread to start

    async def _attempt(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


# sqlite3.h: SQLITE_BUSY | (2 << 8).
SQLITE_BUSY_SNAPSHOT = 517


def _lock_taken(exc: sqlite3.OperationalError) -> bool:
    """SQLite's SQLITE_BUSY: the lock is held and may be let go. Not SQLITE_BUSY_SNAPSHOT, which says this
    transaction read a state another has since changed: waiting cannot help it."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY and code != SQLITE_BUSY_SNAPSHOT


class _AtOnce:
    """InlineSqlite's stand-in for aiosqlite's queue to its thread, which aiosqlite (connecting, stopping) and
    SQLAlchemy's adapter (setting the isolation level) use directly: the call is made at once."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:
            if future is None:
                raise
            future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


def message_path_engine(async_url: str, engine: AsyncEngine) -> AsyncEngine:
    """The engine a conversation's turns use: on SQLite another engine of the same file whose statements run on
    the loop's thread (InlineSqlite); elsewhere `engine` itself."""
    return make_engine(async_url, inline=True) if async_url.startswith("sqlite") else engine


@functools.cache
def _writer_queue(database: str) -> WriterQueue:
    return WriterQueue()


class WriterQueue:
    """One SQLite writer at a time in this process, queued in asyncio rather than in SQLite's busy handler.

    SQLite lets one transaction write at a time. A writer that finds the lock taken sleeps in SQLite's busy
    handler, 1 ms at first and up to 100 ms between tries as the wait goes on: with eight turns at once in
    one web process, the slowest messages waited seconds after the lock was free (bench/README.md, "SQLite's
    writers take turns"). Here a connection takes this process's queue before its first
    write and leaves it when it goes back to the pool, after its commit or rollback; the next writer goes
    on at once. Other processes (the worker, a CLI command) still meet SQLite's own lock (InlineSqlite).
    A writer that waits longer than WRITER_QUEUE_SECONDS goes on without the queue, where SQLite's lock
    decides as before: one coroutine writing in two sessions at once cannot wait on itself for ever."""

    def __init__(self) -> None:
        # An asyncio lock belongs to one event loop; an engine can outlive a loop (tests, the CLI).
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()

    def attach(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._before_execute)
        event.listen(engine.sync_engine, "checkin", self._leave)
        # A connection collected unclosed is detached from the pool, not checked in.
        event.listen(engine.sync_engine, "detach", self._leave)

    def _lock(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Lock]:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return loop, lock

    def _before_execute(self, conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        info = conn.connection.info  # the pooled connection's, which its checkin is given again
        if "writer_queue" in info or not SQLITE_WRITES.match(statement):
            return
        loop, lock = self._lock()
        try:
            await_only(asyncio.wait_for(lock.acquire(), WRITER_QUEUE_SECONDS))
        except TimeoutError:
            log.warning(
                "a SQLite writer waited %s s for this process's queue; it goes on to SQLite's lock",
                WRITER_QUEUE_SECONDS,
            )
            info["writer_queue"] = None  # its next statements do not wait again
            return
        info["writer_queue"] = (loop, lock)

    def _leave(self, _dbapi_connection: Any, record: Any) -> None:
        held = record.info.pop("writer_queue", None)
        if held is None:
            return
        loop, lock = held
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            lock.release()
        elif not loop.is_closed():
            # Garbage collection may run this in another thread: asyncio's lock is released on its own loop.
            loop.call_soon_threadsafe(lock.release)


@functools.cache
def _one_malloc_arena() -> None:
    """Have glibc's malloc keep one arena for the whole process.

    aiosqlite runs each connection of the threaded engine (the console's, the jobs') in a thread of its own, and
    glibc gives threads arenas of their own (up to eight a core) whose fragments it keeps: when every statement
    ran there, the web process on SQLite grew 0.6-1 MB a minute under steady traffic, in no Python object and no
    SQLite cache; with one arena it stayed flat (bench/README.md, "Memory"). The threads hold the GIL for all
    but SQLite's own work; sharing one arena showed no cost in bench.roundtrip.
    Effective for the arenas made after it, so it runs before the first connection; a no-op without glibc."""
    name = ctypes.util.find_library("c")
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None) if name else None
    if mallopt is not None:
        mallopt(M_ARENA_MAX, 1)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(sync_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url.replace("%", "%%"))
    return cfg


def upgrade(sync_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to run on every start."""
    if sync_url.startswith("sqlite"):
        _ensure_sqlite_dir(sync_url)
    command.upgrade(alembic_config(sync_url), revision)


def _ensure_sqlite_dir(url: str) -> None:
    path = url.split(":///", 1)[-1]
    if path and ":memory:" not in path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)


class SchemaNotReady(Exception):
    """The database is missing the tables of this version: the operator must run the migrations."""


async def check_schema(engine: AsyncEngine) -> None:
    """Raise SchemaNotReady, with what to do, unless the database is at the latest migration."""
    from alembic.script import ScriptDirectory
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    try:
        async with engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except DBAPIError:
        current = None
    if current != head:
        raise SchemaNotReady(
            f"the database is not migrated (at {current or 'nothing'}, needs {head}): run `liaison db upgrade`"
        )


@contextlib.asynccontextmanager
async def one_session(async_url: str) -> AsyncIterator[AsyncSession]:
    """A session on its own engine, for a command that reads once and exits."""
    engine = make_engine(async_url)
    try:
        async with make_sessionmaker(engine)() as session:
            yield session
    finally:
        await engine.dispose()


async def begin_for_savepoints(session: AsyncSession) -> None:
    """Make sure the session's transaction has begun in the database before a SAVEPOINT is taken.

    PostgreSQL begins at the first statement. SQLite's Python driver only begins before the first write, so
    a SAVEPOINT taken before it would start the transaction itself and its RELEASE would commit everything:
    there, begin now (IMMEDIATE: the write lock, which the unit of work is about to need anyway, without
    a snapshot that another writer could make stale)."""
    connection = await session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = await connection.get_raw_connection()
    if not raw.driver_connection.in_transaction:  # type: ignore[union-attr]
        await connection.exec_driver_sql("BEGIN IMMEDIATE")
