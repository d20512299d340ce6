"""Each flow end to end through POST /api/messages, on the real Rasa model, Redis and both databases."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.http.app import create_app
from casework.deadlines import LOCAL
from nlu.client import RasaParser
from storage.models import Case, Message
from tests.conftest import client_for

pytestmark = pytest.mark.integration


class Citizen:
    def __init__(self, client, user_id: str, channel: str = "web") -> None:
        self.client = client
        self.user_id = user_id
        self.channel = channel

    async def say(self, text: str = "", **fields) -> str:
        body = {"channel": self.channel, "user_id": self.user_id, "text": text, **fields}
        response = await self.client.post("/api/messages", json=body)
        assert response.status_code == 200, response.text
        return "\n".join(r["text"] for r in response.json()["replies"])

    async def until_summary(self, text: str, place: str = "幸福路18号阳光小区东门") -> str:
        """Answer what the bot asks until it shows the summary; return the summary."""
        reply = await self.say(text)
        for _ in range(4):
            if "请核对" in reply:
                return reply
            if "在哪里" in reply:
                reply = await self.say(place)
            elif "是否同意" in reply:
                reply = await self.say("2")
            else:
                pytest.fail(f"unexpected reply in a report: {reply}")
        pytest.fail("the report did not reach its summary")

    async def report(self, text: str, place: str = "幸福路18号阳光小区东门") -> str:
        """Answer whatever the bot asks until the case is registered; return the case number."""
        reply = await self.say(text)
        for _ in range(6):
            if "已受理，编号" in reply:
                return reply.split("编号 ")[1].split("。")[0]
            if "在哪里" in reply:
                reply = await self.say(place)
            elif "是否同意" in reply:
                reply = await self.say("2")
            elif "请核对" in reply:
                reply = await self.say("确认")
            else:
                pytest.fail(f"unexpected reply in a report: {reply}")
        pytest.fail("the report did not finish")


@pytest.fixture
async def app(settings):
    return create_app(settings)


@pytest.fixture
async def client(app):
    async for c in client_for(app):
        yield c


async def _case(app, number: str) -> Case:
    async with app.state.runtime.sessionmaker() as session:
        return (await session.execute(select(Case).where(Case.number == number))).scalar_one()


async def test_a_broken_street_light_becomes_a_case_and_its_progress_is_shown(app, client, user_id):
    citizen = Citizen(client, user_id)
    assert "联络站" in await citizen.say("你好")
    number = await citizen.report(
        "你好，我们小区门口那盏路灯坏了快一个礼拜了，晚上出门黑乎乎的，老人摔过一跤，麻烦尽快修一下"
    )
    case = await _case(app, number)
    assert case.state == "received" and case.topic == "城乡建设" and "路灯" in case.description
    assert number in await citizen.say("我反映的问题现在处理到哪一步了")
    status = await citizen.say(f"帮我查一下{number}的进度")
    assert "状态：已受理" in status and "区住房和城乡建设局" in status


async def test_a_wage_complaint_is_routed_to_human_resources(app, client, user_id):
    number = await Citizen(client, user_id).report(
        "老板拖欠我们工地十几个工人三个月的工资，一直说下个月发，到现在一分钱没拿到，过年回家都成问题"
    )
    case = await _case(app, number)
    assert case.topic == "劳动和社会保障"


async def test_a_bot_restart_in_the_middle_of_a_report_loses_nothing(settings, user_id):
    first = create_app(settings)
    async for client in client_for(first):
        citizen = Citizen(client, user_id)
        assert "在哪里" in await citizen.say("我家楼下的下水道堵了，污水漫到路面上，臭得不行")
    second = create_app(settings)
    async for client in client_for(second):
        citizen = Citizen(client, user_id)
        assert "是否同意" in await citizen.say("幸福路22号")
        assert "请核对" in await citizen.say("2")
        assert "已受理" in await citizen.say("确认")


async def test_a_rasa_outage_in_the_middle_of_a_report(app, client, user_id, free_port):
    citizen = Citizen(client, user_id)
    assert "在哪里" in await citizen.say("我们楼下的垃圾桶好几天没人清运了，苍蝇到处飞，味道很大")
    services = app.state.runtime
    real = services.dispatcher.understanding.parser
    services.dispatcher.understanding.parser = RasaParser(f"http://127.0.0.1:{free_port}", 1.0)  # nothing listens
    try:
        assert "是否同意" in await citizen.say("阳光小区3栋")
        assert "请核对" in await citizen.say("2")
        assert "已受理" in await citizen.say("确认")
        kept = await citizen.say("这个怎么弄")
        assert "已保存" in kept
    finally:
        services.dispatcher.understanding.parser = real
    assert "在哪里" not in await citizen.say("谢谢")


async def test_a_slow_nlu_is_not_waited_on(app, client, user_id, free_port):
    async def never_answer(reader, writer):
        await asyncio.sleep(30)

    server = await asyncio.start_server(never_answer, "127.0.0.1", free_port)
    services = app.state.runtime
    real = services.dispatcher.understanding.parser
    services.dispatcher.understanding.parser = RasaParser(f"http://127.0.0.1:{free_port}", 1.0)
    try:
        reply = await Citizen(client, user_id).say("请问我要反映一个问题")
        assert reply
    finally:
        services.dispatcher.understanding.parser = real
        server.close()


async def test_hostile_and_unusual_messages(app, client, user_id):
    citizen = Citizen(client, user_id)
    long_text = "我要反映：" + "小区电梯三天两头坏，" * 1000
    assert len(long_text) > 10000
    assert await citizen.say(long_text)
    async with app.state.runtime.sessionmaker() as session:
        stored = (await session.execute(select(Message.text).where(Message.text == long_text))).scalar_one()
    assert stored == long_text
    assert await citizen.say("取消")
    assert await citizen.say("😀😀👍🏻 你好呀🌹")
    for bad in (
        {"channel": "web", "user_id": user_id, "text": "   "},
        {"channel": "WEB!", "user_id": user_id, "text": "hi"},
        {"channel": "web", "user_id": user_id, "type": "sticker", "text": "hi"},
        {"channel": "web", "user_id": user_id, "type": "location", "latitude": 999, "longitude": 1},
    ):
        response = await client.post("/api/messages", json=bad)
        assert response.status_code == 422, bad
    response = await client.post("/api/messages", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 422
    response = await client.post("/api/messages", content=b"x" * 70_000, headers={"content-type": "application/json"})
    assert response.status_code == 413 and "上限" in response.json()["detail"]


async def test_three_copies_of_one_delivery_are_processed_once(app, client, user_id):
    body = {"channel": "web", "user_id": user_id, "text": "小区里的路灯坏了", "message_id": f"d-{user_id}"}
    responses = await asyncio.gather(*[client.post("/api/messages", json=body) for _ in range(3)])
    replies = [r.json()["replies"] for r in responses]
    assert replies[0] == replies[1] == replies[2] and replies[0]
    async with app.state.runtime.sessionmaker() as session:
        count = (
            await session.execute(
                select(func.count()).select_from(Message).where(Message.external_id == f"d-{user_id}")
            )
        ).scalar_one()
    assert count == 1


async def test_the_api_needs_a_channel_key_unless_it_is_the_local_trial(settings, user_id):
    body = {"channel": "web", "user_id": user_id, "text": "你好"}
    keyed = create_app(settings.model_copy(update={"api_key": "s3cret"}))
    async for client in client_for(keyed):
        assert (await client.post("/api/messages", json=body)).status_code == 401
        assert (await client.post("/api/messages", json=body, headers={"x-channel-key": "wrong"})).status_code == 401
        ok = await client.post("/api/messages", json=body, headers={"x-channel-key": "s3cret"})
        assert ok.status_code == 200
    public = create_app(settings, local_trial=False)
    async for client in client_for(public):
        refused = await client.post("/api/messages", json=body)
        assert refused.status_code == 401 and "LIAISON_API_KEY" in refused.json()["detail"]


async def test_health_and_metrics(app, client, clock):
    app.state.runtime.clock = clock
    clock.freeze(dt.datetime(2026, 6, 1, 10, 0, tzinfo=LOCAL))  # no year in reach lacks its holiday arrangement
    health = (await client.get("/healthz")).json()
    assert health == {"ok": True, "database": True, "redis": True, "nlu": True, "warnings": []}
    assert "liaison_messages_total" in (await client.get("/metrics")).text
