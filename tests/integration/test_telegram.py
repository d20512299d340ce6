"""The Telegram webhook: updates as Telegram sends them, replies recorded at a local Bot API."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from sqlalchemy import select

from bot.http.app import create_app
from storage.models import Case, ChannelIdentity, Conversation
from tests.conftest import client_for
from tests.integration.recorder import RecordingApi
from tests.integration.test_conversations import Citizen

pytestmark = pytest.mark.integration
SECRET = "hook-secret-123"


@pytest.fixture
def telegram():
    with RecordingApi() as api:
        yield api


@pytest.fixture
async def client(settings, telegram):
    app = create_app(
        settings.model_copy(
            update={"telegram_token": "123:TEST", "telegram_api_base": telegram.url, "telegram_secret": SECRET}
        )
    )
    async for c in client_for(app):
        c.app = app
        yield c


def update(chat_id: int, update_id: int, **message) -> dict:
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1763800000,
            "chat": {"id": chat_id, "type": "private"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "市民"},
            **message,
        },
    }


def new_chat() -> int:
    """A Telegram chat id no other test used (they share the databases)."""
    return uuid.uuid4().int % 10**12


class TelegramCitizen(Citizen):
    """A citizen on Telegram: updates through the webhook with its secret token (the API may not speak for a
    Telegram citizen), the replies read where the recorded Bot API got them."""

    def __init__(self, client, telegram, chat_id: int | None = None) -> None:
        chat_id = chat_id or new_chat()
        super().__init__(client, str(chat_id), channel="telegram")
        self.telegram, self.chat_id = telegram, chat_id
        self.next_id = chat_id % 10**6 * 100

    async def say(self, text: str = "", **message) -> str:
        return await self.send(**({"text": text} if text else {}), **message)

    async def send(self, update_id: int | None = None, **message) -> str:
        """Post an update; return the texts the bot sent back to this chat for it."""
        before = len(self.sent())
        self.next_id += 1
        response = await self.client.post(
            "/telegram",
            json=update(self.chat_id, update_id or self.next_id, **message),
            headers={"x-telegram-bot-api-secret-token": SECRET},
        )
        assert response.status_code == 200, response.text
        return "\n".join(self.sent()[before:])

    def sent(self) -> list[str]:
        return [c["text"] for c in self.telegram.calls_to("/sendMessage") if str(c["chat_id"]) == str(self.chat_id)]


async def test_a_report_over_telegram(client, telegram, user_id):
    citizen = TelegramCitizen(client, telegram, abs(hash(user_id)) % 10**9)
    assert "在哪里" in await citizen.send(text="小区后门的路灯坏了一个月了，晚上回家很害怕")
    reply = await citizen.send(location={"latitude": 28.19, "longitude": 112.97})
    assert "已收到位置" in reply and "是否同意" in reply
    summary = await citizen.send(text="2")
    assert "请核对" in summary
    keyboard = json.loads(telegram.calls_to("/sendMessage")[-1]["reply_markup"])["keyboard"]
    assert [b["text"] for b in keyboard[0]] == ["确认", "修改", "取消"]
    done = await citizen.send(text="确认")
    number = done.split("编号 ")[1].split("。")[0]
    async with client.app.state.runtime.sessionmaker() as session:
        case = (await session.execute(select(Case).where(Case.number == number))).scalar_one()
        channel = (
            await session.execute(
                select(ChannelIdentity.channel)
                .join(Conversation, Conversation.identity_id == ChannelIdentity.id)
                .where(Conversation.id == case.conversation_id)
            )
        ).scalar_one()
    assert channel == "telegram"


async def test_start_opens_the_chat_and_a_deputys_link_names_the_deputy(client, telegram):
    """Issue 12, item 3: Telegram sends /start when a chat opens; it was not understood."""
    citizen = TelegramCitizen(client, telegram)
    welcome = await citizen.send(text="/start")
    assert "欢迎来到示范街道人大代表联络站" in welcome and "1. 反映问题" in welcome
    assert "请说说您遇到的问题" in await citizen.send(text="反映问题")
    linked = await TelegramCitizen(client, telegram).send(text="/start deputy-zhang-hua")
    assert "您正在联系 张华 代表" in linked


async def test_a_repeated_update_is_answered_once(client, telegram, user_id):
    citizen = TelegramCitizen(client, telegram, abs(hash(user_id + "r")) % 10**9)
    results = await asyncio.gather(
        *[citizen.send(update_id=990001 + citizen.chat_id % 1000, text="你好") for _ in range(3)]
    )
    assert sum(1 for r in results if r) >= 1
    assert len(citizen.sent()) == 1


async def test_forged_and_malformed_updates_are_refused(client, telegram):
    body = update(42, 1, text="你好")
    assert (await client.post("/telegram", json=body)).status_code == 403
    assert (
        await client.post("/telegram", json=body, headers={"x-telegram-bot-api-secret-token": "guess"})
    ).status_code == 403
    bad = await client.post(
        "/telegram",
        content=b"[1,2",
        headers={"x-telegram-bot-api-secret-token": SECRET, "content-type": "application/json"},
    )
    assert bad.status_code == 400
    assert telegram.calls_to("/sendMessage") == []


async def test_a_sticker_gets_a_polite_answer(client, telegram, user_id):
    citizen = TelegramCitizen(client, telegram, abs(hash(user_id + "s")) % 10**9)
    reply = await citizen.send(
        sticker={
            "file_id": "s1",
            "file_unique_id": "u1",
            "width": 1,
            "height": 1,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
        }
    )
    assert "文字、照片或位置" in reply


async def test_a_photo_with_a_caption_starts_the_report_with_its_text(client, telegram, user_id):
    citizen = TelegramCitizen(client, telegram, abs(hash(user_id + "p")) % 10**9)
    reply = await citizen.send(
        photo=[{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}],
        caption="幸福路18号门口的垃圾桶满了好几天没人清理",
    )
    assert "已收到照片" in reply and "请再用文字" not in reply
    summary = await citizen.send(text="2")
    assert "垃圾桶满了" in summary and "1张照片" in summary
