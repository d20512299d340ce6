"""The real parts: the Rasa server with the trained model (once per session), Redis, PostgreSQL."""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from nlu import project
from nlu.server import RasaProcess
from storage.db import upgrade
from tests.conftest import DATABASES, POSTGRES_DB, RASA_TOKEN, drop_postgres, fresh_postgres, make_settings


def _at_real_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep libfaketime (scripts/test-clocks.sh) out of the Rasa processes started next.

    TensorFlow in the Rasa server waits on raw futexes with deadlines taken from the wall clock: under a
    faked clock they lie weeks away (or in the past), and the server hangs while loading its model. The NLU
    does not read the date (dates in messages are read by casework.dates against the bot's clock), so the
    server runs at the real time; the bot and everything else stay under the faked clock.
    """
    preload = [lib for lib in re.split(r"[:\s]+", os.environ.get("LD_PRELOAD", "")) if lib and "faketime" not in lib]
    if preload:
        monkeypatch.setenv("LD_PRELOAD", " ".join(preload))
    else:
        monkeypatch.delenv("LD_PRELOAD", raising=False)
    for name in [name for name in os.environ if name.startswith("FAKETIME")]:
        monkeypatch.delenv(name)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test here talks to the real parts: marked `integration`, so that `-m` can pick them out."""
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.integration)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def rasa_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("rasa") / "rasa.log"
    with pytest.MonkeyPatch.context() as monkeypatch:
        _at_real_time(monkeypatch)  # `rasa train` too, when the model is out of date
        model, _ = project.train()
        rasa = RasaProcess(_free_port(), model=model, log_path=log, token=RASA_TOKEN)
        rasa.start()
    try:
        rasa.wait_ready(timeout=300)
        yield rasa.url
    finally:
        rasa.stop()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The run's database of that kind, shared by its tests; a new one for a test marked `own_database`.

    A test that runs the worker at moments days ahead needs its own: in the shared one the worker would also
    work every earlier test's cases and send their pushes, at the channels' pace (minutes a test)."""
    if request.node.get_closest_marker("own_database") is None:
        yield request.getfixturevalue(f"{request.param}_url")
    elif request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'own.db'}"
        upgrade(url)
        yield url
    else:
        name = f"{POSTGRES_DB}_{uuid.uuid4().hex[:8]}"
        yield fresh_postgres(name)
        drop_postgres(name)


@pytest.fixture
def settings(database_url, real_redis_url, var_dir, rasa_url):
    return make_settings(database_url, real_redis_url, var_dir, rasa_url=rasa_url)
