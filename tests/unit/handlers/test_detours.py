"""Issue 12: a citizen never gets stuck, and answers are read as people give them. The flows on SQLite and an
embedded Redis with a scripted intent parser, the clock at Monday 23 November 2026, 10:00 (Beijing)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from casework.deadlines import LOCAL
from storage.db import upgrade
from storage.models import Booking, Case, CaseEvent, HumanRequest
from tests.conftest import make_settings
from tests.factories import ScriptedParser, build_dispatcher, say

MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=LOCAL)
SCRIPT = {
    "预约见代表": ("book_reception", 0.97, []),
    "我的案件": ("ask_progress", 0.96, []),
    "你好": ("greet", 0.99, []),
    "转人工": ("request_human", 0.99, []),
    "几点下班": ("ask_station_info", 0.99, []),
    "再见": ("goodbye", 0.95, []),
    "谢谢": ("thank", 0.98, []),
    "有代表": ("book_reception", 0.93, []),
    "路灯": ("report_issue", 0.97, []),
    "井盖": ("report_issue", 0.95, []),
    "垃圾": ("report_issue", 0.95, []),
    "停车": ("report_issue", 0.9, []),
    "不用了": ("deny", 0.99, []),
    "可以": ("affirm", 0.95, []),
}
LIGHT = "我家楼下的路灯坏了快一个星期了，晚上黑漆漆的"
CASE_NUMBER = re.compile(r"编号 (LL\d+)")
BOOKING_NUMBER = re.compile(r"预约号 (YY\d+)")


@pytest.fixture
async def bot(tmp_path, var_dir, clock):
    url = f"sqlite:///{tmp_path / 'liaison.db'}"
    upgrade(url)
    dispatcher, close = await build_dispatcher(make_settings(url, "embedded", var_dir), ScriptedParser(SCRIPT))
    clock.freeze(MONDAY)
    dispatcher.clock = clock
    yield dispatcher
    await close()


async def rows(bot, query):
    async with bot.sessionmaker() as session:
        return (await session.execute(query.execution_options(populate_existing=True))).scalars().all()


async def to_summary(bot, user, text=LIGHT, place="幸福路18号阳光小区东门") -> str:
    assert "在哪里" in await say(bot, user, text)
    assert "是否同意" in await say(bot, user, place)
    summary = await say(bot, user, "2")
    assert "请核对" in summary
    return summary


async def register(bot, user, text=LIGHT, place="幸福路18号阳光小区东门") -> str:
    await to_summary(bot, user, text, place)
    return CASE_NUMBER.search(await say(bot, user, "确认")).group(1)


async def test_at_the_summary_other_requests_are_not_swallowed_and_the_report_waits(bot, user_id):
    """Item 1: "我想预约见代表", "我的案件", "你好", "转人工" and a stale "3" at the summary."""
    await to_summary(bot, user_id)
    proposals = await say(bot, user_id, "我想预约见代表")
    assert "可以预约的接待时段" in proposals and "已补充" not in proposals
    left = await say(bot, user_id, "算了")
    assert "本次预约已取消" in left and "您还有一条未提交的反映，回复“继续”接着填写" in left
    assert "请核对" in await say(bot, user_id, "继续")
    greeted = await say(bot, user_id, "你好")
    assert greeted.startswith("您好！") and "还没有提交" in greeted and "已补充" not in greeted
    progress = await say(bot, user_id, "我的案件")
    assert "还没有反映过问题" in progress and "未提交的反映" in progress
    assert "请核对" in await say(bot, user_id, "继续")
    stale = await say(bot, user_id, "3")
    assert "没看明白“3”" in stale and "已补充" not in stale
    person = await say(bot, user_id, "转人工")
    assert "已为您转接工作人员" in person and "未提交的反映" in person
    assert "请核对" in await say(bot, user_id, "继续")
    number = CASE_NUMBER.search(await say(bot, user_id, "确认")).group(1)
    [case] = await rows(bot, select(Case).where(Case.number == number))
    assert case.description == LIGHT
    assert len(await rows(bot, select(HumanRequest))) == 1


async def test_a_request_for_a_person_works_at_every_question(bot, user_id):
    """Item 1: 转人工 at any step of a report or a booking; the unfinished one is kept."""
    steps = {
        "description": ["反映问题"],
        "place": [LIGHT],
        "contact": [LIGHT, "幸福路18号"],
        "phone": [LIGHT, "幸福路18号", "1"],
        "edit": [LIGHT, "幸福路18号", "2", "修改"],
        "choose": ["我想预约见代表"],
        "topic": ["我想预约见代表", "1"],
        "booking phone": ["我想预约见代表", "1", "想谈谈停车"],
        "booking summary": ["我想预约见代表", "1", "想谈谈停车", "不用"],
    }
    for step, before in steps.items():
        user = f"{user_id}-{len(before)}-{step}"
        for text in before:
            await say(bot, user, text)
        assert "已为您转接工作人员" in await say(bot, user, "转人工"), step
    assert len(await rows(bot, select(HumanRequest))) == len(steps)


async def test_the_place_must_be_a_place(bot, user_id):
    """Item 2: "联络站几点下班" is answered, a menu digit is refused, then the real place is taken."""
    assert "在哪里" in await say(bot, user_id, "路灯坏了好几天了")
    hours = await say(bot, user_id, "联络站几点下班")
    assert "开放时间" in hours and "我们接着刚才的反映" in hours and "在哪里" in hours
    digit = await say(bot, user_id, "1")
    assert "“1”好像不是一个地点" in digit and "在哪里" in digit
    assert "说个大概就行" in await say(bot, user_id, "不知道")
    assert "是否同意" in await say(bot, user_id, "幸福路22号")
    summary = await say(bot, user_id, "2")
    assert "地点：幸福路22号" in summary and "联络站几点下班" not in summary


async def test_the_booking_topic_must_be_a_topic(bot, user_id):
    """Item 2: "你好" at the booking's topic question is a greeting, not 事由：你好."""
    await say(bot, user_id, "我想预约见代表")
    assert "想和代表谈什么" in await say(bot, user_id, "1")
    hello = await say(bot, user_id, "你好")
    assert hello.startswith("您好！") and "想和代表谈什么" in hello
    assert "比如“小区停车难”" in await say(bot, user_id, "2")
    assert "手机号" in await say(bot, user_id, "想谈谈停车难")
    summary = await say(bot, user_id, "不用了")
    assert "事由：想谈谈停车难" in summary and "事由：你好" not in summary


async def test_the_openings(bot, user_id):
    """Item 3: the greeting's own first option and the wish to report say nothing of the problem yet;
    Telegram's /start opens the chat."""
    for i, opening in enumerate(("反映问题", "我要反映问题", "我想投诉", "我要举报")):
        user = f"{user_id}-{i}"
        assert "请说说您遇到的问题" in await say(bot, user, opening), opening
        assert "在哪里" in await say(bot, user, "小区门口的井盖丢了")
        assert "是否同意" in await say(bot, user, "幸福路18号")
        summary = await say(bot, user, "2")
        assert "问题：小区门口的井盖丢了\n" in summary, opening
    welcome = await say(bot, f"{user_id}-t", "/start", channel="telegram")
    assert "欢迎来到" in welcome and "1. 反映问题" in welcome
    deputy = await say(bot, f"{user_id}-d", "/start deputy-wang-min", channel="telegram")
    assert "您正在联系 王敏 代表" in deputy
    assert "查询进度" in await say(bot, f"{user_id}-h", "/help", channel="telegram")
    in_flow = await say(bot, f"{user_id}-t", "路灯坏了好几天了", channel="telegram")
    assert "在哪里" in in_flow
    again = await say(bot, f"{user_id}-t", "/start", channel="telegram")
    assert again.startswith("您好！") and "在哪里" in again


async def test_no_call_back_at_the_booking_is_no_call_back(bot, user_id):
    """Item 4: "不用了" (and "算了", "不留") at the call-back question keeps the booking, without a phone."""
    for i, answer in enumerate(("不用了", "算了", "不留")):
        user = f"{user_id}-{i}"
        await say(bot, user, "这周四下午有代表吗")
        await say(bot, user, str(i + 1))
        assert "手机号" in await say(bot, user, "想谈谈停车难")
        summary = await say(bot, user, answer)
        assert "请确认预约" in summary and "回电：不需要" in summary, answer
        assert "预约成功" in await say(bot, user, "确认")
    bookings = await rows(bot, select(Booking))
    assert len(bookings) == 3 and {b.phone for b in bookings} == {None}


async def test_additions_go_to_the_case_the_citizen_picks(bot, user_id):
    """Item 5: 补充 with several open cases asks which; 地点改为 after registering adds to the case; 我的预约
    lists the bookings."""
    first = await register(bot, user_id, "楼道里的垃圾一周没人清运了，臭气熏天", "阳光小区5栋")
    which = await say(bot, user_id, "地点改为阳光小区6栋")
    assert "更正哪一件" not in which and f"加入案件 {first}" in which
    second = await register(bot, user_id)
    asked = await say(bot, user_id, "补充：垃圾桶也坏了")
    assert "要补充到哪一件" in asked and f"1. {second}" in asked and f"2. {first}" in asked
    assert "请回复序号" in await say(bot, user_id, "随便哪个")
    assert f"加入案件 {first}" in await say(bot, user_id, "垃圾那个")
    assert "要更正哪一件" in await say(bot, user_id, "地址应该是幸福路20号")
    assert f"加入案件 {second}" in await say(bot, user_id, "第一个")
    events = await rows(bot, select(CaseEvent).where(CaseEvent.action == "add_info").order_by(CaseEvent.id))
    added = [e.reason.split("：", 1)[1] for e in events]  # 群众补充情况：…
    assert added == ["地点更正为：阳光小区6栋", "垃圾桶也坏了", "地点更正为：幸福路20号"]
    assert len(await rows(bot, select(Case))) == 2  # the place correction started no report

    booker = f"{user_id}-b"  # another citizen: one's messages a minute are limited
    assert "没有有效的预约" in await say(bot, booker, "我的预约")
    await say(bot, booker, "这周四下午有代表吗")
    await say(bot, booker, "1")
    await say(bot, booker, "想谈谈停车难")
    await say(bot, booker, "不用了")
    number = BOOKING_NUMBER.search(await say(bot, booker, "确认")).group(1)
    listed = await say(bot, booker, "我的预约")
    assert "您的预约" in listed and number in listed and "确定取消" not in listed
    assert [b.status for b in await rows(bot, select(Booking))] == ["booked"]


async def test_answers_as_people_give_them(bot, user_id):
    """Item 6: 可以/行/嗯/好的 are yes; 第一个, 周四那个 pick from a list; 不用了/不留/算了 where they fit."""
    for i, yes in enumerate(("可以", "行", "嗯", "好的")):
        user = f"{user_id}-{i}"
        await to_summary(bot, user)
        assert "已受理，编号" in await say(bot, user, yes), yes
    assert "在哪里" in await say(bot, f"{user_id}-c", LIGHT)
    assert "是否同意" in await say(bot, f"{user_id}-c", "幸福路18号")
    assert "请核对" in await say(bot, f"{user_id}-c", "不用了")  # no contact, not the end of the report
    await say(bot, f"{user_id}-p", LIGHT)
    await say(bot, f"{user_id}-p", "幸福路18号")
    assert "手机号码" in await say(bot, f"{user_id}-p", "嗯")
    assert "联系：不需要联系" in await say(bot, f"{user_id}-p", "不留")

    await say(bot, user_id, "这周四下午有代表吗")
    assert "您选择了 11月26日（周四）14:30-15:00" in await say(bot, user_id, "第一个")
    await say(bot, user_id, "想谈谈停车难")
    await say(bot, user_id, "不用了")
    assert "预约成功" in await say(bot, user_id, "行")
    await say(bot, user_id, "下周二上午有代表吗")
    await say(bot, user_id, "1")
    await say(bot, user_id, "想谈谈停车难")
    await say(bot, user_id, "不用了")
    assert "预约成功" in await say(bot, user_id, "嗯")
    listed = await say(bot, user_id, "取消预约")
    assert "1. 11月26日（周四）14:30-15:00" in listed and "2. 12月1日（周二）09:00-09:30" in listed
    assert "确定取消 11月26日（周四）14:30-15:00" in await say(bot, user_id, "周四那个")
    assert "已取消预约" in await say(bot, user_id, "可以")
    assert "确定取消 12月1日（周二）09:00-09:30" in await say(bot, user_id, "取消预约")
    assert "好的，预约" in await say(bot, user_id, "算了")  # kept
    assert [b.status for b in await rows(bot, select(Booking).order_by(Booking.id))] == ["cancelled", "booked"]


async def test_the_once_a_week_refusal_names_the_week_and_a_past_day_is_asked_about(bot, user_id):
    """Item 6b: the week named is the one asked for, with the booking in it; "11月20日" is not next year's."""
    await say(bot, user_id, "下周二上午有代表吗")
    await say(bot, user_id, "1")
    await say(bot, user_id, "想谈谈停车难")
    await say(bot, user_id, "不用了")
    next_week = BOOKING_NUMBER.search(await say(bot, user_id, "确认")).group(1)
    await say(bot, user_id, "这周四下午有代表吗")
    await say(bot, user_id, "1")
    await say(bot, user_id, "想谈谈停车难")
    await say(bot, user_id, "不用了")
    this_week = BOOKING_NUMBER.search(await say(bot, user_id, "确认")).group(1)
    refused = await say(bot, user_id, "这周二上午有代表吗")
    head = refused.split("\n")[0]
    assert "11月23日至11月29日这一周已有预约" in head and this_week in head and next_week not in head
    assert "本次预约已取消" in await say(bot, user_id, "算了")
    past = await say(bot, f"{user_id}-past", "11月20日有代表吗")
    assert past.startswith("11月20日（周五）今年已经过去了，请问您想约哪一天？") and "2027" not in past


async def test_a_location_replaces_a_place_read_from_the_text(bot, user_id):
    """Item 7: a location sent later takes the place of one read from the text, not of one typed as the answer."""
    asked = await say(bot, user_id, "幸福路上的路灯坏了好几天了")
    assert "是否同意" in asked  # 幸福路 read from the text
    located = await say(bot, user_id, kind="location", latitude=28.2, longitude=112.9, label="示范区幸福路166号东侧")
    assert "示范区幸福路166号东侧" in located
    assert "地点：示范区幸福路166号东侧" in await say(bot, user_id, "2")
    other = f"{user_id}-typed"
    await say(bot, other, LIGHT)
    await say(bot, other, "阳光小区东门")
    await say(bot, other, kind="location", latitude=28.2, longitude=112.9, label="示范区某处")
    assert "地点：阳光小区东门" in await say(bot, other, "2")


async def test_a_goodbye_keeps_the_report_and_nothing_to_resume_is_said_so(bot, user_id):
    assert "在哪里" in await say(bot, user_id, LIGHT)
    left = await say(bot, user_id, "再见")
    assert "再见" in left and "未提交的反映" in left
    assert "在哪里" in await say(bot, user_id, "继续")
    assert "是否同意" in await say(bot, user_id, "幸福路18号")
    assert "目前没有需要接着填写的内容" in await say(bot, f"{user_id}-none", "继续")
    await say(bot, user_id, "我的案件")
    assert "没提交的内容已放弃" in await say(bot, user_id, "不用了")
    assert "目前没有需要接着填写的内容" in await say(bot, user_id, "继续")


async def test_a_citizen_who_needs_a_moment_or_gives_up(bot, user_id):
    assert "在哪里" in await say(bot, user_id, LIGHT)
    assert "不着急" in await say(bot, user_id, "等一下")
    assert "是否同意" in await say(bot, user_id, "幸福路18号")
    await say(bot, user_id, "2")
    assert "本次反映已取消" in await say(bot, user_id, "我不想说了")
    assert await rows(bot, select(Case)) == []
