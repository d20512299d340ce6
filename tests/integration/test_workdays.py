"""A year whose working-day arrangement is missing is warned of at start and in /healthz (the app on real
Redis and SQLite; no NLU needed: /healthz stays 200 without it)."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from bot.http.app import create_app
from bot.runtime import Runtime
from casework.deadlines import LOCAL
from tests.conftest import client_for, make_settings
from tests.factories import config_with_calendar

pytestmark = [pytest.mark.integration, pytest.mark.dated]

WARNING_2027 = "2027 年的调休安排尚未配置，仅按法定节假日计算"


@pytest.fixture
def settings(sqlite_url, real_redis_url, var_dir):
    return make_settings(sqlite_url, real_redis_url, var_dir)


async def test_the_start_warns_of_2027_in_december_2026(settings, clock, caplog):
    clock.freeze(dt.datetime(2026, 12, 31, 23, 50, tzinfo=LOCAL))
    with caplog.at_level(logging.WARNING):
        runtime = await Runtime.start(settings, clock=clock)
    await runtime.close()
    assert [r.getMessage() for r in caplog.records if WARNING_2027 in r.getMessage()] != []


async def test_healthz_warns_of_2027_until_the_config_gives_its_arrangement(settings, clock, tmp_path):
    clock.freeze(dt.datetime(2026, 12, 30, 10, 0, tzinfo=LOCAL))
    app = create_app(settings)
    async for client in client_for(app):
        app.state.runtime.clock = clock
        response = await client.get("/healthz")
        assert response.status_code == 200 and response.json()["ok"]
        assert response.json()["warnings"] == [WARNING_2027]
        clock.freeze(dt.datetime(2026, 9, 1, 10, 0, tzinfo=LOCAL))  # 2027 is not in reach yet
        assert (await client.get("/healthz")).json()["warnings"] == []
    clock.freeze(dt.datetime(2027, 1, 1, 7, 30, tzinfo=LOCAL))
    published = create_app(settings.model_copy(update={"config_path": config_with_calendar(tmp_path)}))
    async for client in client_for(published):
        published.state.runtime.clock = clock
        response = await client.get("/healthz")
        assert response.status_code == 200 and response.json()["warnings"] == []
