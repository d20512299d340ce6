"""Pushes at the channels' pace, on real Redis: the pace shared by two pacers and by two senders at once, and
Telegram's "too many requests" waited out without counting an attempt. Assertions count sends per window (what
the pace guarantees), never elapsed time; loops have generous guards against a hang."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from sqlalchemy import select

from bot.runtime import Runtime
from services import pushes
from services.pacing import PushPacer
from settings.deployment import PushPacing
from storage.models import Push, utcnow
from storage.repositories import PushStore
from tests.conftest import make_settings
from tests.integration.recorder import RecordingApi

pytestmark = pytest.mark.integration
T0 = 1_900_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def telegram():
    with RecordingApi() as api:
        yield api


@pytest.fixture
def push_settings(sqlite_url, real_redis_url, var_dir, telegram):
    return make_settings(sqlite_url, real_redis_url, var_dir, telegram_token="123:TEST", telegram_api_base=telegram.url)


@pytest.fixture
async def two_runtimes(push_settings):
    """Two runtimes on the same database and Redis keys: two processes' worth of connections."""
    first, second = await Runtime.start(push_settings), await Runtime.start(push_settings)
    yield first, second
    await first.close()
    await second.close()


async def test_two_pacers_share_a_recipients_pace_and_a_pause(push_settings, two_runtimes):
    services, _ = two_runtimes
    clock = Clock()
    one, other = (PushPacer(services.redis, services.keys, PushPacing(), clock) for _ in range(2))
    chat = f"p{uuid.uuid4().hex[:10]}"
    assert (await one.take("telegram", chat)).taken
    held = await other.take("telegram", chat)
    assert not held.taken and held.wait == pytest.approx(1.1, abs=1e-6) and held.whole_channel is False
    # Another chat waits for the channel's spacing only, and may reserve that place.
    spaced = await other.take("telegram", f"{chat}-b", within=0.25)
    assert spaced.taken and spaced.wait == pytest.approx(1.08 / 30, abs=1e-6)
    clock.now += 1.1
    assert (await other.take("telegram", chat)).taken
    await one.pause("telegram", f"{chat}-c", 7, whole_channel=True)
    paused = await other.take("telegram", f"{chat}-d")
    assert not paused.taken and paused.wait == pytest.approx(7, abs=1e-6) and paused.whole_channel is True
    assert (await one.take("wechat", chat)).taken  # no pace configured on WeChat
    assert (await one.take("wechat", chat)).taken


async def _queue(services: Runtime, texts_by_chat: dict[str, list[str]]) -> None:
    now = utcnow()
    async with services.sessionmaker() as session:
        store = PushStore(session)
        for chat, texts in texts_by_chat.items():
            for text in texts:
                await store.enqueue(
                    dedupe_key=f"pace:{uuid.uuid4().hex}",
                    kind="case_status",
                    recipient_type="citizen",
                    recipient=f"telegram:{chat}",
                    channel="telegram",
                    address=chat,
                    text=text,
                    buttons=[],
                    status="queued",
                    next_attempt_at=now,
                    created_at=now,
                )
        await session.commit()


async def _pushes_to(services: Runtime, chats: list[str]) -> list[Push]:
    async with services.sessionmaker() as session:
        query = select(Push).where(Push.channel == "telegram", Push.address.in_(chats))
        return list((await session.execute(query.execution_options(populate_existing=True))).scalars())


async def _send_until_sent(services: tuple[Runtime, ...], chats: list[str], count: int) -> list[Push]:
    """Both senders run send_due at once, again and again, until the pushes to `chats` are sent (a guard of
    two minutes against a hang)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        await asyncio.gather(*(pushes.send_due(s, utcnow()) for s in services))
        found = await _pushes_to(services[0], chats)
        if sum(p.status == "sent" for p in found) == count:
            return found
    pytest.fail("the pushes were not all sent within two minutes")


def _most_in_any_window(times: list[float], window: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times)), default=0)


async def test_two_senders_at_once_keep_one_chat_within_its_pace_and_send_each_push_once(two_runtimes, telegram):
    hot, others = f"{uuid.uuid4().int % 10**11}", [f"{uuid.uuid4().int % 10**11}" for _ in range(6)]
    texts = {hot: [f"热点消息{i}" for i in range(6)], **{chat: [f"普通消息{chat}"] for chat in others}}
    await _queue(two_runtimes[0], texts)
    found = await _send_until_sent(two_runtimes, [hot, *others], 12)

    sends = telegram.times_to("/sendMessage")
    to_hot = [at for at, body in sends if str(body["chat_id"]) == hot]
    assert sorted(body["text"] for _, body in sends if str(body["chat_id"]) in texts) == sorted(
        t for chat_texts in texts.values() for t in chat_texts
    )  # each push once
    assert len(to_hot) == 6
    # 1 a second in one chat: unpaced, the six would arrive together. Half a second's window holds one send, a
    # second's at most two, whatever the machine's load between the decision and the arrival (up to 0.5 s).
    assert _most_in_any_window(to_hot, 0.5) == 1
    assert _most_in_any_window(to_hot, 1.0) <= 2
    # Waiting for the pace is not an attempt.
    assert all(p.status == "sent" and p.attempts == 1 for p in found)


async def test_telegrams_too_many_requests_is_waited_out_without_counting_an_attempt(two_runtimes, telegram):
    services = two_runtimes[0]
    chat = f"{uuid.uuid4().int % 10**11}"
    refused: list[str] = []

    def flood_once(path: str, body: dict) -> tuple[int, dict] | None:
        if path.endswith("/sendMessage") and str(body.get("chat_id")) == chat and not refused:
            refused.append(body["text"])
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
        return None

    telegram.answers.append(flood_once)
    await _queue(services, {chat: ["限流后再发"]})
    [push] = await _send_until_sent((services,), [chat], 1)
    assert refused == ["限流后再发"]
    assert [body["text"] for _, body in telegram.times_to("/sendMessage") if str(body["chat_id"]) == chat] == [
        "限流后再发",
        "限流后再发",
    ]
    assert push.attempts == 1 and push.status == "sent"


async def test_a_reply_waits_for_its_chats_turn_in_place(two_runtimes, telegram):
    services = two_runtimes[0]
    chat = f"{uuid.uuid4().int % 10**11}"
    for n in range(3):
        await pushes.send_reply(
            services, dedupe_key=f"reply:{uuid.uuid4().hex}", channel="telegram", address=chat, text=f"答复{n}"
        )
    sends = [(at, body["text"]) for at, body in telegram.times_to("/sendMessage") if str(body["chat_id"]) == chat]
    assert [text for _, text in sends] == ["答复0", "答复1", "答复2"]
    assert _most_in_any_window([at for at, _ in sends], 0.5) == 1
    found = await _pushes_to(services, [chat])
    assert all(p.status == "sent" and p.attempts == 1 for p in found)
