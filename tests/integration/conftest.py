"""The real parts: the Rasa server with the trained model (once per session), Redis, PostgreSQL."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from nlu import project
from nlu.server import RasaProcess
from tests.conftest import make_settings


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def rasa_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    model, _ = project.train()
    log = tmp_path_factory.mktemp("rasa") / "rasa.log"
    rasa = RasaProcess(_free_port(), model=model, log_path=log)
    rasa.start()
    try:
        rasa.wait_ready(timeout=300)
        yield rasa.url
    finally:
        rasa.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture
def settings(database_url, real_redis_url, var_dir, rasa_url):
    return make_settings(database_url, real_redis_url, var_dir, rasa_url=rasa_url)
