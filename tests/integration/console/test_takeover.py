"""Take-over, staff messages and hand-back through the services, on both databases with real Rasa and Redis:
staff words reach WeChat (as a customer-service message from the staff account) and Telegram (sendMessage);
two staff cannot hold one conversation; an idle hold returns to the bot; requests for a person are answered;
staff are alerted before and after a promise to answer in person is missed; alerts reach the console."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import pytest
import yaml
from sqlalchemy import select

from bot.http.app import create_app
from casework.errors import Forbidden, Refusal
from services import alerts, takeover
from services.takeover import StaffMember
from services.users import actor_of
from storage.models import ChannelIdentity, Conversation, ConversationAction, HumanRequest, Push
from storage.repositories import UserStore
from tests.conftest import ROOT, client_for
from tests.integration.recorder import RecordingApi
from tests.integration.test_conversations import Citizen
from tests.integration.test_telegram import SECRET, TelegramCitizen
from tests.integration.test_wechat import Follower, WeChatAnswers, account, sent_to
from texts import citizen as citizen_texts
from texts import staff as staff_texts

pytestmark = [pytest.mark.integration, pytest.mark.dated]


async def staff_member(runtime, role: str = "staff") -> StaffMember:
    async with runtime.sessionmaker() as session:
        user, _ = await UserStore(session).add(name=f"{role}-{uuid.uuid4().hex[:6]}", role=role)
        await session.commit()
        return StaffMember(user.id, await actor_of(session, user))


async def conversation_of(runtime, channel: str, user_id: str) -> int:
    async with runtime.sessionmaker() as session:
        return (
            await session.execute(
                select(Conversation.id)
                .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(ChannelIdentity.channel == channel, ChannelIdentity.external_id == user_id)
            )
        ).scalar_one()


@pytest.fixture
def telegram():
    with RecordingApi() as api:
        yield api


@pytest.fixture
async def station(settings, telegram):
    app = create_app(
        settings.model_copy(
            update={"telegram_token": "123:TEST", "telegram_api_base": telegram.url, "telegram_secret": SECRET}
        )
    )
    async for client in client_for(app):
        yield app.state.runtime, client


async def test_on_telegram_the_citizen_hears_the_staff_and_the_bot_is_silent_until_hand_back(
    station, telegram, user_id
):
    runtime, client = station
    citizen = TelegramCitizen(client, telegram)
    assert await citizen.say("你好")
    conversation = await conversation_of(runtime, "telegram", citizen.user_id)
    staff = await staff_member(runtime)
    now = dt.datetime.now(dt.UTC)

    await takeover.take_over(runtime, staff, conversation, now)
    await takeover.send(runtime, staff, conversation, "您好，我是工作人员，请讲。", now)
    assert citizen.sent()[-2:] == [citizen_texts.PERSON_JOINED, "您好，我是工作人员，请讲。"]
    assert await citizen.say("我想反映小区路灯坏了") == "", "the bot is silent while staff hold the conversation"

    await takeover.hand_back(runtime, staff, conversation, now)
    assert citizen_texts.PERSON_LEFT in citizen.sent()
    assert await citizen.say("你好"), "the bot answers again"
    async with runtime.sessionmaker() as session:
        actions = (
            await session.execute(
                select(ConversationAction.action, ConversationAction.actor)
                .where(ConversationAction.conversation_id == conversation)
                .order_by(ConversationAction.id)
            )
        ).all()
    assert [a for a, _ in actions] == ["take", "send", "hand_back"]
    assert {who for _, who in actions} == {staff.actor.name}


async def test_two_staff_cannot_hold_one_conversation(station, user_id):
    runtime, client = station
    await Citizen(client, user_id).say("你好")
    conversation = await conversation_of(runtime, "web", user_id)
    first, second = await staff_member(runtime), await staff_member(runtime)
    now = dt.datetime.now(dt.UTC)
    outcomes = await asyncio.gather(
        takeover.take_over(runtime, first, conversation, now),
        takeover.take_over(runtime, second, conversation, now),
        return_exceptions=True,
    )
    refused = [o for o in outcomes if isinstance(o, Refusal)]
    assert len(refused) == 1 and refused[0].code == "held_by_other", outcomes
    loser = second if outcomes[1] is refused[0] else first
    with pytest.raises(Refusal) as not_holding:
        await takeover.send(runtime, loser, conversation, "我也来回答", now)
    assert not_holding.value.code == "not_holding"


async def test_only_staff_take_over(station, user_id):
    runtime, client = station
    await Citizen(client, user_id).say("你好")
    conversation = await conversation_of(runtime, "web", user_id)
    async with runtime.sessionmaker() as session:
        user, _ = await UserStore(session).add(name=f"department-{uuid.uuid4().hex[:6]}", role="department")
        await session.commit()
        department = StaffMember(user.id, await actor_of(session, user))
    with pytest.raises(Forbidden):
        await takeover.take_over(runtime, department, conversation, dt.datetime.now(dt.UTC))


async def test_a_hold_left_idle_returns_to_the_bot_and_the_citizen_is_told(station, user_id, clock):
    runtime, client = station
    citizen = Citizen(client, user_id)
    await citizen.say("你好")
    conversation = await conversation_of(runtime, "web", user_id)
    staff = await staff_member(runtime)
    taken = clock.freeze(dt.datetime(2026, 12, 31, 15, 40, tzinfo=dt.UTC))
    await takeover.take_over(runtime, staff, conversation, taken)
    idle = dt.timedelta(minutes=30)

    async def holder() -> int | None:
        async with runtime.sessionmaker() as session:
            return (
                await session.execute(select(Conversation.held_by_id).where(Conversation.id == conversation))
            ).scalar()

    await takeover.return_idle_holds(runtime, taken + dt.timedelta(minutes=29), idle)
    assert await holder() == staff.user_id
    await takeover.return_idle_holds(runtime, taken + dt.timedelta(minutes=31), idle)
    assert await holder() is None
    replies = await citizen.say("还在吗")
    assert citizen_texts.PERSON_JOINED in replies and citizen_texts.PERSON_LEFT in replies
    async with runtime.sessionmaker() as session:
        last = (
            await session.execute(
                select(ConversationAction.action, ConversationAction.actor)
                .where(ConversationAction.conversation_id == conversation)
                .order_by(ConversationAction.id.desc())
            )
        ).first()
    assert tuple(last) == ("expire", staff_texts.SYSTEM_ACTOR)


async def test_answering_a_request_for_a_person_sets_answered_at_and_staff_are_alerted_before_and_after(
    station, user_id, clock
):
    runtime, client = station
    await Citizen(client, user_id).say("转人工")
    conversation = await conversation_of(runtime, "web", user_id)
    async with runtime.sessionmaker() as session:
        request = (
            await session.execute(select(HumanRequest).where(HumanRequest.conversation_id == conversation))
        ).scalar_one()
    answer_by = request.answer_by
    staff = await staff_member(runtime)

    await alerts.remind_person_requests(runtime, answer_by - dt.timedelta(hours=2))
    await alerts.remind_person_requests(runtime, answer_by - dt.timedelta(minutes=20))
    await alerts.remind_person_requests(runtime, answer_by - dt.timedelta(minutes=10))
    await alerts.remind_person_requests(runtime, answer_by + dt.timedelta(minutes=1))
    async with runtime.sessionmaker() as session:
        kinds = (
            (
                await session.execute(
                    select(Push.dedupe_key).where(
                        Push.dedupe_key.like(f"human:{request.id}:%"), Push.recipient == staff.actor.name
                    )
                )
            )
            .scalars()
            .all()
        )
    assert sorted(k.split(":")[2] for k in kinds) == ["due-soon", "missed"], "once before, once after"

    # The alerts wait in the console for a staff member without a bound chat, counted as new until seen.
    async with runtime.sessionmaker() as session:
        assert await alerts.unseen_count(runtime, session, staff.user_id, staff.actor.name) >= 2
        shown = await alerts.alerts_for(runtime, session, staff.user_id, staff.actor.name)
        assert any("转人工已超时" in a.text for a in shown) and all(a.new for a in shown[:2])
        assert await alerts.unseen_count(runtime, session, staff.user_id, staff.actor.name) == 0

    now = answer_by + dt.timedelta(minutes=2)
    await takeover.take_over(runtime, staff, conversation, now)
    await takeover.send(runtime, staff, conversation, "您好，我来为您解答。", now)
    async with runtime.sessionmaker() as session:
        answered = (
            await session.execute(select(HumanRequest.answered_at).where(HumanRequest.id == request.id))
        ).scalar_one()
    assert answered == now


async def test_on_wechat_staff_words_go_as_a_customer_service_message_from_the_staff_account(
    settings, tmp_path, user_id
):
    raw = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    raw["wechat"] = {**(raw.get("wechat") or {}), "kf_account": "kf2001@gh_station"}
    config = tmp_path / "config.yml"
    config.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with RecordingApi() as api:
        api.answers.append(WeChatAnswers())
        async with account(settings, api, config) as (app, server, _):
            runtime = app.state.runtime
            openid = f"o-{user_id}"
            await Follower(server, openid).say("你好")
            conversation = await conversation_of(runtime, "wechat", openid)
            staff = await staff_member(runtime)
            now = dt.datetime.now(dt.UTC)
            await takeover.take_over(runtime, staff, conversation, now)
            assert await takeover.send(runtime, staff, conversation, "您好，这里是联络站。", now) == ""
            sent = sent_to(api, "/message/custom/send", openid)
            staff_message = [c for c in sent if "这里是联络站" in str(c)]
            assert staff_message, sent
            assert "kf2001@gh_station" in str(staff_message[0]), "sent from the staff account"
            assert citizen_texts.PERSON_JOINED in str(sent)
