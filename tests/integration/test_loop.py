"""The closed loop on real Rasa, Redis and both databases: transfer, reply, review, rating,
re-handling, escalation; deadlines and pushes fired by the worker; Telegram calls to a recorder."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
from sqlalchemy import select, update

from bot.http.app import create_app
from bot.worker.runner import Worker
from casework.lifecycle import OPEN_STATES
from services import deputies, pushes, users
from settings.deployment import ChannelPace, Pace, PushPacing
from storage.models import Case, CaseEvent, Department, Deputy, Push, User, utcnow
from storage.repositories import CaseStore, DirectoryStore, UserStore
from tests.conftest import client_for
from tests.integration.recorder import RecordingApi
from tests.integration.test_conversations import Citizen
from tests.integration.test_telegram import SECRET, TelegramCitizen

pytestmark = [pytest.mark.integration, pytest.mark.dated, pytest.mark.own_database]
# The recorder enforces no Telegram limit, and the run's tests share one database: at Telegram's own pace (one
# message a second in a chat) a burst here spent minutes sending earlier tests' pushes to their staff chats.
# Pacing is tested where a recorder enforces the limits (tests/integration/test_pushrate.py) and in
# tests/unit/services/test_pacing.py. A pace is kept, not none, so that a 429 still pauses its chat.
UNHURRIED = PushPacing(
    telegram=ChannelPace(
        overall=Pace(messages=1000, per_seconds=1, margin_seconds=0),
        per_recipient=Pace(messages=1000, per_seconds=1, margin_seconds=0),
    )
)


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
        services.deployment = services.deployment.model_copy(update={"push_pacing": UNHURRIED})
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
    """Run every job once at `now`, as the worker would; then go on sending while a run sent anything, as the
    worker's next turns would: the run's tests share one database, so other tests' older pushes may fill a
    run's batch or its time."""
    done = await Worker(app.state.runtime).run_due(now, burst=True)
    sent = done.get("send_pushes", 0)
    while sent:
        sent = await pushes.send_due(app.state.runtime, now or utcnow())
    return done


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
    # Escalated: the station's loop has ended, but the standing committee's follow-up is still to record.
    assert detail["state"] == "escalated" and detail["allowed_actions"] == ["record_committee_action"]
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
    # Still not transferred: not silence, but seriously late from 48 hours on (once that day; the working
    # days after it, again from 9:00; nothing in between).
    await burst(app, received + dt.timedelta(hours=47))
    assert await pushes_of("deadline_alert") == ["staff"] * staff
    await burst(app, received + dt.timedelta(hours=48))
    await burst(app, received + dt.timedelta(hours=49))
    assert await pushes_of("deadline_alert") == ["staff"] * (2 * staff)
    async with app.state.runtime.sessionmaker() as session:
        texts = (await session.execute(select(Push.text).where(Push.case_id == case.id))).scalars().all()
    assert any("【严重超时】" in t and number in t for t in texts)
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


async def test_the_deadline_scan_looks_at_a_case_when_a_notice_may_come_and_again_after_a_change(station, user_id):
    """The scan reads only the open cases whose moment has come; once every notice of a case's deadlines went out
    it leaves the case alone, until a change (here a deputy following it) may bring new ones."""
    app, client, tokens = station
    runtime = app.state.runtime
    number = await Citizen(client, user_id).report("小区门口的井盖丢了一个，晚上很危险")
    await do(client, tokens["staff1"], number, "transfer")
    await do(client, tokens["jianshe"], number, "acknowledge")

    async def stored() -> Case:
        async with runtime.sessionmaker() as session:
            return (await session.execute(select(Case).where(Case.number == number))).scalar_one()

    async def looked_at(moment: dt.datetime) -> bool:
        async with runtime.sessionmaker() as session:
            return (await stored()).id in await CaseStore(session).to_look_at(moment, [s.value for s in OPEN_STATES])

    case = await stored()
    assert case.next_notice_at == case.updated_at  # the acknowledgement: look from then on
    looked = case.updated_at + dt.timedelta(minutes=1)
    await burst(app, looked)
    following = (await stored()).next_notice_at
    assert following is not None and looked < following <= looked + dt.timedelta(days=1)
    assert not await looked_at(following - dt.timedelta(seconds=1)) and await looked_at(following)

    overdue = case.overdue_at + dt.timedelta(minutes=1)
    await burst(app, overdue)
    alerts = await _push_kinds(runtime, case.id, "deadline_alert")
    assert sorted(set(alerts)) == ["department", "staff"] and (await stored()).next_notice_at is None
    assert not await looked_at(overdue + dt.timedelta(days=30))

    # Another citizen's report of the same manhole merged into it: its citizen follows the case from now on.
    duplicate = await Citizen(client, f"{user_id}-2").report("小区门口井盖没了，晚上走路怕掉下去")
    await do(client, tokens["staff1"], duplicate, "merge", merged_into=number, reason="同一井盖")
    assert await looked_at(overdue + dt.timedelta(days=1))
    await burst(app, overdue + dt.timedelta(days=1))
    assert (await stored()).next_notice_at is None

    async with runtime.sessionmaker() as session:
        deputy_id = (await session.execute(select(Deputy.id).limit(1))).scalar_one()
        deputy = User(name=f"deputy-scan-{uuid.uuid4().hex[:6]}", role="deputy", token_hash=uuid.uuid4().hex)
        deputy.deputy_id = deputy_id
        session.add(deputy)
        await session.commit()
    async with runtime.sessionmaker() as session:
        await deputies.take_up(session, await session.get(User, deputy.id), number, utcnow())
        await session.commit()
    assert await looked_at(overdue + dt.timedelta(days=2))
    await burst(app, overdue + dt.timedelta(days=2))
    assert "deputy" in await _push_kinds(runtime, case.id, "deadline_alert")
    assert (await stored()).next_notice_at is None

    # A new member of the department is sent what is due to the department now.
    async with runtime.sessionmaker() as session:
        newcomer = f"jianshe-new-{uuid.uuid4().hex[:6]}"
        fields = {"department": "jianshe", "deputy": None, "channel": None, "address": None, "password": None}
        await users.add_user(session, runtime.deployment, name=newcomer, role="department", now=utcnow(), **fields)
    assert await looked_at(overdue + dt.timedelta(days=3))
    await burst(app, overdue + dt.timedelta(days=3))
    async with runtime.sessionmaker() as session:
        sent = await session.execute(select(Push.kind).where(Push.case_id == case.id, Push.recipient == newcomer))
        assert list(sent.scalars()) == ["deadline_alert"]


async def test_the_deadline_scan_keeps_a_moment_set_while_it_looked(station, user_id):
    """An event (a follower, a new recipient) sets the case's moment without a new version: the scan, which read
    the case before it, does not write its own over it."""
    app, client, _tokens = station
    runtime = app.state.runtime
    number = await Citizen(client, user_id).report("公园的路灯一到晚上就不亮，散步很不方便")
    open_states = [s.value for s in OPEN_STATES]
    async with runtime.sessionmaker() as scan, runtime.sessionmaker() as event:
        case = (await scan.execute(select(Case).where(Case.number == number))).scalar_one()
        read = case.next_notice_at
        reset = read + dt.timedelta(minutes=5)
        await CaseStore(event).look_again_from(reset, open_states, case_id=case.id)
        await event.commit()
        await CaseStore(scan).look_again_at(case, None, read)
        await scan.commit()
    async with runtime.sessionmaker() as session:
        assert (await session.get(Case, case.id)).next_notice_at == reset


async def _push_kinds(runtime, case_id: int, kind: str) -> list[str]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(select(Push.recipient_type).where(Push.case_id == case_id, Push.kind == kind))
        return list(rows.scalars().all())


async def test_telegram_errors_are_retried_with_backoff_and_recorded(station, telegram, clock):
    """Telegram's 429 is a pace, not a failure: the push goes back to the queue, its attempt not counted, the
    chat waits; a server error is retried with backoff; each is recorded."""
    app, client, tokens = station
    number = await TelegramCitizen(client, telegram).report("河边的护栏断了一截，孩子在那边玩很危险")

    async def telegram_pushes():
        async with app.state.runtime.sessionmaker() as session:
            query = select(Push).join(Case).where(Case.number == number, Push.channel == "telegram")
            return (await session.execute(query.execution_options(populate_existing=True))).scalars().all()

    def answered(status, description, **parameters):
        body = {"ok": False, "error_code": status, "description": description}
        return lambda path, request: (status, {**body, "parameters": parameters} if parameters else body)

    refused = []

    def too_many(path, request):
        refused.append(path)
        return answered(429, "Too Many Requests: retry after 1", retry_after=1)(path, request)

    telegram.answers.append(too_many)
    await do(client, tokens["staff1"], number, "transfer")
    now = clock.now()
    await burst(app, now)
    # Held back, not failed: the 429 paused the channel (another test's older push in the run's database may
    # have met it first, and then these were not tried at all).
    held = await telegram_pushes()
    assert refused and held and {(p.status, p.attempts) for p in held} == {("queued", 0)}
    assert all(not p.last_error or "Telegram flood limit" in p.last_error for p in held)
    telegram.answers[:] = [answered(502, "Bad Gateway")]
    await burst(app, now + dt.timedelta(minutes=2))
    failed = await telegram_pushes()
    assert {(p.status, p.attempts) for p in failed} == {("retry", 1)}
    telegram.answers.clear()
    await burst(app, now + dt.timedelta(minutes=10))
    assert {p.status for p in await telegram_pushes()} == {"sent"}


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


def _auth(token):
    return {"authorization": f"Bearer {token}"}


def _street():
    """A place of the test's own, so that no report elsewhere in the suite is offered as similar."""
    return f"幸福{uuid.uuid4().hex[:6]}路"


async def _with_department(app, number, code="jianshe"):
    """Route the case to a department whatever topic the NLU gave it (the fixture's users are jianshe's)."""
    async with app.state.runtime.sessionmaker() as session:
        department = (await DirectoryStore(session).ids(Department))[code]
        await session.execute(update(Case).where(Case.number == number).values(department_id=department))
        await session.commit()


def _texts_to(telegram, chat):
    return [c["text"] for c in telegram.calls_to("/sendMessage") if str(c["chat_id"]) == chat]


async def test_an_escalated_case_records_the_committees_follow_up_tells_the_citizen_and_closes(station, user_id):
    app, client, tokens = station
    citizen = Citizen(client, user_id)
    number = await citizen.report("小区门口的下水道堵了一个多月，污水漫到路上", place=_street())
    await do(client, tokens["staff1"], number, "escalate", level="区县", reason="涉及多个部门，镇街无法解决")
    refused = await do(client, tokens["staff1"], number, "close", expect=409, reason="已解决")
    assert refused["code"] == "no_committee_action" and "约见、评议或询问" in refused["message"]
    assert (await do(client, tokens["staff1"], number, "record_committee_action", expect=409, reason="x"))[
        "code"
    ] == "bad_committee_kind"
    assert (await do(client, tokens["jianshe"], number, "record_committee_action", expect=403, kind="约见"))[
        "code"
    ] in ("forbidden_role", "not_your_department")
    met = await do(
        client,
        tokens["staff1"],
        number,
        "record_committee_action",
        kind="约见",
        reason="区住建局负责人到会说明，承诺两周内疏通并更换管道",
    )
    assert (met["from"], met["to"]) == ("escalated", "escalated")
    detail = (await client.get(f"/api/cases/{number}", headers=_auth(tokens["staff1"]))).json()
    assert detail["allowed_actions"] == ["close", "record_committee_action"]
    recorded = detail["events"][-1]
    assert recorded["action"] == "record_committee_action"
    assert recorded["detail"] == {"kind": "约见", "outcome": "区住建局负责人到会说明，承诺两周内疏通并更换管道"}
    await burst(app)
    told = await citizen.say("你好")
    assert "有了新进展：人大常委会约见了承办部门负责人" in told and "承诺两周内疏通" in told
    closed = await do(client, tokens["staff1"], number, "close")
    assert closed["to"] == "closed" and closed["reason"] == "人大常委会跟进后办结"
    await burst(app)
    assert "已办结：人大常委会跟进后办结" in await citizen.say("你好")
    assert (await client.get(f"/api/cases/{number}", headers=_auth(tokens["staff1"]))).json()["allowed_actions"] == []


async def test_the_author_of_a_reply_may_not_approve_it_and_a_send_back_reaches_the_department(
    station, telegram, user_id
):
    app, client, tokens = station
    number = await Citizen(client, user_id).report("单元门的门禁坏了，陌生人随便进出", place=_street())
    await _with_department(app, number)
    await do(client, tokens["staff1"], number, "transfer")
    await do(client, tokens["jianshe"], number, "acknowledge")
    await do(client, tokens["staff1"], number, "record_reply", reason="已联系物业，门禁本周内修好。")
    own = await do(client, tokens["staff1"], number, "approve_reply", expect=403)
    assert own["code"] == "same_person" and "另一位工作人员" in own["message"]
    mine = (await client.get(f"/api/cases/{number}", headers=_auth(tokens["staff1"]))).json()
    other = (await client.get(f"/api/cases/{number}", headers=_auth(tokens["staff2"]))).json()
    assert "approve_reply" not in mine["allowed_actions"] and "approve_reply" in other["allowed_actions"]
    await do(client, tokens["staff2"], number, "send_back_reply", reason="请写明物业维修的具体日期")
    await burst(app)
    sent_back = [t for t in _texts_to(telegram, tokens["department_chat"]) if "【退回】" in t and number in t]
    assert sent_back and "退回原因：请写明物业维修的具体日期" in sent_back[0]

    # A deployment that allows it (config.yml cases.same_person_may_approve) lets the author approve.
    runtime = app.state.runtime
    strict = runtime.deployment
    runtime.deployment = strict.model_copy(
        update={"cases": strict.cases.model_copy(update={"same_person_may_approve": True})}
    )
    try:
        await do(client, tokens["staff1"], number, "record_reply", reason="物业已于周三修好门禁。")
        assert (await do(client, tokens["staff1"], number, "approve_reply"))["to"] == "replied"
    finally:
        runtime.deployment = strict


async def test_assign_records_the_old_and_new_topic_and_department_and_tells_both(station, telegram, user_id):
    app, client, tokens = station
    number = await Citizen(client, user_id).report("路口的红绿灯坏了，早晚高峰堵成一片", place=_street())
    await _with_department(app, number)
    async with app.state.runtime.sessionmaker() as session:
        topic = (await session.execute(select(Case.topic).where(Case.number == number))).scalar_one()
    await do(client, tokens["staff1"], number, "transfer")
    templates = await client.get(f"/api/cases/{number}/reply-templates", headers=_auth(tokens["jianshe"]))
    assert templates.status_code == 200 and templates.json()[-1]["title"] == "解释说明"
    assert all(number in t["text"] or "【编号】" not in t["text"] for t in templates.json())
    assert any(number in t["text"] and "区住房和城乡建设局" in t["text"] for t in templates.json())
    same = await do(client, tokens["staff1"], number, "assign", expect=409, topic=topic, department="jianshe")
    assert same["code"] == "assign_unchanged"
    target = "环境保护" if topic == "交通运输" else "交通运输"
    moved = await do(client, tokens["staff1"], number, "assign", topic=target, reason="信号灯归交通部门")
    assert f"类别 {topic} → {target}" in moved["reason"] and "区住房和城乡建设局 →" in moved["reason"]
    detail = (await client.get(f"/api/cases/{number}", headers=_auth(tokens["staff1"]))).json()
    assigned = detail["events"][-1]
    assert assigned["action"] == "assign" and assigned["detail"]["topic"] == {"from": topic, "to": target}
    assert assigned["detail"]["department"]["from"] == "区住房和城乡建设局"
    assert assigned["detail"]["department"]["to"] == detail["department"] != "区住房和城乡建设局"
    await burst(app)
    to_former = [t for t in _texts_to(telegram, tokens["department_chat"]) if number in t and "【改派】" in t]
    assert to_former and f"已改由{detail['department']}办理" in to_former[0]
    # The case left jianshe: it no longer reads it, nor its templates.
    assert (await client.get(f"/api/cases/{number}", headers=_auth(tokens["jianshe"]))).status_code == 404
    gone = await client.get(f"/api/cases/{number}/reply-templates", headers=_auth(tokens["jianshe"]))
    assert gone.status_code == 404


async def test_a_merged_citizen_follows_the_surviving_case_and_asks_for_it_by_number(station, user_id):
    app, client, tokens = station
    street = _street()
    first, second = Citizen(client, user_id), Citizen(client, user_id + "-m")
    surviving = await first.report(f"{street}东口的路面塌了一个坑，电动车摔了好几辆", place=f"{street}东口")
    merged = await second.report(f"{street}西头菜市场门口垃圾堆成山，臭气熏天", place=f"{street}西头")
    await do(client, tokens["staff1"], merged, "merge", merged_into=surviving, reason="同一路段，一并处理")
    await burst(app)
    told = await second.say("你好")
    assert "已并入该案件一并办理" in told and f"查询 {surviving}" in told
    asked = await second.say(f"查询 {surviving}")
    assert surviving in asked and "您关注的案件" in asked and "没有找到" not in asked
    assert "您关注的案件" in asked and "同一问题的反映已并入本案" in asked  # its public summary and progress
    # It keeps getting the surviving case's progress and reply.
    await do(client, tokens["staff1"], surviving, "answer_on_spot", answer="已安排养护队今晚填补路面。")
    await burst(app)
    assert f"您关注的案件 {surviving} 有了答复" in await second.say("你好")
    events = (await client.get(f"/api/cases/{surviving}", headers=_auth(tokens["staff1"]))).json()["events"]
    merged_in = next(e for e in events if e["action"] == "merged_in")
    assert merged_in["detail"] == {"merged": merged} and merged in merged_in["reason"]


async def test_a_case_with_several_problems_is_split_into_cases_for_several_departments(station, user_id):
    app, client, tokens = station
    street = _street()
    citizen = Citizen(client, user_id)
    number = await citizen.report(
        f"{street}的路灯坏了一排，晚上漆黑；路口的红绿灯也坏了，车都乱开", place=f"{street}路口"
    )
    await citizen.say("补充：我拍了照片")
    url = f"/api/cases/{number}/split"
    parts = [
        {"description": f"{street}的路灯坏了一排，晚上漆黑", "topic": "城乡建设"},
        {"description": f"{street}路口的红绿灯坏了", "topic": "交通运输", "department": "jiaotong"},
    ]
    one = await client.post(url, json={"parts": parts[:1]}, headers=_auth(tokens["staff1"]))
    assert one.status_code == 409 and one.json()["code"] == "split_too_few"
    bad = await client.post(
        url, json={"parts": [parts[0], {**parts[1], "topic": "水电"}]}, headers=_auth(tokens["staff1"])
    )
    assert bad.status_code == 409 and bad.json()["code"] == "bad_topic"
    assert (await client.post(url, json={"parts": parts}, headers=_auth(tokens["jianshe"]))).status_code in (403, 404)
    plain = await do(client, tokens["staff1"], number, "split", expect=409)
    assert plain["code"] == "split_needs_parts"

    done = await client.post(
        url, json={"parts": parts, "reason": "两件事分属两个部门"}, headers=_auth(tokens["staff1"])
    )
    assert done.status_code == 200, done.text
    split = done.json()
    assert split["state"] == "closed" and [p["topic"] for p in split["parts"]] == ["城乡建设", "交通运输"]
    numbers = [p["case_no"] for p in split["parts"]]
    async with app.state.runtime.sessionmaker() as session:
        original = (await session.execute(select(Case).where(Case.number == number))).scalar_one()
        made = [(await session.execute(select(Case).where(Case.number == n))).scalar_one() for n in numbers]
        departments = await DirectoryStore(session).ids(Department)
        firsts = [
            (await session.execute(select(CaseEvent).where(CaseEvent.case_id == c.id).order_by(CaseEvent.id)))
            .scalars()
            .first()
            for c in made
        ]
        last = (
            (
                await session.execute(
                    select(CaseEvent).where(CaseEvent.case_id == original.id).order_by(CaseEvent.id.desc())
                )
            )
            .scalars()
            .first()
        )
    assert [c.department_id for c in made] == [departments["jianshe"], departments["jiaotong"]]
    for part, first in zip(made, firsts, strict=True):
        assert (part.state, part.source, part.citizen_id) == ("received", "split", original.citizen_id)
        assert (part.transfer_due_at, part.reply_due_at) == (original.transfer_due_at, original.reply_due_at)
        assert first.action == "register" and first.detail == {"split_from": number} and number in first.reason
    assert last.action == "split" and [p["case_no"] for p in last.detail["parts"]] == numbers
    assert all(n in last.reason for n in numbers)
    await burst(app)
    told = await citizen.say("你好")
    assert "已拆分为2件" in told and all(n in told for n in numbers)
    assert "路灯坏了一排" in await citizen.say(f"查询 {numbers[0]}")


async def test_pushes_are_listed_a_page_at_a_time(station, user_id):
    app, client, tokens = station
    # Two transfers, each telling the citizen and the department: four pushes in this test's own database.
    for who, text in ((user_id, "公园里的健身器材坏了，孩子差点受伤"), (user_id + "-b", "小区门口的路灯一直不亮")):
        number = await Citizen(client, who).report(text, place=_street())
        await do(client, tokens["staff1"], number, "transfer")
    first = await client.get("/api/pushes", params={"limit": 2}, headers=_auth(tokens["staff1"]))
    assert first.status_code == 200, first.text
    page = first.json()
    assert len(page["items"]) == 2 and page["total"] == 4 and page["offset"] == 0
    assert page["next"] == "/api/pushes?limit=2&offset=2"
    second = (await client.get(page["next"], headers=_auth(tokens["staff1"]))).json()
    assert second["offset"] == 2 and {p["id"] for p in second["items"]}.isdisjoint({p["id"] for p in page["items"]})
    assert max(p["id"] for p in second["items"]) < min(p["id"] for p in page["items"])  # newest first
    last = (
        await client.get(
            "/api/pushes", params={"limit": 2, "offset": page["total"] - 1}, headers=_auth(tokens["staff1"])
        )
    ).json()
    assert len(last["items"]) == 1 and last["next"] is None
    queued = (
        await client.get("/api/pushes", params={"status": "queued", "limit": 500}, headers=_auth(tokens["staff1"]))
    ).json()
    assert {p["status"] for p in queued["items"]} == {"queued"} and queued["total"] == len(queued["items"]) == 4
    assert (await client.get("/api/pushes", headers=_auth(tokens["jianshe"]))).status_code == 403
    assert (await client.get("/api/pushes", params={"limit": 0}, headers=_auth(tokens["staff1"]))).status_code == 422
