"""Booking a reception slot in the chat, on SQLite and an embedded Redis, with a scripted intent parser and a
clock set to Monday 23 November 2026, 10:00 Beijing time (a Tuesday and a Thursday session that week;
Thursday 26 is also the 议事日)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from casework.actors import Actor
from casework.cases import Role
from casework.deadlines import LOCAL
from casework.points import points_of
from services import reception
from storage.db import upgrade
from storage.models import Booking, BookingWait, Deputy, Push, ReceptionSession, ReceptionSlot
from storage.repositories import DirectoryStore, UserStore
from tests.conftest import make_settings
from tests.factories import ScriptedParser, build_dispatcher, say

MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=LOCAL)
SCRIPT = {
    "有代表": ("book_reception", 0.93, []),
    "预约见代表": ("book_reception", 0.97, []),
    "我要预约": ("book_reception", 0.96, []),
    "取消预约": ("cancel_booking", 0.95, []),
    "我去不了": ("cancel_booking", 0.9, []),
}
NUMBER = re.compile(r"预约号 (YY\d+)")


@pytest.fixture
async def station(tmp_path, var_dir, clock):
    """A dispatcher on its own database (bookings fill slots), with every deputy bound to a Telegram chat."""
    url = f"sqlite:///{tmp_path / 'liaison.db'}"
    upgrade(url)
    dispatcher, close = await build_dispatcher(make_settings(url, "embedded", var_dir), ScriptedParser(SCRIPT))
    clock.freeze(MONDAY)
    dispatcher.clock = clock
    async with dispatcher.sessionmaker() as session:
        users = UserStore(session)
        for code, deputy_id in (await DirectoryStore(session).ids(Deputy)).items():
            user, _ = await users.add(name=f"{code}@telegram", role="deputy", deputy_id=deputy_id)
            user.channel, user.address = "telegram", f"chat-{code}"
        await session.commit()
    yield dispatcher, clock
    await close()


async def rows(bot, query):
    async with bot.sessionmaker() as session:
        return (await session.execute(query.execution_options(populate_existing=True))).scalars().all()


async def book(bot, user, asked="这周四下午有代表吗", choice="1", topic="小区停车位太少，想和代表当面谈谈") -> str:
    """The whole booking in five messages; return the booking number."""
    proposals = await say(bot, user, asked)
    assert "1. " in proposals, proposals
    assert "想和代表谈什么" in await say(bot, user, choice)
    assert "手机号" in await say(bot, user, topic)
    assert "请确认预约" in await say(bot, user, "不用")
    done = await say(bot, user, "确认")
    assert "预约成功" in done, done
    return NUMBER.search(done).group(1)


async def test_a_citizen_books_a_slot_and_the_deputies_on_duty_hear_of_it_at_once(station, user_id):
    bot, _ = station
    proposals = await say(bot, user_id, "这周四下午有代表吗")
    assert proposals.startswith("11月26日（周四）下午可以预约的接待时段：")
    assert "1. 11月26日（周四）14:30-15:00" in proposals and "代表（余3个名额）" in proposals
    assert "09:00" not in proposals  # the morning's 议事日 does not answer "下午"
    assert "11月26日（周四）15:00-15:30" in await say(bot, user_id, "2")
    assert "手机号" in await say(bot, user_id, "想反映小区加装电梯的事")
    summary = await say(bot, user_id, "我的电话是13800138000")
    assert "时间：11月26日（周四）15:00-15:30" in summary and "138****8000" in summary
    assert "人民路88号" in summary and "13800138000" not in summary
    done = await say(bot, user_id, "确认")
    assert "预约成功！预约号 YY20261123001" in done and "示范区示范街道人民路88号" in done
    [booking] = await rows(bot, select(Booking))
    assert booking.status == "booked" and booking.phone == "13800138000" and booking.week == "2026-W48"
    slot = (await rows(bot, select(ReceptionSlot).where(ReceptionSlot.id == booking.slot_id)))[0]
    assert slot.booked == 1 and slot.starts_at == dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)
    pushes = await rows(bot, select(Push).where(Push.recipient_type == "deputy"))
    assert len(pushes) == 2 and {p.status for p in pushes} == {"queued"}  # two deputies on duty on Thursdays
    assert all("【新预约】11月26日（周四）15:00-15:30" in p.text and "13800138000" in p.text for p in pushes)


async def test_one_booking_a_week_and_a_change_moves_it(station, user_id):
    bot, _ = station
    first = await book(bot, user_id)
    again = await say(bot, user_id, "这周四下午有代表吗")
    assert "这一周已有预约" in again and "12月" in again and "11月26日" not in again.split("\n", 1)[1]
    assert "已取消" in await say(bot, user_id, "取消")
    assert "改到什么时间" in await say(bot, user_id, "改约")
    proposals = await say(bot, user_id, "下周二上午")
    assert proposals.startswith("12月1日（周二）上午可以预约的接待时段")
    summary = await say(bot, user_id, "3")
    assert "原时间：11月26日（周四）14:30-15:00" in summary and "新时间：12月1日（周二）10:00-10:30" in summary
    moved = await say(bot, user_id, "确认")
    assert f"原预约 {first} 已取消" in moved
    bookings = await rows(bot, select(Booking).order_by(Booking.id))
    assert [(b.status, b.week) for b in bookings] == [("moved", "2026-W48"), ("booked", "2026-W49")]
    assert bookings[0].moved_to_id == bookings[1].id and bookings[1].topic == bookings[0].topic
    slots = {s.id: s.booked for s in await rows(bot, select(ReceptionSlot))}
    assert slots[bookings[0].slot_id] == 0 and slots[bookings[1].slot_id] == 1
    texts = [p.text for p in await rows(bot, select(Push).where(Push.recipient_type == "deputy"))]
    assert any(t.startswith("【改约】11月26日") and "已改约到 12月1日" in t for t in texts)
    assert any(t.startswith("【改约】由 11月26日") for t in texts)


async def test_cancelling_before_the_cutoff_frees_the_place_and_after_it_is_refused(station, user_id):
    bot, clock = station
    number = await book(bot, user_id)
    clock.freeze(dt.datetime(2026, 11, 26, 12, 31, tzinfo=LOCAL))  # 14:30 less two hours, and a minute
    refused = await say(bot, user_id, "我去不了了")
    assert "确定取消" in refused
    refused = await say(bot, user_id, "确认取消")
    assert "不足2小时，无法在线取消或改约" in refused and "0000-12345678" in refused
    assert "不足2小时" in await say(bot, user_id, "改约")
    [booking] = await rows(bot, select(Booking))
    assert booking.status == "booked"

    other = user_id + "-b"
    clock.freeze(MONDAY)
    second = await book(bot, other, choice="2")
    clock.freeze(dt.datetime(2026, 11, 25, 9, 0, tzinfo=LOCAL))
    assert f"（{second}）" in await say(bot, other, "取消预约")
    assert f"已取消预约 {second}" in await say(bot, other, "确认取消")
    cancelled = (await rows(bot, select(Booking).where(Booking.number == second)))[0]
    slot = (await rows(bot, select(ReceptionSlot).where(ReceptionSlot.id == cancelled.slot_id)))[0]
    assert cancelled.status == "cancelled" and slot.booked == 0
    assert "没有有效的预约" in await say(bot, other, "取消预约")
    assert number != second


async def test_a_reply_to_the_reminder_cancels_at_once(station, user_id):
    bot, clock = station
    number = await book(bot, user_id)
    reminded_at = dt.datetime(2026, 11, 26, 12, 30, tzinfo=LOCAL)
    async with bot.sessionmaker() as session:
        # The citizen's reminder, and the digest to each of the two deputies of the afternoon.
        assert await reception.queue_reminders(session, bot.deployment, reminded_at) == 3
    [reminder] = await rows(bot, select(Push).where(Push.recipient_type == "citizen"))
    assert "今天 14:30 开始" in reminder.text and reminder.buttons == ["取消"]
    clock.freeze(reminded_at + dt.timedelta(minutes=10))
    assert f"已取消预约 {number}" in await say(bot, user_id, "取消")
    [booking] = await rows(bot, select(Booking))
    assert booking.status == "cancelled" and booking.cancel_reason == "群众回复提醒取消"


async def test_a_full_slot_offers_the_waiting_list_promoted_in_order_with_a_time_limit(station, user_id):
    bot, clock = station
    holders = [await book(bot, f"{user_id}-{i}") for i in range(3)]
    full = await say(bot, f"{user_id}-w1", "这周四下午两点半有代表吗")
    assert "14:30-15:00已经约满" in full and "回复“候补”" in full
    assert "想和代表谈" in await say(bot, f"{user_id}-w1", "候补")
    await say(bot, f"{user_id}-w1", "噪音扰民的事")
    assert "请确认排队候补" in await say(bot, f"{user_id}-w1", "13900001111")
    assert "目前排第 1 位" in await say(bot, f"{user_id}-w1", "确认")
    await say(bot, f"{user_id}-w2", "周四下午两点半有代表吗")
    for text in ("候补", "路灯不亮", "不用"):
        await say(bot, f"{user_id}-w2", text)
    assert "目前排第 2 位" in await say(bot, f"{user_id}-w2", "确认")

    clock.freeze(dt.datetime(2026, 11, 24, 9, 0, tzinfo=LOCAL))
    await say(bot, f"{user_id}-0", "取消预约")
    await say(bot, f"{user_id}-0", "确认取消")
    offers = await rows(bot, select(Push).where(Push.dedupe_key.like("wait:%:offer:%")))
    assert len(offers) == 1 and "有空位了" in offers[0].text and "11月24日 11:00" in offers[0].text
    taken = await say(bot, f"{user_id}-w1", "接受")
    assert "预约成功" in taken and "14:30-15:00" in taken

    await say(bot, f"{user_id}-1", "取消预约")
    await say(bot, f"{user_id}-1", "确认取消")
    waits = await rows(bot, select(BookingWait).order_by(BookingWait.id))
    assert [w.status for w in waits] == ["booked", "offered"]
    async with bot.sessionmaker() as session:
        assert await reception.expire_offers(session, bot.deployment, clock.now() + dt.timedelta(minutes=119)) == 0
        assert await reception.expire_offers(session, bot.deployment, clock.now() + dt.timedelta(minutes=121)) == 1
    clock.advance(minutes=125)
    assert "已过确认时间" in await say(bot, f"{user_id}-w2", "接受")
    waits = await rows(bot, select(BookingWait).order_by(BookingWait.id))
    assert [w.status for w in waits] == ["booked", "expired"]
    booked = await rows(bot, select(Booking).where(Booking.status == "booked"))
    slot = (await rows(bot, select(ReceptionSlot).where(ReceptionSlot.id == booked[0].slot_id)))[0]
    assert slot.booked == len(booked) == 2 and holders[2] in {b.number for b in booked}


async def test_booking_goes_on_while_the_nlu_is_down(station, user_id):
    bot, _ = station
    bot.understanding.parser.down = True
    proposals = await say(bot, user_id, "我想预约明天上午")
    assert proposals.startswith("11月24日（周二）上午可以预约的接待时段")
    assert "想和代表谈" in await say(bot, user_id, "第二个")
    await say(bot, user_id, "社区活动室的事")
    await say(bot, user_id, "不用")
    assert "预约号" in await say(bot, user_id, "确认")


async def test_the_menu_and_abandoning(station, user_id):
    bot, _ = station
    assert "近期可以预约的接待时段" in await say(bot, user_id, "5")
    assert "请回复列表中的序号" in await say(bot, user_id, "随便")
    assert "本次预约已取消" in await say(bot, user_id, "算了")
    assert await rows(bot, select(Booking)) == []


async def test_a_change_given_up_keeps_the_booking_and_a_place_in_line_can_be_given_up(station, user_id):
    bot, _ = station
    number = await book(bot, user_id)
    assert "改到什么时间" in await say(bot, user_id, "我想改个时间")
    assert f"原预约 {number}（11月26日（周四）14:30-15:00）保留不变" in await say(bot, user_id, "算了")
    [booking] = await rows(bot, select(Booking))
    assert booking.status == "booked"

    for i in range(2):
        await book(bot, f"{user_id}-{i}")
    waiting = f"{user_id}-w"
    assert "已经约满" in await say(bot, waiting, "周四下午两点半有代表吗")
    for text in ("候补", "想问问老旧小区改造", "不用"):
        await say(bot, waiting, text)
    assert "排第 1 位" in await say(bot, waiting, "确认")
    assert "确定取消" not in (listed := await say(bot, waiting, "取消预约")) and "候补排队" in listed
    assert "已取消您对 11月26日（周四）14:30-15:00 的候补排队" in await say(bot, waiting, "1")
    assert [w.status for w in await rows(bot, select(BookingWait))] == ["withdrawn"]


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    return dt.datetime(year, 1, 1, tzinfo=LOCAL), dt.datetime(year + 1, 1, 1, tzinfo=LOCAL)


async def test_a_session_of_late_december_recorded_in_january_counts_in_the_year_it_was_held(station, user_id):
    bot, clock = station
    clock.freeze(dt.datetime(2026, 12, 28, 9, 0, tzinfo=LOCAL))  # Monday of the year's last week
    number = await book(bot, user_id)  # this Thursday afternoon: 31 December
    clock.freeze(dt.datetime(2027, 1, 4, 9, 0, tzinfo=LOCAL))  # the outcome is recorded after New Year's Day
    async with bot.sessionmaker() as session:
        [held] = (
            (await session.execute(select(ReceptionSession).join(Booking).where(Booking.number == number)))
            .scalars()
            .all()
        )
        deputy = held.deputies[0]
        await reception.record_outcome(
            session,
            bot.deployment,
            bot.calendar,
            number,
            "attended",
            Actor(name="staff1", role=Role.STAFF),
            clock.now(),
            deputy_code=deputy,
        )
        deeds_2026 = await reception.reception_deeds(session, bot.deployment, *year_bounds(2026))
        deeds_2027 = await reception.reception_deeds(session, bot.deployment, *year_bounds(2027))
    rules = bot.deployment.points.rules
    assert [(p.rule, p.ref) for p in points_of(deputy, deeds_2026, rules, 2026)] == [
        ("reception_duty", "reception:2026-12-31:demo")
    ]
    assert points_of(deputy, deeds_2027, rules, 2027) == []
