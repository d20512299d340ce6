"""Fixtures shared by all tests: settings per database, Redis, services, the app."""

from __future__ import annotations

import datetime as dt
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import hypothesis
import pytest
from sqlalchemy import create_engine, text

from casework.deadlines import LOCAL
from settings import Settings
from storage.db import upgrade

ROOT = Path(__file__).resolve().parent.parent
# Hypothesis fails an example that runs longer than its deadline (200 ms): a timing assertion, which a busy
# machine breaks. The rules are checked, not their speed.
hypothesis.settings.register_profile("liaison", deadline=None)
hypothesis.settings.load_profile("liaison")

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# One database per test run, so that runs side by side (two checkouts, two CI jobs) never drop each other's.
POSTGRES_DB = f"liaison_test_{os.getpid()}"
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
# The case stores the integration tests run on, each test once per store. scripts/test-clocks.sh narrows it to
# SQLite for the moments where the store's kind plays no part (the dates are the app's, not the database's).
DATABASES = tuple(os.environ.get("LIAISON_TEST_DATABASES", "sqlite,postgres").split(","))
if not DATABASES or not set(DATABASES) <= {"sqlite", "postgres"}:
    raise ValueError(f"LIAISON_TEST_DATABASES lists sqlite and/or postgres, not {DATABASES!r}")
# The auth token of the tests' Rasa server (tests/integration/conftest.py), which every test's settings carry.
RASA_TOKEN = f"test-rasa-{uuid.uuid4().hex}"


class Clock:
    """The one clock of the tests: the real time (under scripts/test-clocks.sh, libfaketime's moment) until a
    test freezes it, then only what the test sets. Aware, in UTC. Pass it (it is callable) wherever the
    product takes a clock, e.g. the dispatcher's `clock`, and compute expectations from the same clock."""

    def __init__(self) -> None:
        self._frozen: dt.datetime | None = None

    def now(self) -> dt.datetime:
        return self._frozen if self._frozen is not None else dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now()

    def today(self) -> dt.date:
        """The stations' date (Beijing time), whatever the machine's zone."""
        return self.now().astimezone(LOCAL).date()

    def timestamp(self) -> int:
        return int(self.now().timestamp())

    def freeze(self, at: dt.datetime) -> dt.datetime:
        """Stop the clock at `at` (aware: a naive time would mean the machine's zone)."""
        if at.tzinfo is None:
            raise ValueError(f"freeze the clock at an aware time, not {at!r}")
        self._frozen = at.astimezone(dt.UTC)
        return self._frozen

    def advance(self, delta: dt.timedelta | None = None, **parts: float) -> dt.datetime:
        """Move a frozen clock on by `delta` (or timedelta(**parts))."""
        if self._frozen is None:
            raise RuntimeError("freeze the clock before moving it")
        self._frozen += delta if delta is not None else dt.timedelta(**parts)
        return self._frozen


@pytest.fixture
def clock() -> Clock:
    return Clock()


def pytest_report_header(config: pytest.Config) -> str:
    now = dt.datetime.now(dt.UTC)
    faked = " (faked by libfaketime)" if "faketime" in os.environ.get("LD_PRELOAD", "") else ""
    return f"clock: {now.astimezone(LOCAL):%Y-%m-%d %H:%M:%S} Beijing time, {now:%Y-%m-%d %H:%M:%S} UTC{faked}"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Real services are required in CI; on a laptop without them the test is skipped, loudly."""
    if _reachable(host, port):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{name} is not reachable on {host}:{port}; CI must provide it")
    pytest.skip(f"{name} is not running on {host}:{port}")


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'liaison.db'}"
    upgrade(url)
    return url


def fresh_postgres(name: str) -> str:
    """A new empty PostgreSQL database `name`, migrated; its URL."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    return url


def drop_postgres(name: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    yield fresh_postgres(POSTGRES_DB)
    drop_postgres(POSTGRES_DB)


@pytest.fixture(scope="session")
def real_redis_url() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return REDIS_URL


@pytest.fixture(scope="session")
def var_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("var")


def make_settings(
    database_url: str, redis_url: str, var_dir: Path, rasa_url: str = "http://127.0.0.1:9", **extra: object
) -> Settings:
    """Settings for one test: its own Redis key prefix, so tests never see each other's state."""
    return Settings(
        database_url=database_url,
        redis_url=redis_url,
        rasa_url=rasa_url,
        rasa_token=RASA_TOKEN,
        rasa_timeout=2.0,
        LIAISON_CONFIG=ROOT / "config.yml",
        LIAISON_VAR=var_dir,
        LIAISON_REDIS_PREFIX=f"test:{uuid.uuid4().hex[:8]}:",
        **extra,
    )


@pytest.fixture
def user_id() -> str:
    return f"u-{uuid.uuid4().hex[:10]}"


async def client_for(app) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """An HTTP client speaking to the ASGI app in-process, from 127.0.0.1, with its lifespan run."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=30) as client:
            yield client


@pytest.fixture
def free_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    yield port
