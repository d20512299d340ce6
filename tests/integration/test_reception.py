"""Reception booking end to end: the chat on real Rasa and Redis through POST /api/messages, 50 citizens
racing for the last place on PostgreSQL, reminders, digests and waiting-list offers fired by the worker at
chosen times, staff and deputies over the API and the CLI, outcomes feeding the deputies' points."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import func, select

from casework.deadlines import LOCAL
from nlu.client import RasaParser
from services import reception
from storage.models import Booking, BookingWait, Case, CaseEvent, Deputy, Push, ReceptionSession, ReceptionSlot, User
from storage.reception import ReceptionStore
from storage.repositories import ConversationStore, DirectoryStore, UserStore
from tests.conftest import RASA_TOKEN, make_settings
from tests.factories import build_dispatcher, say
from tests.integration.test_cli import _run
from tests.integration.test_conversations import Citizen
from tests.integration.test_loop import burst, station, telegram  # noqa: F401 - fixtures
from tests.integration.test_telegram import TelegramCitizen

pytestmark = [pytest.mark.integration, pytest.mark.own_database]
NUMBER = re.compile(r"预约号 (YY\d+)")


async def query(app, statement):
    async with app.state.runtime.sessionmaker() as session:
        return (await session.execute(statement.execution_options(populate_existing=True))).scalars().all()


async def deputies_on_telegram(app) -> tuple[dict[str, str], dict[str, str]]:
    """A user for every deputy, bound to a Telegram chat of their own: (code -> chat id, code -> API token)."""
    suffix = uuid.uuid4().hex[:6]
    chats, tokens = {}, {}
    async with app.state.runtime.sessionmaker() as session:
        users = UserStore(session)
        for code, deputy_id in (await DirectoryStore(session).ids(Deputy)).items():
            user, tokens[code] = await users.add(name=f"{code}-{suffix}", role="deputy", deputy_id=deputy_id)
            user.channel, user.address = "telegram", chats.setdefault(code, f"dep-{code}-{suffix}")
        await session.commit()
    return chats, tokens


async def book_in_chat(citizen: Citizen, asked: str = "我想预约见代表", topic: str = "想说说小区停车难的问题") -> str:
    """Book the first slot proposed, answering what the bot asks; return the booking number."""
    proposals = await citizen.say(asked)
    assert "1. " in proposals, proposals
    assert "想和代表谈什么" in await citizen.say("1")
    assert "手机号" in await citizen.say(topic)
    assert "请确认预约" in await citizen.say("不用")
    done = await citizen.say("确认")
    assert "预约成功" in done, done
    return NUMBER.search(done).group(1)


async def open_session_ahead(app, token_header, today: dt.date, days_ahead: int = 3) -> dict:
    """The first open session nobody booked yet, at least `days_ahead` days from `today` (the tests of one
    run share their database)."""
    _, client, _ = app
    sessions = (await client.get("/api/reception/sessions", params={"days": 35}, headers=token_header)).json()
    earliest = today + dt.timedelta(days=days_ahead)
    return next(
        s
        for s in sessions
        if not s["closed"]
        and dt.date.fromisoformat(s["day"]) >= earliest
        and not any(slot["booked"] for slot in s["slots"])
    )


def day_words(session: dict) -> str:
    day = dt.date.fromisoformat(session["day"])
    return f"{day.month}月{day.day}日"


def first_slot_of(session: dict) -> str:
    """What a citizen writes to ask for the session's first slot, e.g. 11月26日14:30有代表吗."""
    start = dt.datetime.fromisoformat(session["slots"][0]["starts_at"]).astimezone(LOCAL)
    return f"{day_words(session)}{start:%H:%M}有代表吗"


@pytest.mark.dated
async def test_a_citizen_books_in_the_chat_and_the_deputy_hears_at_once(
    station,  # noqa: F811
    telegram,  # noqa: F811
    user_id,
    clock,
):
    app, client, tokens = station
    chats, _ = await deputies_on_telegram(app)
    citizen = Citizen(client, user_id)
    # A session days ahead: the first slot proposed may start within the cut-off for cancelling online (a run
    # early on a reception morning), and this citizen cancels below.
    ahead = await open_session_ahead(station, {"authorization": f"Bearer {tokens['staff1']}"}, clock.today())
    number = await book_in_chat(citizen, first_slot_of(ahead))
    [booking] = await query(app, select(Booking).where(Booking.number == number))
    [row] = await query(app, select(ReceptionSession).where(ReceptionSession.id == booking.session_id))
    await burst(app)
    sent = [(str(c["chat_id"]), c["text"]) for c in telegram.calls_to("/sendMessage")]
    on_duty = {chats[code] for code in row.deputies}
    assert {
        chat for chat, text in sent if f"预约号 {number}" in text and "【新预约】" in text and chat in chats.values()
    } == on_duty

    # Dates in Chinese on the real model; a day of the next week answered for that day.
    tuesday = await Citizen(client, user_id + "-t").say("下周二上午有代表吗")
    assert "（周二）上午" in tuesday.split("\n")[0]
    # The one-a-week rule, then cancelling in the chat.
    assert "每人每周限约一次" in await citizen.say(f"{row.day.month}月{row.day.day}日有代表吗")
    assert "本次预约已取消" in await citizen.say("取消")
    assert "确定取消" in await citizen.say("我去不了了，帮我取消预约")
    assert f"已取消预约 {number}" in await citizen.say("确认取消")
    await burst(app)
    sent = [(str(c["chat_id"]), c["text"]) for c in telegram.calls_to("/sendMessage")]
    told = {chat for chat, text in sent if "【取消预约】" in text and number in text and chat in chats.values()}
    assert told == on_duty


@pytest.mark.dated
async def test_reminders_digests_and_offers_are_fired_by_the_worker(station, telegram, user_id, clock):  # noqa: F811
    app, client, tokens = station
    chats, _ = await deputies_on_telegram(app)
    staff = {"authorization": f"Bearer {tokens['staff1']}"}
    ahead = await open_session_ahead(station, staff, clock.today())
    citizen = TelegramCitizen(client, telegram)
    number = await book_in_chat(citizen, first_slot_of(ahead))
    [booking] = await query(app, select(Booking).where(Booking.number == number))
    [slot] = await query(app, select(ReceptionSlot).where(ReceptionSlot.id == booking.slot_id))
    start = slot.starts_at.astimezone(LOCAL)
    day_before = dt.datetime.combine(start.date() - dt.timedelta(days=1), dt.time(18, 0), tzinfo=LOCAL)

    def mine(kind):
        return select(Push).where(Push.dedupe_key.like(f"booking:{booking.id}:remind:{kind}:%"))

    # The worker is run at chosen moments in time order: the evening before, the morning digest, two hours
    # before. (A session starting before 09:30 has its two-hours-before moment ahead of the digest's: that
    # reminder then goes with the digest's burst, which the assertions allow.)
    await burst(app, day_before - dt.timedelta(minutes=1))
    assert await query(app, mine("%")) == []
    await burst(app, day_before)
    await burst(app, day_before + dt.timedelta(minutes=1))
    [evening] = await query(app, mine("day_before"))
    assert evening.status == "sent" and "明天" in evening.text and "回复“取消”" in evening.text

    digest_at = dt.datetime.combine(start.date(), dt.time(7, 30), tzinfo=LOCAL)
    [row] = await query(app, select(ReceptionSession).where(ReceptionSession.id == booking.session_id))
    await burst(app, digest_at - dt.timedelta(minutes=1))
    assert not [c for c in telegram.calls_to("/sendMessage") if "【今日接待】" in c["text"] and number in c["text"]]
    await burst(app, digest_at)
    await burst(app, digest_at + dt.timedelta(minutes=1))
    digests = [(str(c["chat_id"]), c["text"]) for c in telegram.calls_to("/sendMessage") if "【今日接待】" in c["text"]]
    # (Deputies' users of earlier tests in this database get theirs too: count this test's chats.)
    ours = {chat for chat, text in digests if number in text and chat in chats.values()}
    assert ours == {chats[code] for code in row.deputies}

    two_hours_before = max(start - dt.timedelta(hours=2), digest_at + dt.timedelta(minutes=1))
    await burst(app, two_hours_before)
    await burst(app, two_hours_before + dt.timedelta(minutes=1))
    [soon] = await query(app, mine("hours_before"))
    assert soon.status == "sent" and f"今天 {start:%H:%M} 开始" in soon.text
    reminders = citizen.sent()
    assert len([t for t in reminders if "【接待提醒】" in t]) == 2  # each once, however often the worker ran

    # The waiting list: fill the slot, queue one more citizen, free a place, let the offer run out.
    for i in range(slot.capacity - slot.booked):
        await book_in_chat(Citizen(client, f"{user_id}-{i}"), f"{day_words(ahead)}{start:%H:%M}有代表吗")
    waiting = Citizen(client, f"{user_id}-w")
    assert "已经约满" in await waiting.say(f"{day_words(ahead)}{start:%H:%M}有代表吗")
    for text in ("候补", "菜市场占道经营", "不用"):
        await waiting.say(text)
    assert "排第 1 位" in await waiting.say("确认")
    # The reminders queued by the worker are dated later than the real now: this is no answer to them.
    assert "确定取消" in await citizen.say("取消预约")
    assert "已取消" in await citizen.say("确认取消")
    [wait] = await query(app, select(BookingWait).where(BookingWait.slot_id == slot.id))
    assert wait.status == "offered" and wait.offer_expires_at is not None
    await burst(app, wait.offer_expires_at - dt.timedelta(minutes=1))
    [wait] = await query(app, select(BookingWait).where(BookingWait.id == wait.id))
    assert wait.status == "offered"
    await burst(app, wait.offer_expires_at + dt.timedelta(minutes=1))
    [wait] = await query(app, select(BookingWait).where(BookingWait.id == wait.id))
    [slot] = await query(app, select(ReceptionSlot).where(ReceptionSlot.id == slot.id))
    assert wait.status == "expired" and slot.booked == slot.capacity - 1
    await burst(app, wait.offer_expires_at + dt.timedelta(minutes=2))  # sends what the last run queued
    told = await waiting.say("你好")
    assert "有空位了" in told and "已过确认时间" in told


@pytest.mark.dated
async def test_staff_close_a_session_name_deputies_and_record_outcomes(
    station,  # noqa: F811
    telegram,  # noqa: F811
    user_id,
    settings,
    clock,
):
    app, client, tokens = station
    chats, deputy_tokens = await deputies_on_telegram(app)
    staff = {"authorization": f"Bearer {tokens['staff1']}"}
    department = {"authorization": f"Bearer {tokens['jianshe']}"}
    assert (await client.get("/api/reception/sessions", headers=department)).status_code == 403
    ahead = await open_session_ahead(station, staff, clock.today())
    citizen = Citizen(client, user_id)
    number = await book_in_chat(citizen, first_slot_of(ahead))
    key = ahead["key"]
    listed = (
        await client.get("/api/reception/bookings", params={"from": ahead["day"], "session": key}, headers=staff)
    ).json()
    assert [b["number"] for b in listed] == [number] and listed[0]["status"] == "booked"

    newcomer = next(d.code for d in app.state.runtime.deployment.deputies if d.code not in ahead_codes(ahead))
    deputy = {"authorization": f"Bearer {deputy_tokens[newcomer]}"}
    refused = await client.post(
        f"/api/reception/sessions/{key}/deputies", json={"deputies": [newcomer]}, headers=deputy
    )
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden_role"
    named = await client.post(f"/api/reception/sessions/{key}/deputies", json={"deputies": [newcomer]}, headers=staff)
    assert named.status_code == 200 and named.json()["deputies"] == [newcomer]
    other = {"authorization": f"Bearer {deputy_tokens[ahead['deputies'][0]['code']]}"}
    assert (await client.get("/api/reception/bookings", params={"session": key}, headers=other)).json() == []
    mine = (await client.get("/api/reception/bookings", params={"session": key}, headers=deputy)).json()
    assert [b["number"] for b in mine] == [number] and mine[0]["phone"] is None
    assert (
        await client.post(f"/api/reception/sessions/{key}/close", json={"reason": "场地检修"}, headers=deputy)
    ).status_code == 403
    closed = await client.post(f"/api/reception/sessions/{key}/close", json={"reason": "场地检修"}, headers=staff)
    assert closed.status_code == 200 and closed.json()["citizens_told"] == 1
    again = await client.post(f"/api/reception/sessions/{key}/close", json={"reason": "场地检修"}, headers=staff)
    assert again.status_code == 409 and again.json()["code"] == "already_closed"
    await burst(app)
    told = await citizen.say("你好")
    assert "改由" in told and "因“场地检修”取消" in told
    sent = [(str(c["chat_id"]), c["text"]) for c in telegram.calls_to("/sendMessage")]
    assert any(chat == chats[newcomer] and "【接待安排】" in text for chat, text in sent)
    assert any(chat == chats[newcomer] and "【接待取消】" in text for chat, text in sent)
    [booking] = await query(app, select(Booking).where(Booking.number == number))
    assert booking.status == "closed"

    # Outcomes of a session held in the last weeks, recorded by its deputy and by staff over the API. Three
    # weeks to choose from, ending four days ago: whatever the date, some of them are not public holidays.
    services = app.state.runtime
    past = clock.now() - dt.timedelta(days=24)
    async with services.sessionmaker() as session:
        await reception.ensure_sessions(session, services.deployment, services.calendar, past)
        rows = await ReceptionStore(session).sessions_between(
            past.astimezone(LOCAL).date(), past.astimezone(LOCAL).date() + dt.timedelta(days=20)
        )
        held = next(r for r in rows if not r.closed and r.slots[-1].booked <= r.slots[-1].capacity - 2)
        last_slot, on_duty, held_day = held.slots[-1].id, list(held.deputies), held.day
        numbers = []
        for i, topic in enumerate(("孩子上学路上没有红绿灯", "楼道里的电动车充电有火灾隐患")):
            party = await ConversationStore(session).identify("web", f"{user_id}-past-{i}")
            await session.commit()
            booking, _ = await reception.book(
                session, services.deployment, party, last_slot, topic, None, held.starts_at - dt.timedelta(days=2)
            )
            numbers.append(booking.number)
    first = {"authorization": f"Bearer {deputy_tokens[on_duty[0]]}"}
    answered = await client.post(
        f"/api/reception/bookings/{numbers[0]}/outcome",
        json={"outcome": "answered", "answer": "已联系交警，下月安装信号灯。"},
        headers=first,
    )
    assert answered.status_code == 200 and answered.json()["received_by"] == on_duty[0]
    # Staff name the deputy, as they must when several were on duty (a Thursday, the 议事日): the booking's
    # outcome is then refused only because it is recorded already.
    twice = await client.post(
        f"/api/reception/bookings/{numbers[0]}/outcome",
        json={"outcome": "attended", "deputy": on_duty[0]},
        headers=staff,
    )
    assert twice.status_code == 409 and twice.json()["code"] == "outcome_recorded"
    case = await client.post(
        f"/api/reception/bookings/{numbers[1]}/outcome", json={"outcome": "case", "deputy": on_duty[-1]}, headers=staff
    )
    assert case.status_code == 200, case.text
    case_no = case.json()["case_no"]
    [opened] = await query(app, select(Case).where(Case.number == case_no))
    async with services.sessionmaker() as session:
        deputy_ids = await DirectoryStore(session).ids(Deputy)
    assert opened.deputy_id == deputy_ids[on_duty[-1]] and opened.state == "received"
    assert "楼道里的电动车" in opened.description and opened.topic != ""
    # The deputy's act at the reception, not the citizen's online report: its source, its actor, its place.
    assert opened.source == "reception" and opened.place == "示范街道人大代表联络站（接待时反映）"
    [registered] = await query(app, select(CaseEvent).where(CaseEvent.case_id == opened.id))
    assert (registered.action, registered.actor_role) == ("register", "deputy")
    # A user of the deputy's own (staff recorded it for them); other tests may have given that deputy users too.
    deputy_users = await query(app, select(User.name).where(User.deputy_id == deputy_ids[on_duty[-1]]))
    assert registered.actor in deputy_users
    assert f"代表接待群众时登记（预约号 {numbers[1]}）" in registered.reason and "代为录入" in registered.reason
    assert registered.detail["booking"] == numbers[1] and registered.detail["deputy"] == on_duty[-1]
    year = held_day.year
    record = (await client.get(f"/api/deputies/{on_duty[0]}/record", params={"year": year}, headers=staff)).json()
    rules = {(p["rule"], p["case_no"]) for p in record["points"]}
    assert ("reception_duty", f"reception:{held_day.isoformat()}:demo") in rules
    assert ("reception_answer", numbers[0]) in rules

    # The CLI shows the same store.
    env = {
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "LIAISON_REDIS_PREFIX": settings.redis_prefix,
    }
    slots = _run(["reception", "slots", "--from", ahead["day"], "--days", "1"], env)
    assert key in slots.stdout and "已关闭：场地检修" in slots.stdout, slots.stderr
    listed = _run(["reception", "bookings", "--from", held_day.isoformat(), "--days", "1"], env)
    assert numbers[0] in listed.stdout and "当场解答" in listed.stdout
    refused = _run(["reception", "outcome", numbers[1], "attended", "--as", "nobody-at-all"], env)
    assert refused.returncode != 0 and "没有用户" in refused.stderr


@pytest.mark.dated
async def test_the_morning_digest_masks_numbers_in_the_matter_and_keeps_a_call_back_number(
    station,  # noqa: F811
    user_id,
    clock,
):
    app, client, tokens = station
    services = app.state.runtime
    ahead = await open_session_ahead(station, {"authorization": f"Bearer {tokens['staff1']}"}, clock.today())
    day = dt.date.fromisoformat(ahead["day"])
    matters = (
        ("小区停车难，物业电话 0571-8888 1234，我的手机 138 1234 5678，身份证11010119900307123X", None),
        ("楼下的路灯一直不亮", "13912345678"),  # left at the phone step: a call-back asked for
    )
    async with services.sessionmaker() as session:
        [row] = [r for r in await ReceptionStore(session).sessions_between(day, day) if r.key == ahead["key"]]
        slot_id, on_duty = row.slots[0].id, len(row.deputies)
        for i, (topic, phone) in enumerate(matters):
            party = await ConversationStore(session).identify("web", f"{user_id}-digest-{i}")
            await session.commit()
            await reception.book(session, services.deployment, party, slot_id, topic, phone, clock.now())
        digest_at = dt.datetime.combine(day, dt.time(7, 30), tzinfo=LOCAL)
        assert await reception.queue_reminders(session, services.deployment, digest_at) >= on_duty
    digests = await query(app, select(Push).where(Push.dedupe_key.like(f"reception:{ahead['key']}:digest:%")))
    assert digests
    for digest in digests:
        assert "【今日接待】" in digest.text and "小区停车难" in digest.text and "楼下的路灯一直不亮" in digest.text
        for raw in ("0571-8888 1234", "138 1234 5678", "11010119900307123X", "8888 1234", "1234 5678"):
            assert raw not in digest.text, digest.text
        assert "（回电 13912345678）" in digest.text


def ahead_codes(session: dict) -> set[str]:
    return {d["code"] for d in session["deputies"]}


async def test_fifty_citizens_race_for_the_last_place_of_a_slot(postgres_url, real_redis_url, var_dir, rasa_url, clock):
    """On PostgreSQL: the last place goes to exactly one; the others are offered the waiting list."""
    settings = make_settings(postgres_url, real_redis_url, var_dir, rasa_url=rasa_url)
    bot, close = await build_dispatcher(settings, RasaParser(rasa_url, 30.0, RASA_TOKEN))
    # A Monday of a week no other test books in (the run's tests share the database), no public holiday near it.
    clock.freeze(dt.datetime(2031, 11, 3, 10, 0, tzinfo=LOCAL))
    bot.clock = clock
    run = uuid.uuid4().hex[:6]
    try:

        async def to_confirmation(user: str) -> None:
            assert "1. 11月4日（周二）09:00-09:30" in await say(bot, user, "11月4日上午9点有代表吗")
            await say(bot, user, "1")
            await say(bot, user, "想反映小区物业的问题")
            assert "请确认预约" in await say(bot, user, "不用")

        for i in range(2):  # two of the three places go first
            await to_confirmation(f"early-{run}-{i}")
            assert "预约成功" in await say(bot, f"early-{run}-{i}", "确认")
        racers = [f"racer-{run}-{i}" for i in range(50)]
        await asyncio.gather(*[to_confirmation(user) for user in racers])
        answers = await asyncio.gather(*[say(bot, user, "确认") for user in racers])
        won = [a for a in answers if "预约成功" in a]
        lost = [a for a in answers if "刚刚被约满了" in a and "回复“候补”" in a]
        assert len(won) == 1 and len(lost) == 49
        async with bot.sessionmaker() as session:
            slot = (
                await session.execute(
                    select(ReceptionSlot)
                    .join(ReceptionSession)
                    .where(ReceptionSession.key == "demo:2031-11-04:0900")
                    .order_by(ReceptionSlot.starts_at)
                    .limit(1)
                )
            ).scalar_one()
            booked = (
                await session.execute(
                    select(func.count())
                    .select_from(Booking)
                    .where(Booking.slot_id == slot.id, Booking.status == "booked")
                )
            ).scalar_one()
            numbers = (await session.execute(select(Booking.number).where(Booking.slot_id == slot.id))).scalars().all()
        assert slot.booked == slot.capacity == booked == 3 and len(set(numbers)) == len(numbers) == 3

        losers = [user for user, answer in zip(racers, answers, strict=True) if "刚刚被约满了" in answer]
        summaries = await asyncio.gather(*[say(bot, user, "候补") for user in losers])
        assert all("请确认排队候补" in s for s in summaries)
        queued = await asyncio.gather(*[say(bot, user, "确认") for user in losers])
        assert all("排第" in q for q in queued)
        async with bot.sessionmaker() as session:
            waits = (
                (
                    await session.execute(
                        select(BookingWait).where(BookingWait.slot_id == slot.id).order_by(BookingWait.id)
                    )
                )
                .scalars()
                .all()
            )
        assert len(waits) == 49 and len({w.citizen_id for w in waits}) == 49
        assert {w.status for w in waits} == {"waiting"}
    finally:
        await close()
