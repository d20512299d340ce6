"""Each flow end to end through POST /api/messages, on the real Rasa model, Redis and both databases."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select

from bot.http.app import create_app
from casework.actors import Actor
from casework.cases import Role
from casework.deadlines import LOCAL
from nlu.client import RasaParser
from services import casedesk, cases
from storage.models import Case, ChannelIdentity, Conversation, Message, utcnow
from tests.conftest import RASA_TOKEN, client_for
from tests.factories import build_dispatcher, say

# Each test books, reports and rates at the real time: a database of its own, so that another test's bookings do not
# fill the slots this one is offered (one did, on PostgreSQL, in a full run).
pytestmark = [pytest.mark.integration, pytest.mark.dated, pytest.mark.own_database]


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


async def test_users_who_reuse_a_message_id_each_get_their_own_replies_and_lose_nothing(app, client, user_id):
    """Message ids are the sender's: a client numbering each user's messages 1, 2, 3... sends the same ids for
    everyone. Before, the second user got the first one's replies and their own message was dropped."""
    first, second = f"{user_id}-a", f"{user_id}-b"

    async def send(user: str, text: str, number: int) -> list[str]:
        body = {"channel": "web", "user_id": user, "text": text, "message_id": str(number)}
        response = await client.post("/api/messages", json=body)
        assert response.status_code == 200, response.text
        return [r["text"] for r in response.json()["replies"]]

    greeting = await send(first, "你好", 1)
    report = await send(second, "我家楼下的路灯坏了快一个星期了，晚上黑漆漆的", 1)
    assert any("联络站" in text for text in greeting)
    assert any("在哪里" in text for text in report) and report != greeting
    for number in range(2, 31):
        await asyncio.gather(send(first, f"补充第{number}条", number), send(second, f"第{number}条补充", number))
    async with app.state.runtime.sessionmaker() as session:
        stored = (
            await session.execute(
                select(ChannelIdentity.external_id, Message.external_id, Message.text, Message.status)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(ChannelIdentity.external_id.in_([first, second]), Message.direction == "in")
            )
        ).all()
    assert len(stored) == 60
    for user, own in ((first, "补充第"), (second, "条补充")):
        mine = {number: (text, status) for who, number, text, status in stored if who == user}
        assert sorted(mine, key=int) == [str(n) for n in range(1, 31)]
        assert all(own in text for number, (text, _) in mine.items() if number != "1")
        assert all(status != "received" for _, status in mine.values())


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


# Issue 12: a citizen never gets stuck, and answers are read as people give them (on the real model).


@pytest.fixture
async def chat(settings, rasa_url, clock):
    """The dispatcher on the real model, its clock frozen at a Monday morning of a week no other test books in."""
    bot, close = await build_dispatcher(settings, RasaParser(rasa_url, 30.0, RASA_TOKEN))
    bot.clock = clock

    async def talk(user: str, text: str = "", **fields) -> str:
        return await say(bot, user, text, **fields)

    yield talk, clock
    await close()


async def test_the_summary_no_longer_swallows_other_requests(app, client, user_id):
    """Item 1: "我想预约见代表", "我的案件", "你好", "转人工" and a stale "3" at the summary were all appended to
    the description as "已补充到问题描述中"."""
    citizen = Citizen(client, user_id)
    await citizen.until_summary("我家楼下的路灯坏了快一个星期了，晚上黑漆漆的")
    booking = await citizen.say("我想预约见代表")
    assert "可以预约的接待时段" in booking and "已补充" not in booking
    assert "未提交的反映，回复“继续”" in await citizen.say("算了")
    assert "请核对" in await citizen.say("继续")
    for other in ("我的案件", "转人工"):
        reply = await citizen.say(other)
        assert "已补充" not in reply and "未提交的反映" in reply, other
        assert "请核对" in await citizen.say("继续")
    for stray in ("你好", "3"):
        reply = await citizen.say(stray)
        assert "已补充" not in reply and "还没有提交" in reply, stray
    number = (await citizen.say("确认")).split("编号 ")[1].split("。")[0]
    case = await _case(app, number)
    assert case.description == "我家楼下的路灯坏了快一个星期了，晚上黑漆漆的"


async def test_an_answer_must_answer_the_question(chat, user_id):
    """Item 2: 地点：联络站几点下班, 地点：1 and 事由：你好 are gone: each answer is checked against its question."""
    talk, clock = chat
    clock.freeze(dt.datetime(2032, 3, 1, 10, 0, tzinfo=LOCAL))
    assert "在哪里" in await talk(user_id, "路灯坏了好几天了，晚上出门很不方便")
    hours = await talk(user_id, "联络站几点下班")
    assert "开放时间" in hours and hours.endswith("也可以直接发送位置。")
    assert "好像不是一个地点" in await talk(user_id, "1")
    assert "是否同意" in await talk(user_id, "幸福路22号")
    summary = await talk(user_id, "2")
    assert "地点：幸福路22号" in summary and "下班" not in summary
    booker = f"{user_id}-b"
    assert "3月2日（周二）" in await talk(booker, "我想预约见代表")
    assert "想和代表谈什么" in await talk(booker, "1")
    hello = await talk(booker, "你好")
    assert "想和代表谈什么" in hello and "回电" not in hello
    await talk(booker, "想谈谈小区停车难")
    summary = await talk(booker, "不用")
    assert "事由：想谈谈小区停车难" in summary and "你好" not in summary


async def test_the_usual_openings_start_a_report(app, client, user_id):
    """Item 3: 反映问题 (the greeting's own first option), 我要反映问题, 我想投诉, 我要举报 (Telegram's /start:
    tests/integration/test_telegram.py)."""
    for i, opening in enumerate(("反映问题", "我要反映问题", "我想投诉", "我要举报")):
        citizen = Citizen(client, f"{user_id}-{i}")
        assert "请说说您遇到的问题" in await citizen.say(opening), opening
        summary = await citizen.until_summary("小区门口的井盖丢了，晚上很危险")
        assert "问题：小区门口的井盖丢了，晚上很危险\n" in summary, opening


async def test_no_call_back_is_not_the_end_of_the_booking(chat, user_id):
    """Item 4: "不用了" at the call-back question cancelled the whole booking."""
    talk, clock = chat
    clock.freeze(dt.datetime(2032, 3, 8, 10, 0, tzinfo=LOCAL))
    assert "3月11日（周四）下午" in await talk(user_id, "这周四下午有代表吗")
    await talk(user_id, "1")
    assert "手机号" in await talk(user_id, "想说说加装电梯的事")
    summary = await talk(user_id, "不用了")
    assert "请确认预约" in summary and "回电：不需要" in summary
    assert "预约成功" in await talk(user_id, "确认")


async def test_follow_ups_go_to_the_case_meant(app, client, user_id):
    """Item 5: 补充 with several open cases asks which; 地点改为 after registering starts no report; 我的预约
    lists the bookings."""
    citizen = Citizen(client, user_id)
    first = await citizen.report("楼道里的垃圾一周没人清运了，臭气熏天", place="阳光小区5栋")
    corrected = await citizen.say("地点改为阳光小区6栋")
    assert f"加入案件 {first}" in corrected and "是否同意" not in corrected
    second = await citizen.report("小区北门的路灯坏了，晚上很黑", place="阳光小区北门")
    asked = await citizen.say("补充：垃圾桶也坏了")
    assert "要补充到哪一件" in asked and first in asked and second in asked
    assert f"加入案件 {first}" in await citizen.say("垃圾那个")
    async with app.state.runtime.sessionmaker() as session:
        cases = (
            await session.execute(select(func.count()).select_from(Case).where(Case.number.in_([first, second])))
        ).scalar_one()
    assert cases == 2
    listed = await citizen.say("我的预约")
    assert "没有有效的预约" in listed and "确定取消" not in listed


async def test_answers_as_people_give_them(chat, user_id):
    """Item 6: 可以, 行, 嗯 as yes; 第一个 and 周四那个 pick from a list; 不留 and 算了 where they fit."""
    talk, clock = chat
    clock.freeze(dt.datetime(2032, 3, 15, 10, 0, tzinfo=LOCAL))
    await talk(user_id, "我家楼下的路灯坏了快一个星期了")
    await talk(user_id, "幸福路18号")
    assert "手机号码" in await talk(user_id, "嗯")
    assert "联系：不需要联系" in await talk(user_id, "不留")
    assert "已受理，编号" in await talk(user_id, "可以")
    assert "3月18日（周四）14:30" in await talk(user_id, "这周四下午有代表吗")
    assert "您选择了 3月18日（周四）14:30-15:00" in await talk(user_id, "第一个")
    await talk(user_id, "想说说路灯的事")
    await talk(user_id, "算了")  # no call-back
    assert "预约成功" in await talk(user_id, "行")
    await talk(user_id, "下周二上午有代表吗")
    await talk(user_id, "1")
    await talk(user_id, "想说说停车的事")
    await talk(user_id, "不用了")
    assert "预约成功" in await talk(user_id, "嗯")
    assert "2. 3月23日（周二）09:00-09:30" in await talk(user_id, "取消预约")
    assert "确定取消 3月18日（周四）" in await talk(user_id, "周四那个")
    assert "已取消预约" in await talk(user_id, "确认取消")


async def test_places_are_read_whole(app, client, user_id):
    """Item 7: 滨江路和光明街交叉口 was read as 滨江路, 人民路铁路桥下面的地道 as 人民路."""
    for i, (text, place) in enumerate(
        (
            ("滨江路和光明街交叉口的红绿灯坏了两天了", "滨江路和光明街交叉口"),
            ("人民路铁路桥下面的地道积水很深，电动车都过不去", "人民路铁路桥下面的地道"),
            ("幸福里小区5栋门口路灯不亮，晚上黑乎乎的", "幸福里小区5栋门口"),
        )
    ):
        summary = await Citizen(client, f"{user_id}-{i}").until_summary(text)
        assert f"地点：{place}\n" in summary, summary


async def test_several_problems_in_one_message_are_named_and_staff_split_them(app, client, user_id):
    """Item 8: a message with problems for three departments is no longer one case for one department that
    nobody mentions: the citizen is told, the case is registered once with the problems noted, the case page
    offers the split filled in, and the split gives each department its own case."""
    citizen = Citizen(client, user_id)
    summary = await citizen.until_summary(
        "青石路口的红绿灯坏了两天了，车辆乱成一团。另外，青石小学门口的培训班收费太贵了。"
        "还有青石菜市场旁边的小饭馆油烟太大，熏得人没法开窗"
    )
    assert "您反映的内容里有3个问题，分属不同部门" in summary
    assert "（交通运输，区交通运输局）" in summary and "（教育文体，区教育体育局）" in summary
    assert "（环境保护，区生态环境分局）" in summary
    registered = await citizen.say("确认")
    assert "您反映的3个问题会由工作人员拆分" in registered
    number = registered.split("编号 ")[1].split("。")[0]

    runtime, staff = app.state.runtime, Actor("staff-several", Role.STAFF)
    async with runtime.sessionmaker() as session:
        page = await casedesk.case_page(session, runtime.deployment, staff, number, utcnow())
    assert [(p["topic"], p["department"]) for p in page.suggested_split] == [
        ("交通运输", "jiaotong"),
        ("教育文体", "jiaoyu"),
        ("环境保护", "huanbao"),
    ]
    assert "红绿灯" in page.suggested_split[0]["text"] and "油烟" in page.suggested_split[2]["text"]
    parts = [cases.NewPart(p["text"], p["topic"], p["department"]) for p in page.suggested_split]
    async with runtime.sessionmaker() as session:
        _, made = await cases.split_case(session, runtime.deployment, runtime.calendar, number, staff, parts, utcnow())
    assert [c.topic for c in made] == ["交通运输", "教育文体", "环境保护"]
    told = await citizen.say(f"查询 {made[2].number}")
    assert "区生态环境分局" in told


async def test_one_problem_told_at_length_is_not_several(client, user_id):
    summary = await Citizen(client, user_id).until_summary(
        "我们小区门口的路灯坏了快一个月了。晚上出门黑乎乎的，已经有老人摔倒了。希望尽快修一下"
    )
    assert "个问题" not in summary


async def test_dates_name_the_right_week_and_a_past_day_is_asked_about(chat, user_id):
    """Item 6: the once-a-week refusal named the wrong week, and a day already past without a year silently
    became that day of next year."""
    talk, clock = chat
    clock.freeze(dt.datetime(2032, 9, 6, 10, 0, tzinfo=LOCAL))  # a Monday of a week no other test books in
    assert "9月9日（周四）" in await talk(user_id, "这周四下午有代表吗")
    await talk(user_id, "1")
    await talk(user_id, "想谈谈小区停车")
    await talk(user_id, "不用")
    assert "预约成功" in await talk(user_id, "确认")
    refused = await talk(user_id, "这周二上午有代表吗")
    assert "您在9月6日至9月12日这一周已有预约" in refused and "每人每周限约一次" in refused
    await talk(user_id, "算了")
    past = await talk(f"{user_id}-p", "8月30日有代表吗")
    assert "8月30日" in past and "今年已经过去了" in past and "2033" not in past


@pytest.mark.parametrize(
    "text, department",
    [
        ("15路公交车改线以后，我们小区附近一个站都没有了，老人出门很不方便", "区交通运输局"),
        ("小区门口的公交站台顶棚塌了一半，下雨天没处躲", "区交通运输局"),
        ("孩子的小学今年突然不让在校吃午饭了，家长接送很困难", "区教育体育局"),
        ("小区里的银行自助取款机坏了一个月没人修", "区商务和文化旅游局"),
    ],
)
async def test_bus_routes_bus_stops_schools_and_banks_go_to_their_departments(client, user_id, text, department):
    """Item 9: these were all sent to 城乡建设 by the old router."""
    summary = await Citizen(client, user_id).until_summary(text)
    assert f"（拟转交{department}）" in summary
