"""`liaison serve --workers 2` on PostgreSQL and Redis: citizens keep writing while the web processes are killed
with SIGKILL one after the other. The other keeps answering, uvicorn's supervisor starts a replacement, the
replacement answers in its turn, and every message is stored and answered exactly once.

The citizens behave as a channel does: a message whose connection broke, or that got 503, is sent again with
the same id. The NLU is an address where nothing listens (the keyword fallback answers): this test is about the
processes, not the model."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import aliased

from storage.models import ChannelIdentity, Conversation, Message
from tests.conftest import ROOT
from tests.integration.test_embedded_redis import _servers_on

pytestmark = pytest.mark.integration
LIAISON = str(Path(sys.executable).parent / "liaison")
CITIZENS = 60  # round robin, so that no citizen comes near the rate limit (20 a minute)
SENDERS = 4
TEXTS = ["你好", "谢谢", "请问联络站几点开门", "再见"]
GUARD = 180.0  # seconds: a bound for a hang, not a measure


async def until(condition: Callable[[], bool], what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GUARD
    while not condition():
        assert loop.time() < deadline, f"gave up waiting: {what}"
        await asyncio.sleep(0.2)


def workers_of(parent: subprocess.Popen[bytes]) -> set[int]:
    """The web processes uvicorn's supervisor runs (multiprocessing's spawned children, not its resource
    tracker)."""
    found = set()
    for child in psutil.Process(parent.pid).children():
        try:
            if "spawn_main" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                found.add(child.pid)
        except psutil.NoSuchProcess:
            continue
    return found


class Traffic:
    """Citizens writing through POST /api/messages until stopped; what each message was answered."""

    def __init__(self, client: httpx.AsyncClient, run: str) -> None:
        self.client = client
        self.run = run
        self.answers: dict[tuple[str, str], int] = {}  # (citizen, message id) -> replies in the answer
        self.broken = 0  # connections broken (a killed process's) and 503s, each sent again
        self.stop = asyncio.Event()
        self._next = itertools.count()

    async def send(self, citizen: str, message_id: str, text: str) -> int:
        body = {"channel": "web", "user_id": citizen, "text": text, "message_id": message_id}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GUARD
        while loop.time() < deadline:
            try:
                response = await self.client.post("/api/messages", json=body)
            except httpx.TransportError:
                self.broken += 1
                await asyncio.sleep(0.2)
                continue
            if response.status_code == 503:
                self.broken += 1
                await asyncio.sleep(min(float(response.headers.get("retry-after", 1)), 1.0))
                continue
            assert response.status_code == 200, response.text
            replies = response.json()["replies"]
            assert replies, f"an empty answer to {message_id} of {citizen}"
            return len(replies)
        pytest.fail(f"{message_id} of {citizen} was never answered")

    async def sender(self) -> None:
        while not self.stop.is_set():
            n = next(self._next)
            citizen, message_id = f"wk-{self.run}-{n % CITIZENS}", f"m-{n // CITIZENS}"
            self.answers[citizen, message_id] = await self.send(citizen, message_id, TEXTS[n % len(TEXTS)])
            await asyncio.sleep(0.3)


def started(log: Path) -> int:
    """How many web processes have finished their start-up so far."""
    return len(re.findall("Application startup complete", log.read_text(errors="replace")))


def _serve_two_workers(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`liaison serve --workers 2` as a user starts it, in a session of its own, its output in `log`."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [LIAISON, "serve", "--workers", "2", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


async def test_two_workers_survive_the_death_of_each_and_lose_or_double_nothing(
    postgres_url, real_redis_url, free_port, tmp_path
):
    run = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": real_redis_url,
        "LIAISON_REDIS_PREFIX": f"test:{run}:",
        "LIAISON_CONFIG": str(ROOT / "config.yml"),
        "LIAISON_VAR": str(tmp_path / "var"),
        "RASA_URL": "http://127.0.0.1:9",
    }
    log = tmp_path / "serve.log"
    serve = _serve_two_workers(env, free_port, log)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port}", timeout=60) as client:
            await until(lambda: started(log) == 2 or serve.poll() is not None, "two workers")
            assert serve.poll() is None, log.read_text()
            first, second = sorted(workers_of(serve))
            traffic = Traffic(client, run)
            senders = [asyncio.create_task(traffic.sender()) for _ in range(SENDERS)]

            def answered() -> int:
                return len(traffic.answers)

            async def answers_reach(count: int, what: str) -> None:
                await until(lambda: answered() >= count, what)

            async def startups_reach(count: int, what: str) -> None:
                await until(lambda: started(log) >= count, what)

            await answers_reach(20, "answers before the first kill")
            for victim, startups in ((first, 3), (second, 4)):
                os.kill(victim, signal.SIGKILL)
                # The survivor keeps answering while the replacement starts...
                await answers_reach(answered() + 10, f"answers after the death of {victim}")
                await startups_reach(startups, f"a replacement for {victim}")
            # ...and the replacement answers too: after the second kill, it is the only one started.
            await answers_reach(answered() + 20, "answers from the replacements")
            traffic.stop.set()
            await asyncio.gather(*senders)

            replacements = workers_of(serve)
            assert len(replacements) == 2 and not replacements & {first, second}
            assert f"Child process [{first}] died" in log.read_text()
            health = await client.get("/healthz")
            assert health.status_code == 200 and health.json()["database"] and health.json()["redis"]
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(timeout=GUARD)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
    assert serve.returncode == 0, log.read_text()[-3000:]

    # Every message stored once, processed once (a final status), its replies written once: as many as it was answered.
    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    reply = aliased(Message)
    with engine.connect() as db:
        rows = db.execute(
            select(ChannelIdentity.external_id, Message.external_id, Message.status, func.count(reply.id))
            .join(Conversation, Conversation.identity_id == ChannelIdentity.id)
            .join(Message, Message.conversation_id == Conversation.id)
            .outerjoin(reply, reply.in_reply_to_id == Message.id)
            .where(ChannelIdentity.external_id.like(f"wk-{run}-%"), Message.direction == "in")
            .group_by(ChannelIdentity.external_id, Message.id, Message.external_id, Message.status)
        ).all()
    engine.dispose()
    stored = [(citizen, message_id) for citizen, message_id, *_ in rows]
    assert len(stored) == len(set(stored)) == len(traffic.answers)
    assert set(stored) == set(traffic.answers)
    # Final, as with no NLU: handled, or kept for the NLU (nlu_pending); none left `received`.
    assert {status for _, _, status, _ in rows} <= {"handled", "nlu_pending"}
    assert {(c, m): replies for c, m, _, replies in rows} == traffic.answers


def test_no_redis_server_is_left_behind_by_workers_sharing_the_embedded_one(tmp_path, free_port):
    """With the embedded Redis, the supervising process starts one server for all its workers, a replacement
    joins it, and a clean shutdown stops it (issue 9 once found an orphan)."""
    from storage.db import upgrade

    database_url = f"sqlite:///{tmp_path / 'liaison.db'}"
    upgrade(database_url)
    var = tmp_path / "var"
    env = {
        **os.environ,
        "LIAISON_VAR": str(var),
        "DATABASE_URL": database_url,
        "REDIS_URL": "embedded",
        "RASA_URL": "http://127.0.0.1:9",
    }
    log = tmp_path / "serve.log"
    serve = _serve_two_workers(env, free_port, log)
    socket = ""
    try:
        asyncio.run(until(lambda: started(log) == 2 or serve.poll() is not None, "two workers"))
        assert serve.poll() is None, log.read_text()
        socket = json.loads((var / "redis.rdb.settings").read_text())["unixsocket"]
        [server] = _servers_on(socket)
        victim = min(workers_of(serve))
        os.kill(victim, signal.SIGKILL)
        asyncio.run(until(lambda: started(log) == 3, "a replacement"))
        for n in range(4):  # each answered by one of the two, through the one server
            body = {"channel": "web", "user_id": f"emb-{n}", "text": "你好", "message_id": "m-1"}
            response = httpx.post(f"http://127.0.0.1:{free_port}/api/messages", json=body, timeout=60)
            assert response.status_code == 200 and response.json()["replies"]
        assert _servers_on(socket) == [server]

        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=GUARD)
        asyncio.run(until(lambda: not _servers_on(socket), "the embedded Redis to stop"))
        assert serve.returncode == 0
        assert (var / "redis.rdb").exists() and not (var / "redis.rdb.settings").exists()
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        for left in _servers_on(socket) if socket else []:
            left.kill()
