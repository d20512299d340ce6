"""The conversation flows on real SQLite and an embedded Redis, with a scripted intent parser."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from casework.cases import format_case_number
from casework.privacy import mask_text
from services import access
from services.conversations import Inbound, TurnEnd, TurnStart
from storage.models import Case, CaseAttachment, ChannelIdentity, HumanRequest, Message, Push
from tests.conftest import make_settings
from tests.factories import ScriptedParser, build_dispatcher, say

STREET_LIGHT = "我家楼下的路灯坏了快一个星期了，晚上黑漆漆的，老人孩子走路很危险"
SCRIPT = {
    "阿强": ("report_issue", 0.96, [{"entity": "person", "value": "阿强", "start": 6, "end": 8}]),
    "路灯": ("report_issue", 0.97, []),
    "噪音": ("report_issue", 0.95, [{"entity": "place", "value": "幸福路12号", "start": 0, "end": 6}]),
    "我的案件": ("ask_progress", 0.95, []),
    "查询": ("ask_progress", 0.93, []),
    "你好": ("greet", 0.99, []),
    "人工": ("request_human", 0.96, []),
    "谢谢": ("thank", 0.98, []),
    "天气": ("out_of_scope", 0.9, []),
}


@pytest.fixture
async def bot(sqlite_url, var_dir):
    parser = ScriptedParser(SCRIPT)
    settings = make_settings(sqlite_url, "embedded", var_dir)
    dispatcher, close = await build_dispatcher(settings, parser)
    yield dispatcher
    await close()


async def _count(bot, model, *where) -> int:
    async with bot.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def _case(bot, number) -> Case:
    async with bot.sessionmaker() as session:
        return (await session.execute(select(Case).where(Case.number == number))).scalar_one()


async def _report_to_confirmation(bot, user_id) -> str:
    assert "在哪里" in await say(bot, user_id, STREET_LIGHT)
    assert "是否同意工作人员联系您" in await say(bot, user_id, "幸福路18号阳光小区东门")
    assert "手机号码" in await say(bot, user_id, "1")
    return await say(bot, user_id, "13800138000")


def _number(text: str) -> str:
    return text.split("编号 ")[1].split("。")[0]


async def test_a_report_asks_only_what_is_missing_and_registers_a_case(bot, user_id):
    summary = await _report_to_confirmation(bot, user_id)
    assert "问题：" + STREET_LIGHT in summary
    assert "地点：幸福路18号阳光小区东门" in summary
    assert "138****8000" in summary and "13800138000" not in summary
    done = await say(bot, user_id, "确认")
    number = _number(done)
    assert "24小时内转交" in done and "前答复您" in done
    case = await _case(bot, number)
    assert case.state == "received" and case.place == "幸福路18号阳光小区东门"
    assert case.contact_phone == "13800138000" and case.contact_consent and not case.anonymous
    assert case.topic == "城乡建设"
    progress = await say(bot, user_id, f"查询 {number}")
    assert number in progress and "已受理" in progress


async def test_place_and_phone_in_the_first_message_are_not_asked_again(bot, user_id):
    reply = await say(bot, user_id, "晚上噪音太大睡不着，能不能管管，我电话13900001111")
    assert "请核对" in reply and "地点：幸福路12号" in reply and "139****1111" in reply


async def test_the_citizen_corrects_the_summary(bot, user_id):
    await _report_to_confirmation(bot, user_id)
    assert "地点：幸福路20号" in await say(bot, user_id, "地点改为幸福路20号")
    assert "已补充" in await say(bot, user_id, "补充：灯杆也歪了")
    assert "修改哪一项" in await say(bot, user_id, "修改")
    assert "重新描述" in await say(bot, user_id, "1")
    summary = await say(bot, user_id, "小区东门的路灯不亮")
    assert "问题：小区东门的路灯不亮" in summary and "灯杆也歪了" not in summary
    assert "修改哪一项" in await say(bot, user_id, "不对")
    assert "是否同意" in await say(bot, user_id, "3")
    assert "联系：匿名反映" in await say(bot, user_id, "匿名")
    number = _number(await say(bot, user_id, "确认"))
    case = await _case(bot, number)
    assert case.anonymous and case.contact_phone is None and case.place == "幸福路20号"


async def test_a_name_the_nlu_found_is_kept_on_the_case_and_masked_for_anyone_else(bot, user_id):
    text = "楼道的灯坏了，阿强天天摸黑上楼，阿强说物业不管"
    assert "在哪里" in await say(bot, user_id, text)
    assert "是否同意" in await say(bot, user_id, "幸福路30号2单元楼道")
    assert "请核对" in await say(bot, user_id, "2")
    case = await _case(bot, _number(await say(bot, user_id, "确认")))
    assert case.named_people == ["阿强"]
    assert mask_text(text) == text  # no tagger knows 阿强 for a name: the NLU did
    summary, place = access.follower_summary(case)
    assert "阿*天天摸黑上楼" in summary and "阿强" not in summary and place == "幸福路"
    offered = await say(bot, f"{user_id}-2", "楼道的灯坏了，阿强家门口也黑")
    assert "是否同意" in await say(bot, f"{user_id}-2", "幸福路30号2单元楼道")
    offered = await say(bot, f"{user_id}-2", "2")
    assert case.number in offered and "阿强" not in offered.split(case.number)[1]


async def test_the_citizen_abandons_a_report_and_nothing_is_registered(bot, user_id):
    await _report_to_confirmation(bot, user_id)
    assert "已取消" in await say(bot, user_id, "取消")
    assert "还没有反映过问题" in await say(bot, user_id, "我的案件")


async def test_photos_and_locations_attach_to_the_case(bot, user_id):
    assert "文字" in await say(bot, user_id, kind="image", media_ref="media-1")
    assert "在哪里" in await say(bot, user_id, STREET_LIGHT)
    located = await say(bot, user_id, kind="location", latitude=28.2, longitude=112.9, label="阳光小区东门")
    assert "阳光小区东门" in located and "是否同意" in located
    await say(bot, user_id, "2")
    summary = await say(bot, user_id, kind="image", media_ref="media-2")
    assert "2张照片、1个位置" in summary
    number = _number(await say(bot, user_id, "好的"))
    case = await _case(bot, number)
    assert await _count(bot, CaseAttachment, CaseAttachment.case_id == case.id) == 3


async def test_progress_shows_only_the_citizens_own_cases(bot, user_id):
    await _report_to_confirmation(bot, user_id)
    number = _number(await say(bot, user_id, "确认"))
    assert number in await say(bot, user_id, "我的案件")
    other = await say(bot, "someone-else", f"查询{number}")
    assert f"没有找到您名下编号为 {number}" in other and "路灯" not in other
    missing = format_case_number("LL", __import__("datetime").date(2020, 1, 1), 999)
    assert "没有找到" in await say(bot, user_id, f"查询 {missing}")


async def test_nlu_outage_keeps_the_message_and_offers_the_menu(bot, user_id):
    bot.understanding.parser.down = True
    reply = await say(bot, user_id, "这个事情你们管不管")
    assert "已保存" in reply and "1. 反映问题" in reply
    assert "就按您刚才的留言" in (resumed := await say(bot, user_id, "1"))
    assert "在哪里" in resumed
    # Keywords still carry obvious intents while the NLU is down.
    assert "已为您转接" in await say(bot, "other-" + user_id, "转人工")


async def test_nlu_outage_in_the_middle_of_a_report_loses_nothing(bot, user_id):
    assert "在哪里" in await say(bot, user_id, STREET_LIGHT)
    bot.understanding.parser.down = True
    assert "是否同意" in await say(bot, user_id, "幸福路18号")
    assert "请核对" in await say(bot, user_id, "2")
    assert "已受理" in await say(bot, user_id, "确认")


async def test_a_flood_gets_one_polite_answer_and_every_message_is_kept(bot, user_id, clock):
    # One rate window for the whole flood, however slowly the machine sends it (a window's edge reset the count).
    clock.freeze(clock.now())
    bot.clock = clock
    limit = bot.deployment.rate_limit.messages
    replies = [await say(bot, user_id, f"你好 {i}") for i in range(limit + 5)]
    assert all("您好" in r for r in replies[:limit])
    assert "发送得太快" in replies[limit]
    assert replies[limit + 1 :] == ["", "", "", ""]
    async with bot.sessionmaker() as session:
        statuses = (
            (
                await session.execute(
                    select(Message.status).where(
                        Message.direction == "in",
                        Message.text.like("你好 %"),
                        Message.conversation_id.in_(select(Message.conversation_id).where(Message.text == "你好 0")),
                    )
                )
            )
            .scalars()
            .all()
        )
    assert statuses.count("rate_limited") == 5 and len(statuses) == limit + 5


async def test_a_repeated_delivery_is_answered_once_with_the_same_reply(bot, user_id):
    copies = await asyncio.gather(*[say(bot, user_id, STREET_LIGHT, external_id="msg-1") for _ in range(3)])
    assert copies[0] == copies[1] == copies[2] and "在哪里" in copies[0]
    assert await _count(bot, Message, Message.external_id == "msg-1") == 1


async def test_a_turn_that_lost_its_leases_undoes_its_work_when_another_turn_processed_the_message(bot, user_id):
    """Exactly once is the database's: a turn whose leases lapsed (its process stalled) while the channel's
    retry took the message over finds the message processed when it marks it, undoes its work and answers
    with the retry's replies: one case, not two."""
    await _report_to_confirmation(bot, user_id)
    confirm = Inbound(channel="web", user_id=user_id, text="确认", external_id="confirm-1")
    inbox, keys = bot.inbox, bot.inbox.keys
    retried = []

    async def stalled(start: TurnStart) -> TurnEnd:
        await inbox.redis.delete(keys.delivery("web", user_id, "confirm-1"), keys.citizen_lock("web", user_id))
        retried.extend(await bot.handle(confirm))
        return await bot._converse(start)  # awake again, it does the same work

    replies = await inbox.handle(confirm, stalled, bot.clock())
    assert "已受理，编号" in replies[0].text and replies == retried
    async with bot.sessionmaker() as session:
        cases = (
            await session.execute(
                select(func.count())
                .select_from(Case)
                .join(ChannelIdentity, ChannelIdentity.citizen_id == Case.citizen_id)
                .where(ChannelIdentity.external_id == user_id)
            )
        ).scalar_one()
    assert cases == 1


async def test_a_request_for_a_person_is_recorded(bot, user_id):
    before = await _count(bot, HumanRequest)
    await say(bot, user_id, "小区电梯又坏了")
    reply = await say(bot, user_id, "我要找人工")
    assert "工作人员会在" in reply and "前回复您" in reply
    assert await _count(bot, HumanRequest) == before + 1
    async with bot.sessionmaker() as session:
        told = (
            (await session.execute(select(Push.text).where(Push.kind == "human_request").order_by(Push.id.desc())))
            .scalars()
            .first()
        )
    assert f"web:{user_id}" in told and "小区电梯又坏了" in told


async def test_small_talk_and_fallback(bot, user_id):
    assert "示范街道人大代表联络站" in await say(bot, user_id, "你好")
    assert "地址" in await say(bot, user_id, "帮助")
    assert "不客气" in await say(bot, user_id, "谢谢")
    assert "回答不了" in await say(bot, user_id, "明天天气怎么样")
    assert "没太明白" in await say(bot, user_id, "嗯嗯")
    assert "无法识别" in await say(bot, user_id, kind="voice")
    long_text = "小区" + "电梯经常停运，" * 1500
    assert "在哪里" in await say(bot, user_id, long_text)
