"""The worker as a process: killed in the middle of sending, restarted; two workers at once; the job leases of a
dead worker and of a live one."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.runtime import Runtime
from bot.worker.jobs import Job
from bot.worker.runner import LEASE, RENEW_EVERY, Worker
from services.pushes import SEND_LANES
from storage.models import Case, Push
from tests.conftest import ROOT, make_settings
from tests.integration.test_loop import do, station, telegram  # noqa: F401 - fixtures
from tests.integration.test_telegram import TelegramCitizen

pytestmark = [pytest.mark.integration, pytest.mark.own_database]


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
    on_the_wire = [(str(c["chat_id"]), c["text"]) for c in telegram.calls_to("/sendMessage")[answered:]]
    async with app.state.runtime.sessionmaker() as session:
        sending = (await session.execute(select(Push).where(Push.status == "sending"))).scalars().all()
    # Each lane claims one push at a time: only those on the wire (or about to be) are left half-done.
    assert len(sending) <= SEND_LANES
    assert set(on_the_wire) <= {(p.address, p.text) for p in sending}

    telegram.delay = 0
    services = app.state.runtime
    # The dead worker's lease lapses on its own, long before the job's timeout.
    await _lapsed(services, "send_pushes")
    await Worker(services).run_due(clock.now() + dt.timedelta(minutes=6), burst=True)
    pushes = await _pushes(app, number)
    assert all(p.status in ("sent", "failed") for p in pushes if p.channel == "telegram")
    async with app.state.runtime.sessionmaker() as session:
        for half_sent in sending:
            doubtful = await session.get(Push, half_sent.id, populate_existing=True)
            assert doubtful.status == "failed" and "无法确认是否送达" in doubtful.last_error
    sends = [(str(c["chat_id"]), c["text"]) for c in telegram.calls_to("/sendMessage")]
    assert all(sends.count(pair) == 1 for pair in on_the_wire)
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


@pytest.fixture
def worker_settings(sqlite_url, real_redis_url, var_dir):
    return make_settings(sqlite_url, real_redis_url, var_dir)


@pytest.fixture
async def runtime(worker_settings):
    services = await Runtime.start(worker_settings)
    yield services
    await services.close()


async def _lapsed(services: Runtime, job: str) -> None:
    """Wait until nobody holds the job's lease (at most a few leases: a bound for a failure, not a measure)."""
    for _ in range(int(LEASE * 6 / 0.1)):
        if not await services.redis.exists(services.keys.job_lock(job)):
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"the lease of {job} never lapsed")


async def _redis_seconds(services: Runtime) -> float:
    seconds, microseconds = await services.redis.time()
    return seconds + microseconds / 1e6


async def test_a_dead_workers_lease_lapses_and_another_worker_takes_the_job_over(worker_settings, runtime):
    key = runtime.keys.job_lock("probe")
    frozen, thaw = threading.Event(), threading.Event()
    holders: list[str | None] = []
    ran = asyncio.Event()

    async def probe(services: Runtime, now: dt.datetime) -> int:
        if not frozen.is_set():  # the first worker to run it hangs with its whole event loop, as if dead
            frozen.set()
            thaw.wait()
            return 0
        holders.append(await services.redis.get(key))
        ran.set()
        return 1

    job = Job("probe", probe, every=dt.timedelta(hours=1), timeout=dt.timedelta(hours=1))

    async def dying_worker() -> None:
        services = await Runtime.start(worker_settings)
        try:
            await Worker(services, (job,)).run_due(burst=True)
        finally:
            await services.close()

    dying = threading.Thread(target=asyncio.run, args=(dying_worker(),))
    dying.start()
    loop = asyncio.get_running_loop()
    try:
        assert await loop.run_in_executor(None, frozen.wait, 60)
        dead_token = await runtime.redis.get(key)
        assert dead_token is not None  # taken with the worker's lease, and never renewed from now on
        stop = asyncio.Event()
        survivor = asyncio.create_task(Worker(runtime, (job,)).run_forever(stop, tick=0.2))
        try:
            await asyncio.wait_for(ran.wait(), LEASE * 6)  # a bound for a failure, not a measure
        finally:
            stop.set()
            await survivor
    finally:
        thaw.set()
        await loop.run_in_executor(None, dying.join)
    assert len(holders) == 1 and holders[0] not in (None, dead_token)  # the survivor ran it, under its own lease


async def test_a_live_workers_long_job_keeps_its_lease(runtime):
    key = runtime.keys.job_lock("long")
    started, finish = asyncio.Event(), asyncio.Event()
    runs = 0

    async def long(services: Runtime, now: dt.datetime) -> int:
        nonlocal runs
        runs += 1
        started.set()
        await finish.wait()
        return 1

    job = Job("long", long, every=dt.timedelta(hours=1), timeout=dt.timedelta(hours=1))
    first = asyncio.create_task(Worker(runtime, (job,)).run_due(burst=True))
    await started.wait()
    token = await runtime.redis.get(key)
    # On Redis's clock: until the first lease would have lapsed, and two renewals more.
    lapsed = await _redis_seconds(runtime) + LEASE + 2 * RENEW_EVERY
    second = Worker(runtime, (job,))
    while await _redis_seconds(runtime) < lapsed:
        assert await second.run_due(burst=True) == {}
        await asyncio.sleep(0.5)
    assert await runtime.redis.get(key) == token and runs == 1
    finish.set()
    assert await first == {"long": 1}
    assert not await runtime.redis.exists(key)  # released at the end
