"""The WeChat door end to end, as WeChat's servers use it: signed and (in safe mode) encrypted XML
built with wechatpy's own crypto, on real Rasa, Redis and both databases; WeChat's API is a
RecordingApi answering as WeChat does.

One fixture file per message type or event in tests/fixtures/wechat; `check_webhook(fixture,
expected)` sends one and checks the passive answer.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import inspect
import itertools
import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import xmltodict
import yaml
from sqlalchemy import select, update
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.channels.wechat.commands import create_menu, deputy_qrcode, issue_bind_code
from bot.http.app import create_app
from nlu.client import RasaParser
from storage.models import Case, CaseEvent, ChannelIdentity, Conversation, Deputy, Message, Push, User
from storage.repositories import DirectoryStore, UserStore
from tests.conftest import ROOT, Clock, client_for
from tests.integration.recorder import RecordingApi
from tests.integration.test_loop import burst
from texts import citizen as texts

pytestmark = [pytest.mark.integration, pytest.mark.dated, pytest.mark.own_database]
FIXTURES = ROOT / "tests" / "fixtures" / "wechat"
TOKEN = "liaison-test-token"
AES_KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode().rstrip("=")
APP_ID = "wx0000000000000001"
ACCOUNT = "gh_0000station"
_ids = itertools.count(uuid.uuid4().int % 10**15 * 1000)  # MsgIds no other run used (they share Redis)


def openid() -> str:
    return f"o{uuid.uuid4().hex[:27]}"


class WeChatAnswers:
    """WeChat's API as the recorder plays it: tokens TOKEN-1, TOKEN-2, ...; every send accepted."""

    def __init__(self) -> None:
        self.tokens = itertools.count(1)

    def __call__(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if path.endswith("/cgi-bin/token"):
            return 200, {"access_token": f"TOKEN-{next(self.tokens)}", "expires_in": 7200}
        if path.endswith("/qrcode/create"):
            scene = body["action_info"]["scene"]["scene_str"]
            return 200, {"ticket": "gQH47joAAAAAAAAAASxodHRw", "url": f"http://weixin.qq.com/q/{scene}"}
        if path.endswith("/message/template/send"):
            return 200, {"errcode": 0, "errmsg": "ok", "msgid": 200228332}
        if path.startswith("/cgi-bin/"):
            return 200, {"errcode": 0, "errmsg": "ok"}
        return None


class WeChatServer:
    """What WeChat's servers send to the server URL, and how they read the passive answer."""

    def __init__(
        self, client: httpx.AsyncClient, *, safe: bool = True, token: str = TOKEN, clock: Clock | None = None
    ) -> None:
        self.client = client
        self.token = token
        self.clock = clock or Clock()  # WeChat's servers' clock: the real time (libfaketime's under test-clocks)
        self.crypto = WeChatCrypto(token, AES_KEY, APP_ID) if safe else None

    def xml(self, fixture: str, **fields: Any) -> str:
        fields.setdefault("openid", openid())
        fields.setdefault("time", self.clock.timestamp())
        fields.setdefault("msg_id", next(_ids))
        return (FIXTURES / f"{fixture}.xml").read_text(encoding="utf-8").format(account=ACCOUNT, **fields)

    def signed(self, xml: str) -> tuple[dict[str, str], str]:
        timestamp, nonce = str(self.clock.timestamp()), str(uuid.uuid4().int % 10**9)
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce)
        params = {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce, "openid": "x"}
        if self.crypto is None:
            return params, xml
        sealed = xmltodict.parse(self.crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        params.update(encrypt_type="aes", msg_signature=sealed["MsgSignature"])
        return params, (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed['Encrypt']}]]></Encrypt></xml>"
        )

    async def post(self, xml: str) -> httpx.Response:
        params, body = self.signed(xml)
        return await self.client.post(
            "/wechat", params=params, content=body.encode("utf-8"), headers={"content-type": "text/xml"}
        )

    def read(self, response: httpx.Response) -> str:
        """The text of the passive answer; "" for the empty answer ("success")."""
        assert response.status_code == 200, response.text
        if response.text == "success":
            return ""
        xml = response.text
        if self.crypto is not None:
            sealed = xmltodict.parse(xml)["xml"]
            xml = self.crypto.decrypt_message(xml, sealed["MsgSignature"], sealed["TimeStamp"], sealed["Nonce"])
        reply = xmltodict.parse(xml)["xml"]
        assert reply["MsgType"] == "text" and reply["FromUserName"] == ACCOUNT
        return reply["Content"]

    async def send(self, fixture: str, **fields: Any) -> str:
        return self.read(await self.post(self.xml(fixture, **fields)))

    async def deliver(self, fixture: str, **fields: Any) -> str:
        """Send one delivery as WeChat does: sent again, with the same query string and body, while it is not
        taken (503), three copies at most."""
        params, body = self.signed(self.xml(fixture, **fields))
        for _ in range(3):
            response = await self.client.post(
                "/wechat", params=params, content=body.encode("utf-8"), headers={"content-type": "text/xml"}
            )
            if response.status_code != 503:
                break
        return self.read(response)

    async def check_webhook(self, fixture: str, expected: str | None, **fields: Any) -> str:
        """Send one fixture; the answer contains `expected` (None: the empty answer)."""
        answer = await self.send(fixture, **fields)
        if expected is None:
            assert answer == "", answer
        else:
            assert expected in answer, answer
        return answer


class Follower:
    """A citizen on the official account."""

    def __init__(self, server: WeChatServer, user: str | None = None) -> None:
        self.server = server
        self.openid = user or openid()

    async def say(self, text: str) -> str:
        return await self.server.send("text", openid=self.openid, content=text)

    async def event(self, fixture: str, **fields: Any) -> str:
        return await self.server.send(fixture, openid=self.openid, **fields)

    async def answer_until(self, reply: str, done: str, place: str = "幸福路18号阳光小区东门") -> str:
        """Answer the report flow's questions until a reply contains `done`."""
        for _ in range(8):
            if done in reply:
                return reply
            if "在哪里" in reply:
                reply = await self.say(place)
            elif "是否同意" in reply:
                reply = await self.say("2")
            elif "请核对" in reply:
                reply = await self.say("确认")
            else:
                pytest.fail(f"unexpected reply in a report: {reply}")
        pytest.fail(f"no reply with {done!r}")

    async def report(self, text: str) -> str:
        """Report a problem; return the case number."""
        reply = await self.answer_until(await self.say(text), "已受理，编号")
        return reply.split("编号 ")[1].split("。")[0]


@pytest.fixture
def wechat_api():
    with RecordingApi() as api:
        api.answers.append(WeChatAnswers())
        yield api


@pytest.fixture(scope="session")
def wechat_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """config.yml with template messages for two kinds of push (the others have none) and a quota of 3."""
    raw = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    raw["wechat"] = {
        **(raw.get("wechat") or {}),
        "customer_service_quota": 3,
        "templates": {
            "case_status": {
                "template_id": "TPL-CASE-STATUS",
                "url": "https://example.org/cases",
                "fields": {
                    "character_string1": "{case_no}",
                    "phrase2": "{state}",
                    "thing3": "{text}",
                    "time4": "{time}",
                },
            },
            "rating_reminder": {
                "template_id": "TPL-RATING",
                "fields": {"thing1": "{title}：{text}", "keyword2": {"value": "{text}", "max_length": 50}},
            },
        },
    }
    path = tmp_path_factory.mktemp("wechat") / "config.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def wechat_settings(settings, api: RecordingApi, config: Path, **overrides: Any):  # type: ignore[no-untyped-def]
    return settings.model_copy(
        update={
            "wechat_token": TOKEN,
            "wechat_aes_key": AES_KEY,
            "wechat_app_id": APP_ID,
            "wechat_app_secret": "s3cret",
            "wechat_api_base": f"{api.url}/cgi-bin/",
            "wechat_safe_mode": True,
            "config_path": config,
            **overrides,
        }
    )


@asynccontextmanager
async def account(settings, api, config, *, safe: bool = True, **overrides):  # type: ignore[no-untyped-def]
    app = create_app(wechat_settings(settings, api, config, **overrides))
    async for client in client_for(app):
        yield app, WeChatServer(client, safe=safe), client


@pytest.fixture
async def station(settings, wechat_api, wechat_config):
    async with account(settings, wechat_api, wechat_config) as opened:
        yield opened


async def staff_token(app) -> str:  # type: ignore[no-untyped-def]
    async with app.state.runtime.sessionmaker() as session:
        _, token = await UserStore(session).add(name=f"staff-{uuid.uuid4().hex[:8]}", role="staff")
        await session.commit()
    return token


async def act(client: httpx.AsyncClient, token: str, number: str, action: str, **fields: Any) -> dict:
    response = await client.post(
        f"/api/cases/{number}/actions", json={"action": action, **fields}, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def rows(app, query):  # type: ignore[no-untyped-def]
    async with app.state.runtime.sessionmaker() as session:
        return (await session.execute(query.execution_options(populate_existing=True))).scalars().all()


def sent_to(api: RecordingApi, suffix: str, user: str) -> list[dict[str, Any]]:
    return [c for c in api.calls_to(suffix) if c.get("touser") == user]


async def wait_for(predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    """Poll `predicate` (plain or async) until it returns something true; a generous hang guard, not a speed
    limit."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(0.05)
    pytest.fail("timed out waiting")


async def _settled(app, query):  # type: ignore[no-untyped-def]
    """The rows of `query` once none of them is still being sent."""
    found = await rows(app, query)
    return found if found and all(p.status != "sending" for p in found) else None


# --- the server URL


async def test_the_server_url_check_echoes_only_a_signed_request(station):
    _, server, client = station
    params, _ = server.signed("")
    response = await client.get("/wechat", params={**params, "echostr": "8128376523489"})
    assert response.status_code == 200 and response.text == "8128376523489"
    forged = await client.get("/wechat", params={**params, "signature": "0" * 40, "echostr": "1"})
    assert forged.status_code == 403
    assert (await client.get("/wechat", params={"echostr": "1"})).status_code == 403


# --- one fixture per message type and event


async def test_each_message_type_and_event_in_safe_mode(station):
    app, server, _ = station
    await server.check_webhook("text", "联络站", content="你好")
    user = openid()
    await server.check_webhook("image", texts.REPORT_STARTED_WITH_MEDIA, openid=user, media_id="MEDIA-1")
    await server.check_webhook(
        "location",
        "已收到位置：幸福路路口",
        openid=user,
        latitude="23.134521",
        longitude="113.358803",
        label="幸福路路口",
    )
    await server.check_webhook(
        "voice",
        "在哪里",
        media_id="V1",
        recognition=("我们小区门口的路灯坏了一个星期了，晚上出门黑乎乎的，老人摔过一跤，麻烦尽快派人来修一下"),
    )
    await server.check_webhook("voice_unrecognised", texts.VOICE_NO_TEXT, media_id="V2")
    linker = openid()
    assert await server.send("link", openid=linker, title="小区停车难的问题", url="https://mp.weixin.qq.com/s/abc")
    await server.check_webhook("video", texts.UNSUPPORTED, media_id="VIDEO-1")
    await server.check_webhook("event_subscribe", "欢迎来到")
    await server.check_webhook("event_click", texts.ASK_DESCRIPTION, key="report")
    await server.check_webhook("event_click", texts.NO_CASES, key="progress")
    await server.check_webhook("event_click", "预约", key="booking")
    await server.check_webhook("event_click", "开放时间", key="station")
    await server.check_webhook("event_click", texts.EVENT_OTHER, key="V1001_UNKNOWN")
    await server.check_webhook("event_scan", "您正在联系 王敏 代表", scene="deputy:wang-min")
    await server.check_webhook("event_subscribe_scene", "您正在联系 李建国 代表", scene="deputy:li-jianguo")
    await server.check_webhook("event_view", None)
    await server.check_webhook("event_location", None)
    await server.check_webhook("event_templatesendjobfinish", None)
    await server.check_webhook("event_scancode_push", texts.EVENT_OTHER)
    gone = openid()
    await server.check_webhook("event_unsubscribe", None, openid=gone)
    keys = app.state.runtime.keys
    assert await app.state.runtime.redis.exists(keys.unsubscribed("wechat", gone))

    def inbound_of(someone: str):  # type: ignore[no-untyped-def]
        return (
            select(Message)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .where(ChannelIdentity.external_id == someone, Message.direction == "in")
            .order_by(Message.id)
        )

    image, location = await rows(app, inbound_of(user))
    assert (image.kind, image.payload["media_ref"]) == ("image", "http://mmbiz.qpic.cn/mmbiz_jpg/MEDIA-1/0")
    assert location.kind == "location" and location.payload["label"] == "幸福路路口"
    assert location.payload["latitude"] == pytest.approx(23.134521)
    [link] = await rows(app, inbound_of(linker))
    assert link.kind == "text" and link.text == "小区停车难的问题\nhttps://mp.weixin.qq.com/s/abc"


async def test_plaintext_mode_answers_in_plaintext_and_safe_mode_refuses_plaintext(settings, wechat_api, wechat_config):
    async with account(settings, wechat_api, wechat_config, safe=False, wechat_safe_mode=False, wechat_aes_key="") as (
        _,
        server,
        _client,
    ):
        assert "联络站" in await server.send("text", content="你好")
        encrypted = WeChatServer(server.client, safe=True)
        refused = await encrypted.post(encrypted.xml("text", content="你好"))
        assert refused.status_code == 400
    async with account(settings, wechat_api, wechat_config) as (app, _server, client):
        plain = WeChatServer(client, safe=False)
        user = openid()
        response = await plain.post(plain.xml("text", openid=user, content="你好"))
        assert response.status_code == 403
        assert await rows(app, select(ChannelIdentity).where(ChannelIdentity.external_id == user)) == []


# --- the 5-second rule


async def test_three_concurrent_retries_of_one_delivery_make_one_case_and_one_answer(station, wechat_api):
    app, server, _ = station
    citizen = Follower(server)
    await citizen.answer_until(await citizen.say("我家楼下的下水道堵了好几天，污水漫到路面上，臭气熏天"), "请核对")
    confirm = server.xml("text", openid=citizen.openid, content="确认")
    answers = await asyncio.gather(*[server.post(confirm) for _ in range(3)])
    await app.state.wechat.drain()  # answers that missed the reply budget go out as customer-service messages
    # However busy the machine, the citizen reads the confirmation once: every copy answered in time carries
    # the same passive answer (WeChat shows one), and a customer-service message goes only when none did.
    passive = {text for text in (server.read(a) for a in answers) if text}
    late = [c["text"]["content"] for c in sent_to(wechat_api, "/message/custom/send", citizen.openid)]
    [confirmation] = list(passive) + [text for text in late if "已受理" in text]
    assert "已受理，编号" in confirmation
    cases = await rows(
        app,
        select(Case)
        .join(ChannelIdentity, ChannelIdentity.citizen_id == Case.citizen_id)
        .where(ChannelIdentity.external_id == citizen.openid),
    )
    assert len(cases) == 1
    msg_id = xmltodict.parse(confirm)["xml"]["MsgId"]
    assert len(await rows(app, select(Message).where(Message.external_id == msg_id))) == 1

    # An event has no MsgId: its sender and CreateTime make the delivery.
    newcomer = openid()
    follow = server.xml("event_subscribe", openid=newcomer)
    greetings = {server.read(a) for a in await asyncio.gather(*[server.post(follow) for _ in range(3)])} - {""}
    await app.state.wechat.drain()
    late = [c["text"]["content"] for c in sent_to(wechat_api, "/message/custom/send", newcomer)]
    [greeting] = list(greetings) + late
    assert "欢迎来到" in greeting


def _silent_server() -> socket.socket:
    """A TCP server that accepts connections (in its backlog) and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    return listener


async def test_a_slow_answer_is_empty_at_once_and_follows_as_a_customer_service_message(
    settings, wechat_api, wechat_config
):
    # The NLU gives up after 5 s, past the budget of 1 s even with WeChat's three copies; a copy not stored
    # within the budget on a busy machine gets 503 and is sent again, as WeChat does.
    async with account(settings, wechat_api, wechat_config, wechat_reply_budget=1.0) as (app, server, _):
        services = app.state.runtime
        listener = _silent_server()
        slow = RasaParser(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=5.0)
        original, services.dispatcher.understanding.parser = services.dispatcher.understanding.parser, slow
        try:
            user = openid()
            # Empty at once: the NLU has not answered yet, so nothing can have been sent.
            assert await server.deliver("text", openid=user, content="你好") == ""
            assert sent_to(wechat_api, "/message/custom/send", user) == []
            sent = await wait_for(lambda: sent_to(wechat_api, "/message/custom/send", user), timeout=40)
        finally:
            services.dispatcher.understanding.parser = original
            await slow.close()
            listener.close()
        assert sent[0]["msgtype"] == "text" and "联络站" in sent[0]["text"]["content"]
        assert sent[0]["access_token"] == "TOKEN-1"
        # The push is marked sent once WeChat's answer is back, a moment after the recorder saw the call.
        pushes = await wait_for(lambda: _settled(app, select(Push).where(Push.address == user)), timeout=15)
        assert [(p.kind, p.status) for p in pushes] == [("reply", "sent")]


# --- pushes: the 48-hour window, the quota, templates, the token


async def test_outside_the_window_a_template_goes_and_without_one_the_push_waits(station, wechat_api, clock):
    app, server, client = station
    citizen = Follower(server)
    number = await citizen.report("公园里的健身器材坏了好几个，老人锻炼很不方便，希望尽快维修")
    async with app.state.runtime.sessionmaker() as session:
        await session.execute(
            update(ChannelIdentity)
            .where(ChannelIdentity.external_id == citizen.openid)
            .values(last_inbound_at=clock.now() - dt.timedelta(hours=49))
        )
        await session.commit()
    staff = await staff_token(app)
    await act(client, staff, number, "transfer", reason="请核实维修")
    await burst(app)
    assert sent_to(wechat_api, "/message/custom/send", citizen.openid) == []
    [template] = sent_to(wechat_api, "/message/template/send", citizen.openid)
    assert template["template_id"] == "TPL-CASE-STATUS" and template["url"] == "https://example.org/cases"
    fields = {k: v["value"] for k, v in template["data"].items()}
    assert fields["character_string1"] == number and fields["phrase2"] == "已转办"
    assert len(fields["thing3"]) <= 20 and fields["thing3"].endswith("…") and "\n" not in fields["thing3"]

    await act(client, staff, number, "answer_on_spot", answer="已安排维修，本周内修好。")
    await burst(app)
    pushes = await rows(app, select(Push).where(Push.address == citizen.openid, Push.kind == "reply_ready"))
    assert [p.status for p in pushes] == ["waiting_window"]
    # The citizen writes again: the window is open and the waiting answer goes out as a message.
    await citizen.say("你好")
    await burst(app)
    [answer] = [
        m for m in sent_to(wechat_api, "/message/custom/send", citizen.openid) if "本周内修好" in m["text"]["content"]
    ]
    assert "满意吗" in answer["text"]["content"]
    pushes = await rows(app, select(Push).where(Push.address == citizen.openid, Push.kind == "reply_ready"))
    assert [p.status for p in pushes] == ["sent"]


async def test_inside_the_window_customer_service_messages_go_until_the_quota_is_used(station, wechat_api):
    app, server, client = station
    citizen = Follower(server)
    number = await citizen.report("小区里的路灯晚上全灭了，已经好几天了，出门很不安全")
    services = app.state.runtime
    async with services.sessionmaker() as session:
        opened = (
            await session.execute(
                select(ChannelIdentity.last_inbound_at).where(ChannelIdentity.external_id == citizen.openid)
            )
        ).scalar_one()
    if opened.tzinfo is None:
        opened = opened.replace(tzinfo=dt.UTC)
    staff = await staff_token(app)
    await act(client, staff, number, "transfer")
    await burst(app)
    [message] = sent_to(wechat_api, "/message/custom/send", citizen.openid)
    assert number in message["text"]["content"] and "已转交" in message["text"]["content"]
    # The quota of the window (3 in this config) used up: the next push is a template.
    await services.redis.set(services.keys.wechat_quota(citizen.openid, int(opened.timestamp())), 3)
    await act(client, staff, number, "escalate", level="区县", reason="需区里协调")
    await burst(app)
    assert len(sent_to(wechat_api, "/message/custom/send", citizen.openid)) == 1
    assert [t["template_id"] for t in sent_to(wechat_api, "/message/template/send", citizen.openid)] == [
        "TPL-CASE-STATUS"
    ]


async def test_an_expired_token_is_fetched_again_once(station, wechat_api):
    app, server, client = station
    citizen = Follower(server)
    number = await citizen.report("马路上的井盖丢了一个，晚上车辆经过很危险")
    wechat_api.answers.insert(
        0,
        lambda path, body: (
            (200, {"errcode": 42001, "errmsg": "access_token expired"})
            if path.endswith("/custom/send") and body.get("access_token") == "TOKEN-1"
            else None
        ),
    )
    staff = await staff_token(app)
    await act(client, staff, number, "transfer")
    await burst(app)
    tries = sent_to(wechat_api, "/message/custom/send", citizen.openid)
    assert [t["access_token"] for t in tries] == ["TOKEN-1", "TOKEN-2"]
    assert len(wechat_api.calls_to("/cgi-bin/token")) == 2
    [push] = await rows(app, select(Push).where(Push.address == citizen.openid, Push.kind == "case_status"))
    assert push.status == "sent"

    # Refused again with the new token: one refetch only, and the error is kept with its code.
    wechat_api.answers.insert(
        0,
        lambda path, body: (
            (200, {"errcode": 40001, "errmsg": "invalid credential"}) if path.endswith("/custom/send") else None
        ),
    )
    await act(client, staff, number, "answer_on_spot", answer="井盖已补上。")
    tokens_before = len(wechat_api.calls_to("/cgi-bin/token"))
    await burst(app)
    assert len(wechat_api.calls_to("/cgi-bin/token")) == tokens_before + 1
    [push] = await rows(app, select(Push).where(Push.address == citizen.openid, Push.kind == "reply_ready"))
    assert push.status == "failed" and push.last_error.startswith("40001")


async def test_an_unfollowed_citizen_gets_no_more_pushes(station, wechat_api):
    app, server, client = station
    citizen = Follower(server)
    number = await citizen.report("菜市场门口的垃圾堆了好几天没人清理，味道很大")
    assert await citizen.event("event_unsubscribe") == ""
    await act(client, await staff_token(app), number, "transfer")
    await burst(app)
    assert sent_to(wechat_api, "/message/custom/send", citizen.openid) == []
    [push] = await rows(app, select(Push).where(Push.address == citizen.openid, Push.kind == "case_status"))
    assert push.status == "failed" and push.last_error.startswith("unsubscribed")


# --- what is refused


async def test_forgeries_and_dangerous_bodies_are_refused_quickly_logged_and_not_stored(station, caplog):
    app, server, client = station
    caplog.set_level(logging.WARNING)
    user = openid()
    xml = server.xml("text", openid=user, content="你好")
    params, body = server.signed(xml)

    async def post(content: bytes, query: dict[str, str]) -> httpx.Response:
        return await client.post("/wechat", params=query, content=content)

    assert (await post(body.encode(), {**params, "signature": "f" * 40})).status_code == 403
    assert (await post(body.encode(), {k: v for k, v in params.items() if k != "signature"})).status_code == 403
    assert (await post(body.encode(), {**params, "msg_signature": "0" * 40})).status_code == 403
    for fixture in ("entity_bomb", "external_entity"):
        dangerous = server.xml(fixture, openid=user)
        plain_params, _ = WeChatServer(client, safe=False).signed(dangerous)
        assert (await post(dangerous.encode(), plain_params)).status_code == 400  # as sent
        sealed_params, sealed = server.signed(dangerous)
        assert (await post(sealed.encode(), sealed_params)).status_code == 400  # inside the encryption
    # A signed URL carries one body only (another is a replay): each of these is signed afresh.
    assert (await post(b"<xml><Encrypt>not base64", server.signed(xml)[0])).status_code == 400
    huge = b"<xml>" + b"a" * 132_000 + b"</xml>"
    assert (await post(huge, server.signed(xml)[0])).status_code == 413
    assert (await post(b"<xml>" + b"a" * 300_000 + b"</xml>", server.signed(xml)[0])).status_code == 413
    assert await rows(app, select(ChannelIdentity).where(ChannelIdentity.external_id == user)) == []
    refusals = [r for r in caplog.records if r.levelno == logging.WARNING and "refused" in r.getMessage()]
    assert len(refusals) == 10, [r.getMessage() for r in refusals]


async def inbound_texts(app, user: str) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        await rows(
            app,
            select(Message.text)
            .join(Conversation, Conversation.id == Message.conversation_id)
            .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
            .where(ChannelIdentity.external_id == user, Message.direction == "in")
            .order_by(Message.id),
        )
    )


@pytest.mark.parametrize("safe", [True, False], ids=["safe-mode", "plaintext"])
async def test_a_signed_url_replayed_with_another_body_is_refused_and_a_retry_is_answered_once(
    settings, wechat_api, wechat_config, clock, safe, caplog
):
    """The signature covers the query string only: a second body under one (timestamp, nonce) is a replay. The same
    request again is WeChat's retry: answered as ever, stored once."""
    clock.freeze(dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC))
    mode = {} if safe else {"wechat_safe_mode": False, "wechat_aes_key": ""}
    async with account(settings, wechat_api, wechat_config, safe=safe, **mode) as (app, _, client):
        app.state.wechat.clock = clock
        server = WeChatServer(client, safe=safe, clock=clock)
        citizen, victim = openid(), openid()
        params, body = server.signed(server.xml("text", openid=citizen, content="你好"))

        async def post(content: str) -> httpx.Response:
            return await client.post(
                "/wechat", params=params, content=content.encode(), headers={"content-type": "text/xml"}
            )

        first = await post(body)
        retry = await post(body)
        assert "联络站" in server.read(first) and server.read(retry) == server.read(first)
        assert await inbound_texts(app, citizen) == ["你好"]

        caplog.set_level(logging.WARNING)
        forged_xml = server.xml("text", openid=victim, content="我的案件")
        forged = forged_xml if not safe else body.replace("</xml>", "<Encrypt2/></xml>")
        clock.advance(minutes=4)
        refused = await post(forged)
        assert refused.status_code == 403 and refused.json()["code"] == "replayed", refused.text
        assert "重放" in refused.json()["message"]
        assert await inbound_texts(app, victim) == [] and await inbound_texts(app, citizen) == ["你好"]
        assert any("replayed" in r.getMessage() and "/wechat" in r.getMessage() for r in caplog.records)
        keys = app.state.runtime.keys
        assert await app.state.runtime.redis.ttl(keys.wechat_nonce(params["timestamp"], params["nonce"])) > 0


@pytest.mark.parametrize(
    "sent_at",
    [
        lambda now: now - dt.timedelta(minutes=21),
        lambda now: now + dt.timedelta(seconds=301),
        lambda now: dt.datetime.fromtimestamp(1, dt.UTC),
    ],
    ids=["logged-21-minutes-ago", "5-minutes-1-second-ahead", "timestamp-1"],
)
async def test_a_stale_timestamp_is_refused_logged_and_not_stored(
    settings, wechat_api, wechat_config, clock, caplog, sent_at
):
    """A logged URL used 21 minutes later, a clock more than 5 minutes ahead, `timestamp=1`: all refused."""
    now = clock.freeze(dt.datetime(2026, 11, 23, 2, 0, tzinfo=dt.UTC))
    wechat_clock = Clock()
    wechat_clock.freeze(sent_at(now))
    caplog.set_level(logging.WARNING)
    for safe in (True, False):
        mode = {} if safe else {"wechat_safe_mode": False, "wechat_aes_key": ""}
        async with account(settings, wechat_api, wechat_config, **mode) as (app, _, client):
            app.state.wechat.clock = clock
            late = WeChatServer(client, safe=safe, clock=wechat_clock)
            user = openid()
            response = await late.post(late.xml("text", openid=user, content="查询我的案件"))
            assert response.status_code == 403 and response.json()["code"] == "stale_timestamp", response.text
            assert await inbound_texts(app, user) == []
            params, _ = late.signed("")
            check = await client.get("/wechat", params={**params, "echostr": "42"})
            assert check.status_code == 403 and check.json()["code"] == "stale_timestamp"
            on_time = WeChatServer(client, safe=safe, clock=clock)
            assert "联络站" in await on_time.send("text", openid=user, content="你好")
    stale = [r.getMessage() for r in caplog.records if "stale_timestamp" in r.getMessage()]
    assert len(stale) == 4 and all("off the server's clock" in line for line in stale), stale


async def test_safe_mode_is_the_default_once_an_aes_key_is_set(settings, wechat_api, wechat_config):
    async with account(settings, wechat_api, wechat_config, wechat_safe_mode=None) as (app, server, client):
        plain = WeChatServer(client, safe=False)
        user = openid()
        refused = await plain.post(plain.xml("text", openid=user, content="你好"))
        assert refused.status_code == 403 and await inbound_texts(app, user) == []
        assert "联络站" in await server.send("text", openid=user, content="你好")


@pytest.mark.parametrize("mode", ["plaintext", "safe", "compatible"])
async def test_a_ten_thousand_character_message_arrives_whole(settings, wechat_api, wechat_config, mode):
    """About 30 KB of UTF-8; about 40 KB encrypted; both at once in compatible mode."""
    text = "小区门口的路灯坏了一个多月晚上一片漆黑。" * 500
    assert len(text) == 10_000
    overrides: dict[str, Any] = {
        "plaintext": {"wechat_safe_mode": False, "wechat_aes_key": ""},
        "safe": {},
        "compatible": {"wechat_safe_mode": False},
    }[mode]
    async with account(settings, wechat_api, wechat_config, safe=mode != "plaintext", **overrides) as (
        app,
        server,
        client,
    ):
        user = openid()
        xml = server.xml("text", openid=user, content=text)
        params, body = server.signed(xml)
        if mode == "compatible":
            # WeChat's compatible mode sends the message twice: in the clear and encrypted.
            body = xml.replace("</xml>", body[body.index("<Encrypt>") : body.index("</xml>")] + "</xml>")
        response = await client.post(
            "/wechat", params=params, content=body.encode(), headers={"content-type": "text/xml"}
        )
        assert response.status_code == 200, response.text
        assert len(body.encode()) > 16 * 1024
        assert await inbound_texts(app, user) == [text]


# --- whole conversations


async def test_a_whole_conversation_subscribe_report_case_number(station):
    app, server, _ = station
    citizen = Follower(server)
    assert "欢迎来到" in await citizen.event("event_subscribe")
    assert texts.ASK_DESCRIPTION in await citizen.event("event_click", key="report")
    assert "在哪里" in await citizen.say("学校门口的斑马线都磨没了，孩子们过马路很危险")
    reply = await citizen.event("location", latitude="23.1", longitude="113.3", label="实验小学门口")
    assert "已收到位置：实验小学门口" in reply
    reply = await citizen.answer_until(reply, "已受理，编号")
    number = reply.split("编号 ")[1].split("。")[0]
    [case] = await rows(app, select(Case).where(Case.number == number))
    assert "斑马线" in case.description and case.state == "received"
    status = await citizen.event("event_click", key="progress")
    assert number in status


async def test_deputies_bind_their_chat_receive_pushes_and_act_with_short_words(station, wechat_api):
    app, server, client = station
    services = app.state.runtime
    deputy = Follower(server)
    code = await issue_bind_code(services.settings, "wang-min")
    assert "绑定成功：王敏代表" in await deputy.say(f"绑定 {code}")
    assert texts.BIND_CODE_INVALID in await Follower(server).say(f"绑定 {code}")  # used once
    [user] = await rows(app, select(User).where(User.address == deputy.openid))
    async with services.sessionmaker() as session:
        wang = (await DirectoryStore(session).ids(Deputy))["wang-min"]
    assert (user.role, user.channel, user.deputy_id) == ("deputy", "wechat", wang)

    citizen = Follower(server)
    assert "您正在联系 王敏 代表" in await citizen.event("event_subscribe_scene", scene="deputy:wang-min")
    number = await citizen.report("村口的桥栏杆断了一截，小孩子放学经过很危险，请代表帮忙反映")
    [case] = await rows(app, select(Case).where(Case.number == number))
    assert case.deputy_id == wang
    staff = await staff_token(app)
    await act(client, staff, number, "transfer")
    await burst(app)
    assert any(number in m["text"]["content"] for m in sent_to(wechat_api, "/message/custom/send", deputy.openid))

    assert "已记录：您已联系案件" in await deputy.say("已联系，电话沟通过了")
    assert texts.DEPUTY_ASK_ANSWER in await deputy.say("当场答复")
    assert f"已记录您对案件 {number} 的当场答复" in await deputy.say(f"当场答复 {number} 已联系村委会，周五前修好栏杆")
    [case] = await rows(app, select(Case).where(Case.number == number))
    assert case.state == "answered_on_spot"
    events = await rows(app, select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    assert [e.action for e in events][-2:] == ["deputy_contact", "answer_on_spot"]
    await burst(app)
    answer = [m["text"]["content"] for m in sent_to(wechat_api, "/message/custom/send", citizen.openid)]
    assert any("周五前修好栏杆" in t and "满意吗" in t for t in answer)

    other = await Follower(server).report("小区的电梯经常坏，困过好几次人了，物业不管")
    assert f"您已跟进案件 {other}" in await deputy.say(f"我来跟进 {other}")
    [taken] = await rows(app, select(Case).where(Case.number == other))
    assert taken.deputy_id == wang
    # Someone who is not a deputy saying the same words is a citizen like any other.
    assert "您已跟进" not in await Follower(server).say(f"我来跟进 {other}")


# --- the commands


async def test_a_deputy_qr_code_and_the_menu(settings, wechat_api, wechat_config, tmp_path):
    configured = wechat_settings(settings, wechat_api, wechat_config)
    path, url = await deputy_qrcode(configured, "wang-min", tmp_path / "wang-min.png")
    assert url == "http://weixin.qq.com/q/deputy:wang-min"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    [created] = wechat_api.calls_to("/qrcode/create")
    assert created["action_name"] == "QR_LIMIT_STR_SCENE"
    assert created["action_info"]["scene"]["scene_str"] == "deputy:wang-min"
    menu = await create_menu(configured)
    [sent] = wechat_api.calls_to("/menu/create")
    assert sent == {**menu, "access_token": "TOKEN-1"}
    assert [b["name"] for b in sent["button"]] == ["反映问题", "查询进度", "联络站"]
    assert [b["key"] for b in sent["button"][2]["sub_button"]] == ["booking", "station"]


def test_the_commands_from_the_shell(sqlite_url, real_redis_url, wechat_api, wechat_config, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "REDIS_URL": real_redis_url,
        "LIAISON_REDIS_PREFIX": f"test:{uuid.uuid4().hex[:8]}:",
        "LIAISON_CONFIG": str(wechat_config),
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": "s3cret",
        "WECHAT_API_BASE": f"{wechat_api.url}/cgi-bin/",
    }
    liaison = str(Path(sys.executable).parent / "liaison")
    out = tmp_path / "qr.png"
    made = subprocess.run(
        [liaison, "wechat", "qrcode", "--deputy", "chen-li", "--out", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert made.returncode == 0, made.stderr
    assert out.exists() and "deputy:chen-li" in made.stdout
    menu = subprocess.run([liaison, "wechat", "menu"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert menu.returncode == 0 and json.loads(menu.stdout)["button"][0]["key"] == "report"
    code = subprocess.run(
        [liaison, "deputy", "bind-code", "chen-li"], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert code.returncode == 0 and len(code.stdout.strip()) == 8
    unknown = subprocess.run(
        [liaison, "wechat", "qrcode", "--deputy", "nobody"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert unknown.returncode != 0 and "nobody" in unknown.stderr
