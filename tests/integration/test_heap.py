"""A web process leaves what start-up loaded out of the collector's full passes (bot.runtime.settle_heap): each
pass over the models and dictionaries stopped every message in flight for 70-160 ms."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.integration

# A web app's start-up and shutdown in a process of its own: freezing the heap of the test process would keep
# every later test's garbage.
STARTED = """
import asyncio, gc
from bot.http.app import app_from_environment, create_app
from settings import get_settings

app = {app}

async def main():
    async with app.router.lifespan_context(app):
        print(gc.get_freeze_count())

asyncio.run(main())
"""


def _frozen_after_start(settings, app: str) -> int:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "LIAISON_VAR": str(settings.var_dir),
        "RASA_URL": settings.rasa_url,
    }
    done = subprocess.run(
        [sys.executable, "-c", STARTED.format(app=app)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


def test_a_serving_app_freezes_what_start_up_loaded_and_a_test_app_does_not(settings):
    assert _frozen_after_start(settings, "create_app(get_settings(), serving=True)") > 100_000
    # Each web process of `liaison serve --workers N` builds its app with this factory.
    assert _frozen_after_start(settings, "app_from_environment()") > 100_000
    assert _frozen_after_start(settings, "create_app(get_settings())") == 0
