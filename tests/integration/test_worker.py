"""The worker as a process: killed in the middle of sending, restarted; two workers at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.worker.runner import Worker
from storage.models import Case, Push
from tests.conftest import ROOT
from tests.integration.test_loop import do, station, telegram  # noqa: F401 - fixtures
from tests.integration.test_telegram import TelegramCitizen

pytestmark = pytest.mark.integration


async def _pushes(app, number):
    async with app.state.runtime.sessionmaker() as session:
        return (
            (
                await session.execute(
                    select(Push)
                    .join(Case)
                    .where(Case.number == number)
                    .order_by(Push.id)
                    .execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )


async def test_a_worker_killed_while_sending_never_sends_twice(
    station,  # noqa: F811
    telegram,  # noqa: F811
    settings,
    clock,
):
    app, client, tokens = station
    number = await TelegramCitizen(client, telegram).report("公园里的健身器材坏了，扶手都松了")
    await do(client, tokens["staff1"], number, "transfer")
    answered = len(telegram.calls_to("/sendMessage"))  # the bot's answers in the chat, before any push
    telegram.delay = 30
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "LIAISON_REDIS_PREFIX": settings.redis_prefix,
        "TELEGRAM_TOKEN": "123:TEST",
        "TELEGRAM_API_BASE": telegram.url,
        "RASA_URL": settings.rasa_url,
        "RASA_TOKEN": settings.rasa_token,
    }
    worker = subprocess.Popen(
        [str(Path(sys.executable).parent / "liaison"), "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while len(telegram.calls_to("/sendMessage")) == answered and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert len(telegram.calls_to("/sendMessage")) > answered, "the worker sent nothing"
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
    in_flight = telegram.calls_to("/sendMessage")[answered]
    async with app.state.runtime.sessionmaker() as session:
        sending = (await session.execute(select(Push).where(Push.status == "sending"))).scalars().all()
    # Pushes are claimed one at a time: only the one on the wire is left half-done.
    assert [(p.address, p.text) for p in sending] == [(str(in_flight["chat_id"]), in_flight["text"])]

    telegram.delay = 0
    services = app.state.runtime
    # The dead worker's lock would expire with the job's timeout; expire it now instead of waiting.
    await services.redis.delete(services.keys.job_lock("send_pushes"))
    await Worker(services).run_due(clock.now() + dt.timedelta(minutes=6), burst=True)
    pushes = await _pushes(app, number)
    assert all(p.status in ("sent", "failed") for p in pushes if p.channel == "telegram")
    async with app.state.runtime.sessionmaker() as session:
        doubtful = await session.get(Push, sending[0].id, populate_existing=True)
    assert doubtful.status == "failed" and "无法确认是否送达" in doubtful.last_error
    sends = [(str(c["chat_id"]), c["text"]) for c in telegram.calls_to("/sendMessage")]
    assert sends.count((str(in_flight["chat_id"]), in_flight["text"])) == 1
    sent = [(p.address, p.text) for p in pushes if p.status == "sent"]
    assert all(sends.count(pair) == sent.count(pair) for pair in sent)


async def test_two_workers_at_once_do_each_job_once(station, telegram):  # noqa: F811
    app, client, tokens = station
    number = await TelegramCitizen(client, telegram).report("菜市场门口的垃圾堆了好几天，臭气熏天")
    await do(client, tokens["staff1"], number, "transfer")
    async with app.state.runtime.sessionmaker() as session:
        reply_due = (await session.execute(select(Case.reply_due_at).where(Case.number == number))).scalar_one()
    # Past the reply deadline (3 working days: a week or more around the holidays), when alerts are due.
    later = reply_due + dt.timedelta(minutes=1)
    first, second = Worker(app.state.runtime), Worker(app.state.runtime)
    for _ in range(3):
        await asyncio.gather(first.run_due(later, burst=True), second.run_due(later, burst=True))
    pushes = await _pushes(app, number)
    assert any(p.kind == "deadline_alert" for p in pushes)
    sends = [(str(c["chat_id"]), c["text"]) for c in telegram.calls_to("/sendMessage")]
    sent = [(p.address, p.text) for p in pushes if p.channel == "telegram" and p.status == "sent"]
    assert sent and all(sends.count(pair) == sent.count(pair) for pair in sent)
