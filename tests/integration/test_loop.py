"""The closed loop on real Rasa, Redis and both databases: transfer, reply, review, rating,
re-handling, escalation; deadlines and pushes fired by the worker; Telegram calls to a recorder."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from bot.http.app import create_app
from bot.worker.runner import Worker
from storage.models import Case, CaseEvent, Department, Push, User
from storage.repositories import DirectoryStore, UserStore
from tests.conftest import client_for
from tests.integration.recorder import RecordingApi
from tests.integration.test_conversations import Citizen
from tests.integration.test_telegram import SECRET, TelegramCitizen

pytestmark = pytest.mark.integration


@pytest.fixture
def telegram():
    with RecordingApi() as api:
        yield api


@pytest.fixture
async def station(settings, telegram):
    """The app with Telegram pointed at the recorder, and a staff, two staff, a department user."""
    app = create_app(
        settings.model_copy(
            update={"telegram_token": "123:TEST", "telegram_api_base": telegram.url, "telegram_secret": SECRET}
        )
    )
    async for client in client_for(app):
        services = app.state.runtime
        suffix = uuid.uuid4().hex[:6]
        # Telegram chat ids of this station's staff and department (unique per test: the database is shared).
        tokens = {"staff_chat": f"s-{suffix}", "department_chat": f"d-{suffix}"}
        async with services.sessionmaker() as session:
            departments = await DirectoryStore(session).ids(Department)
            users = UserStore(session)
            for name, role, dept, address in (
                ("staff1", "staff", None, tokens["staff_chat"]),
                ("staff2", "staff", None, None),
                ("jianshe", "department", "jianshe", tokens["department_chat"]),
                ("jiaotong", "department", "jiaotong", None),
            ):
                user, token = await users.add(
                    name=f"{name}-{suffix}", role=role, department_id=departments.get(dept or "")
                )
                user.channel, user.address = ("telegram", address) if address else (None, None)
                tokens[name] = token
            await session.commit()
        yield app, client, tokens


async def do(client, token, number, action, expect=200, **fields):
    response = await client.post(
        f"/api/cases/{number}/actions", json={"action": action, **fields}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == expect, response.text
    return response.json()


async def burst(app, now=None):
    return await Worker(app.state.runtime).run_due(now, burst=True)


async def test_report_transfer_reply_rating_rehandling_escalation(station, telegram):
    app, client, tokens = station
    citizen = TelegramCitizen(client, telegram)
    number = await citizen.report("幸福路上的路灯坏了好几盏，晚上一片漆黑，走路很不安全")
    await do(client, tokens["jiaotong"], number, "acknowledge", expect=403)
    await do(client, tokens["jianshe"], number, "transfer", expect=403)
    moved = await do(client, tokens["staff1"], number, "transfer", reason="请尽快核实维修")
    assert moved["to"] == "transferred"
    await do(client, tokens["jianshe"], number, "acknowledge")
    await do(client, tokens["jianshe"], number, "approve_reply", expect=403)
    await do(client, tokens["jianshe"], number, "record_reply", reason="已安排维修，路灯周五前修复。")
    refused = await do(client, tokens["staff1"], number, "send_back_reply", expect=409)
    assert refused["code"] == "reason_required"
    await do(client, tokens["staff1"], number, "send_back_reply", reason="请写明维修的具体路段")
    await do(client, tokens["jianshe"], number, "record_reply", reason="幸福路东段三盏路灯已于周四修复。")
    await do(client, tokens["staff1"], number, "approve_reply")
    await burst(app)
    sent_to_citizen = citizen.sent()
    assert any("已转交" in t for t in sent_to_citizen)
    assert any("三盏路灯已于周四修复" in t and "满意吗" in t for t in sent_to_citizen)
    to_department = [
        c["text"] for c in telegram.calls_to("/sendMessage") if str(c["chat_id"]) == tokens["department_chat"]
    ]
    assert any("【转办】" in t for t in to_department)

    assert "重新办理" in await citizen.say("不满意，东段还有一盏不亮")
    await burst(app)
    department_notes = [
        c["text"] for c in telegram.calls_to("/sendMessage") if str(c["chat_id"]) == tokens["department_chat"]
    ]
    assert any("【重新办理】" in t and "东段还有一盏不亮" in t for t in department_notes)
    await do(client, tokens["jianshe"], number, "record_reply", reason="最后一盏已更换灯泡。")

    first, second = await asyncio.gather(
        client.post(
            f"/api/cases/{number}/actions",
            json={"action": "approve_reply"},
            headers={"authorization": f"Bearer {tokens['staff1']}"},
        ),
        client.post(
            f"/api/cases/{number}/actions",
            json={"action": "approve_reply"},
            headers={"authorization": f"Bearer {tokens['staff2']}"},
        ),
    )
    assert sorted([first.status_code, second.status_code]) == [200, 409]
    loser = second if second.status_code == 409 else first
    assert loser.json()["code"] in ("conflict", "no_pending_reply", "wrong_state") and loser.json()["detail"]

    assert "提请人大常委会" in await citizen.say("不满意")
    assert "不需要重复评价" in await citizen.say("满意")
    await burst(app)
    to_staff = [c["text"] for c in telegram.calls_to("/sendMessage") if str(c["chat_id"]) == tokens["staff_chat"]]
    assert any("【升级】" in t for t in to_staff)

    detail = (await client.get(f"/api/cases/{number}", headers={"authorization": f"Bearer {tokens['staff1']}"})).json()
    assert detail["state"] == "escalated" and detail["allowed_actions"] == []
    states = [(e["from"], e["to"]) for e in detail["events"]]
    assert states == [
        (None, "received"),
        ("received", "transferred"),
        ("transferred", "in_progress"),
        ("in_progress", "in_progress"),
        ("in_progress", "in_progress"),
        ("in_progress", "in_progress"),
        ("in_progress", "replied"),
        ("replied", "rehandling"),
        ("rehandling", "rehandling"),
        ("rehandling", "replied"),
        ("replied", "escalated"),
    ]
    assert [r["status"] for r in detail["replies"]] == ["sent_back", "approved", "approved"]
    sends = telegram.calls_to("/sendMessage")
    assert len(sends) == len({(c["chat_id"], c["text"]) for c in sends}), "a push was sent twice"


async def test_a_citizen_on_the_web_gets_pushes_with_the_next_reply_and_rates_once(station, user_id):
    app, client, tokens = station
    citizen = Citizen(client, user_id)
    number = await citizen.report("小区旁边的公交站台顶棚破了，下雨天等车全身湿透")
    await do(client, tokens["staff1"], number, "answer_on_spot", answer="已联系公交公司，本周内修复顶棚。")
    await burst(app)
    reply = await citizen.say("你好")
    assert reply.index("本周内修复顶棚") < reply.index("联络站")
    assert "感谢您的评价（基本满意）" in await citizen.say("基本满意，希望说到做到")
    assert "不需要重复评价" in await citizen.say("不满意")
    async with app.state.runtime.sessionmaker() as session:
        case = (await session.execute(select(Case).where(Case.number == number))).scalar_one()
        assert case.state == "closed"


async def test_withdraw_and_add_information_in_the_chat(station, user_id):
    app, client, tokens = station
    citizen = Citizen(client, user_id)
    number = await citizen.report("楼下烧烤店油烟很大，窗户都不敢开")
    await do(client, tokens["staff1"], number, "transfer")
    assert "已把您补充的内容加入案件" in await citizen.say("补充：晚上十点以后还有噪音")
    assert "确定要撤回" in await citizen.say(f"撤回{number}，已经解决了")
    assert "已撤回" in await citizen.say("确认撤回")
    async with app.state.runtime.sessionmaker() as session:
        events = (
            await session.execute(
                select(CaseEvent.action, CaseEvent.reason)
                .join(Case)
                .where(Case.number == number)
                .order_by(CaseEvent.id)
            )
        ).all()
    assert [a for a, _ in events] == ["register", "transfer", "add_info", "withdraw"]
    assert "晚上十点以后还有噪音" in events[2][1]


async def test_deadlines_fire_on_working_days_and_unrated_answers_close(station, user_id):
    app, client, tokens = station
    number = await Citizen(client, user_id).report("路口的红绿灯坏了两天了，车辆乱成一团")
    async with app.state.runtime.sessionmaker() as session:
        case = (await session.execute(select(Case).where(Case.number == number))).scalar_one()
    received = case.created_at

    def pushes_of(kind):
        async def count():
            async with app.state.runtime.sessionmaker() as session:
                return (
                    (
                        await session.execute(
                            select(Push.recipient_type).where(Push.case_id == case.id, Push.kind == kind)
                        )
                    )
                    .scalars()
                    .all()
                )

        return count()

    async with app.state.runtime.sessionmaker() as session:
        staff_users = select(User).where(User.role.in_(("staff", "admin")), User.active.is_(True))
        staff = len((await session.execute(staff_users)).scalars().all())
    await burst(app, received + dt.timedelta(hours=19))
    assert await pushes_of("deadline_reminder") == []
    await burst(app, received + dt.timedelta(hours=21))
    await burst(app, received + dt.timedelta(hours=22))
    assert await pushes_of("deadline_reminder") == ["staff"] * staff  # one per staff user, once
    await burst(app, received + dt.timedelta(hours=25))
    assert await pushes_of("deadline_alert") == ["staff"] * staff
    await do(client, tokens["staff1"], number, "answer_on_spot", answer="已报修。")
    async with app.state.runtime.sessionmaker() as session:
        answered = (await session.execute(select(Case).where(Case.number == number))).scalar_one().updated_at
    # Adding information later changes the case but not when its answer went out.
    assert "已把您补充的内容" in await Citizen(client, user_id).say("补充：早高峰最堵")
    await burst(app, answered + dt.timedelta(days=3, minutes=1))
    assert await pushes_of("rating_reminder") == ["citizen"]
    await burst(app, answered + dt.timedelta(days=7, minutes=1))
    async with app.state.runtime.sessionmaker() as session:
        closed = (await session.execute(select(Case).where(Case.number == number))).scalar_one()
        last = (
            (
                await session.execute(
                    select(CaseEvent).where(CaseEvent.case_id == closed.id).order_by(CaseEvent.id.desc())
                )
            )
            .scalars()
            .first()
        )
    assert closed.state == "closed" and last.action == "close_unrated" and last.reason == "逾期未评价"


async def test_telegram_errors_are_retried_with_backoff_and_recorded(station, telegram, clock):
    app, client, tokens = station
    number = await TelegramCitizen(client, telegram).report("河边的护栏断了一截，孩子在那边玩很危险")
    telegram.answers.append(
        lambda path, body: (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        )
    )
    await do(client, tokens["staff1"], number, "transfer")
    now = clock.now()
    await burst(app, now)
    async with app.state.runtime.sessionmaker() as session:
        pushes = (await session.execute(select(Push).join(Case).where(Case.number == number))).scalars().all()
    assert {p.status for p in pushes if p.channel == "telegram"} == {"retry"}
    assert all("429" in p.last_error for p in pushes if p.channel == "telegram")
    telegram.answers.clear()
    await burst(app, now + dt.timedelta(minutes=2))
    async with app.state.runtime.sessionmaker() as session:
        pushes = (
            (
                await session.execute(
                    select(Push).join(Case).where(Case.number == number).execution_options(populate_existing=True)
                )
            )
            .scalars()
            .all()
        )
    assert {p.status for p in pushes if p.channel == "telegram"} == {"sent"}


async def test_a_common_problem_is_offered_linked_and_grouped(station, user_id):
    app, client, tokens = station
    place = f"幸福路{uuid.uuid4().int % 900 + 100}号"
    first = Citizen(client, user_id)
    number = await first.report(f"{place}门口的井盖不见了，一个大坑，晚上很危险", place=place)
    follower = Citizen(client, user_id + "-b")
    offer = await follower.until_summary("井盖丢了，留下一个大坑，有人差点掉进去", place=place)
    assert f"已有市民反映过类似问题，正在办理：{number}" in offer
    assert f"已为您关注案件 {number}" in await follower.say("关注")
    assert number in await follower.say(f"查询{number}")
    await do(client, tokens["staff1"], number, "transfer")
    await burst(app)
    assert "已转交" in await follower.say("你好")

    separate = Citizen(client, user_id + "-c")
    assert "类似问题" in await separate.until_summary("井盖被偷了，留下一个大坑", place=place)
    second = (await separate.say("确认")).split("编号 ")[1].split("。")[0]
    groups = (await client.get("/api/cases/groups", headers={"authorization": f"Bearer {tokens['staff1']}"})).json()
    mine = next(g for g in groups if number in [c["case_no"] for c in g["cases"]])
    assert {c["case_no"] for c in mine["cases"]} == {number, second} and mine["count"] == 2
    async with app.state.runtime.sessionmaker() as session:
        kinds = (await session.execute(select(Push.kind).join(Case).where(Case.number == second))).scalars().all()
    assert "common_problem" in kinds
