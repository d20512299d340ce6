"""Hostile and malformed input at every door, through the real app (real Rasa, Redis, both databases).

Each input is refused at the door with its exact status and code (or, where the channel's protocol
wants it, acknowledged), nothing is stored or doubled, and a good message right after still works.
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from bot.http.app import create_app
from storage.models import Case, CaseEvent, ChannelIdentity, Conversation, Message
from storage.repositories import UserStore
from tests.conftest import ROOT, client_for
from tests.integration.recorder import RecordingApi
from tests.integration.test_conversations import Citizen
from tests.integration.test_telegram import SECRET, TelegramCitizen, update
from tests.integration.test_wechat import Follower, WeChatAnswers, WeChatServer, openid, wechat_settings

pytestmark = pytest.mark.integration
TELEGRAM = {"x-telegram-bot-api-secret-token": SECRET, "content-type": "application/json"}
JSON = {"content-type": "application/json"}


@pytest.fixture
def recorder():
    with RecordingApi() as api:
        api.answers.append(WeChatAnswers())
        yield api


@pytest.fixture
async def doors(settings, recorder):
    """The app with all its doors open: WeChat (safe mode), Telegram (with its secret), the JSON API."""
    app = create_app(
        wechat_settings(
            settings,
            recorder,
            ROOT / "config.yml",
            telegram_token="123:TEST",
            telegram_api_base=recorder.url,
            telegram_secret=SECRET,
        )
    )
    async for client in client_for(app):
        yield app, client


async def stored(app) -> int:  # type: ignore[no-untyped-def]
    """Every message row (both directions): the databases are shared, so tests compare before and after."""
    async with app.state.runtime.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Message))).scalar_one()


async def texts_of(app, user: str) -> list[str]:  # type: ignore[no-untyped-def]
    async with app.state.runtime.sessionmaker() as session:
        return list(
            (
                await session.execute(
                    select(Message.text)
                    .join(Conversation, Conversation.id == Message.conversation_id)
                    .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                    .where(ChannelIdentity.external_id == user, Message.direction == "in")
                    .order_by(Message.id)
                )
            ).scalars()
        )


def refused(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    """The one rendering of a refusal: the status, the code, a Chinese message."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code, body
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"]), body
    return body


def sent_to(recorder: RecordingApi, chat_id: int) -> list[str]:
    return [c["text"] for c in recorder.calls_to("/sendMessage") if str(c["chat_id"]) == str(chat_id)]


async def staff_token(app) -> str:  # type: ignore[no-untyped-def]
    async with app.state.runtime.sessionmaker() as session:
        _, token = await UserStore(session).add(name=f"staff-{uuid.uuid4().hex[:8]}", role="staff")
        await session.commit()
    return token


# --- Telegram


NESTED = b"[" * 20_000 + b"]" * 20_000


@pytest.mark.parametrize(
    "body",
    [
        b"[]",
        b'"x"',
        b"null",
        b"{}",
        b"[1,2",
        NESTED,
        b'{"update_id": 1, "message": ' + NESTED + b"}",
        b'{"update_id": "7"}',
        b'{"update_id": 7, "message": []}',
        b'{"update_id": 7, "message": {"chat": "x", "text": "hi"}}',
    ],
    ids=[
        "list",
        "string",
        "null",
        "no-update-id",
        "broken",
        "nested",
        "nested-inside",
        "string-id",
        "list-message",
        "string-chat",
    ],
)
async def test_a_telegram_body_that_is_no_update_is_refused(doors, recorder, body):
    app, client = doors
    before = await stored(app)
    refused(await client.post("/telegram", content=body, headers=TELEGRAM), 400, "malformed")
    assert await stored(app) == before
    assert recorder.calls_to("/sendMessage") == []
    chat = uuid.uuid4().int % 10**9
    good = await client.post("/telegram", json=update(chat, chat, text="你好"), headers=TELEGRAM)
    assert good.status_code == 200, good.text
    assert len(sent_to(recorder, chat)) == 1


async def test_a_telegram_update_that_is_no_message_is_acknowledged_and_not_stored(doors, recorder):
    app, client = doors
    before = await stored(app)
    edit = {"update_id": 5, "edited_message": update(42, 5, text="改了")["message"]}
    response = await client.post("/telegram", json=edit, headers=TELEGRAM)
    # 200: Telegram would otherwise send it again and again; we simply do not handle edits.
    assert response.status_code == 200 and response.json()["code"] == "ignored"
    assert await stored(app) == before and recorder.calls_to("/sendMessage") == []


async def test_a_nul_in_a_telegram_text_is_dropped_and_the_message_kept(doors, recorder):
    app, client = doors
    chat = uuid.uuid4().int % 10**9
    body = json.dumps(update(chat, chat, text="你\u0000好\ud800")).encode()  # ASCII escapes, as JSON allows
    response = await client.post("/telegram", content=body, headers=TELEGRAM)
    assert response.status_code == 200, response.text
    assert await texts_of(app, str(chat)) == ["你好\ufffd"]
    assert len(sent_to(recorder, chat)) == 1


# --- POST /api/messages


def message(user: str, **fields: object) -> bytes:
    return json.dumps({"channel": "web", "user_id": user, "text": "你好", **fields}).encode()


@pytest.mark.parametrize(
    "raw, code",
    [
        (
            b'{"channel": "web", "user_id": "U", "type": "location", "latitude": 1e999, "longitude": 1}',
            "invalid_request",
        ),
        (
            b'{"channel": "web", "user_id": "U", "type": "location", "latitude": -1e999, "longitude": 1}',
            "invalid_request",
        ),
        (b'{"channel": "web", "user_id": "U", "type": "location", "latitude": NaN, "longitude": 1}', "invalid_request"),
        (
            b'{"channel": "web", "user_id": "U", "type": "location", "latitude": 1, "longitude": Infinity}',
            "invalid_request",
        ),
        (
            b'{"channel": "web", "user_id": "U", "type": "location", "latitude": 90.5, "longitude": 1}',
            "invalid_request",
        ),
        (b'{"channel": "web", "user_id": "U\\ud800", "text": "hi"}', "invalid_request"),
        (b'{"channel": "web", "user_id": "U", "text": "\\udfff"}', "invalid_request"),
        (b'{"channel": "web", "user_id": "U\\u0000", "text": "hi"}', "invalid_id"),
        (b'{"channel": "web", "user_id": "U", "text": "hi", "message_id": "m\\u0000"}', "invalid_id"),
        (b'{"channel": "web", "user_id": "U", "text": "\\u0000"}', "invalid_request"),
        (b'{"channel": "web", "user_id": "U", "text": "hi"', "malformed_json"),
        (b'{"channel": "web", "user_id": "U", "text": ' + NESTED + b"}", "malformed"),
    ],
    ids=[
        "infinite-latitude",
        "minus-infinite-latitude",
        "nan-latitude",
        "infinite-longitude",
        "latitude-over-90",
        "surrogate-user",
        "surrogate-text",
        "nul-user",
        "nul-message-id",
        "only-nul-text",
        "broken-json",
        "nested-json",
    ],
)
async def test_a_hostile_message_is_refused_at_the_api(doors, user_id, raw, code):
    app, client = doors
    before = await stored(app)
    response = await client.post("/api/messages", content=raw.replace(b'"U', f'"{user_id}'.encode()), headers=JSON)
    refused(response, 400 if code == "malformed" else 422, code)
    assert await stored(app) == before
    good = await client.post("/api/messages", content=message(user_id), headers=JSON)
    assert good.status_code == 200 and good.json()["replies"], good.text


async def test_a_nul_in_a_text_at_the_api_is_dropped_once(doors, user_id):
    app, client = doors
    body = message(user_id, text="路灯\u0000坏了", message_id=f"n-{user_id}")
    first = await client.post("/api/messages", content=body, headers=JSON)
    again = await client.post("/api/messages", content=body, headers=JSON)
    assert first.status_code == again.status_code == 200, (first.text, again.text)
    assert first.json() == again.json()
    assert await texts_of(app, user_id) == ["路灯坏了"]


# --- who may speak for a citizen at POST /api/messages


async def case_state(app, number: str) -> str:  # type: ignore[no-untyped-def]
    async with app.state.runtime.sessionmaker() as session:
        return (await session.execute(select(Case.state).where(Case.number == number))).scalar_one()


@pytest.mark.parametrize("key", [None, "web-key", "every-key"], ids=["local-trial", "web-key", "key-of-many-channels"])
async def test_no_key_lets_the_api_speak_for_a_telegram_or_wechat_citizen(settings, recorder, key):
    """The signed channels are spoken for by their own doors only: the API cannot read or withdraw their cases."""
    keys = {"api_key": "web-key", "api_keys": {"every-key": ["web", "app", "kiosk"]}} if key else {}
    app = create_app(
        wechat_settings(
            settings,
            recorder,
            ROOT / "config.yml",
            telegram_token="123:TEST",
            telegram_api_base=recorder.url,
            telegram_secret=SECRET,
            **keys,
        )
    )
    async for client in client_for(app):
        on_telegram = TelegramCitizen(client, recorder)
        on_wechat = Follower(WeChatServer(client))
        numbers = {
            "telegram": (on_telegram.user_id, await on_telegram.report("小区门口的路灯坏了好几盏，晚上很黑")),
            "wechat": (on_wechat.openid, await on_wechat.report("菜市场门口的垃圾堆了好几天没人清理")),
        }
        before = await stored(app)
        for channel, (user, number) in numbers.items():
            for text in ("我的案件", f"查询 {number}", "撤回"):
                body = {"channel": channel, "user_id": user, "text": text}
                response = await client.post("/api/messages", json=body, headers={"x-channel-key": key} if key else {})
                assert channel in refused(response, 403, "signed_channel")["message"]
                assert number not in response.text
            assert await case_state(app, number) == "received"
        assert await stored(app) == before


async def test_a_channel_key_speaks_only_for_the_channels_it_names(settings, user_id):
    keyed = settings.model_copy(update={"api_key": "legacy-key", "api_keys": {"kiosk-key": ["kiosk", "app"]}})
    app = create_app(keyed, local_trial=False)
    async for client in client_for(app):
        said = {"user_id": user_id, "text": "你好"}
        for channel, headers in [
            ("web", {"x-channel-key": "legacy-key"}),
            ("kiosk", {"x-channel-key": "kiosk-key"}),
            ("app", {"authorization": "Bearer kiosk-key"}),
        ]:
            response = await client.post("/api/messages", json={"channel": channel, **said}, headers=headers)
            assert response.status_code == 200, response.text
        before = await stored(app)
        for channel, key, status, code in [
            ("kiosk", "legacy-key", 403, "key_not_for_channel"),
            ("web", "kiosk-key", 403, "key_not_for_channel"),
            ("web", "kiosk-key2", 401, "bad_channel_key"),
            ("web", "", 401, "bad_channel_key"),
        ]:
            response = await client.post(
                "/api/messages", json={"channel": channel, **said}, headers={"x-channel-key": key}
            )
            assert channel in refused(response, status, code)["message"] or status == 401
        assert await stored(app) == before


# --- WeChat


async def test_a_wechat_msgid_longer_than_its_column_is_refused(doors):
    app, client = doors
    server, user = WeChatServer(client), openid()
    before = await stored(app)
    refused(await server.post(server.xml("text", openid=user, content="你好", msg_id="9" * 129)), 400, "malformed")
    assert await stored(app) == before
    assert await server.send("text", openid=user, content="你好", msg_id="8" * 128)
    assert await texts_of(app, user) == ["你好"]


@pytest.mark.parametrize("content", ["你&#0;好", "你\u0000好"], ids=["reference", "raw"])
async def test_a_nul_in_wechat_xml_is_refused(doors, content):
    app, client = doors
    server, user = WeChatServer(client, safe=False), openid()
    before = await stored(app)
    xml = server.xml("text", openid=user, content="X").replace("<![CDATA[X]]>", content)
    params, body = server.signed(xml)
    response = await client.post("/wechat", params=params, content=body.encode(), headers={"content-type": "text/xml"})
    assert response.status_code == 400, response.text
    assert await stored(app) == before


# --- the staff API's query parameters


@pytest.mark.parametrize(
    "path, params, code",
    [
        ("/api/cases", {"limit": "-1"}, "invalid_request"),
        ("/api/cases", {"limit": "0"}, "invalid_request"),
        ("/api/cases", {"limit": "1001"}, "invalid_request"),
        ("/api/cases", {"limit": str(10**30)}, "invalid_request"),
        ("/api/cases", {"limit": "many"}, "invalid_request"),
        ("/api/cases", {"state": "\u0000"}, "invalid_text"),
        ("/api/cases/LL%00", {}, "invalid_text"),
        ("/api/reception/sessions", {"from": "9999-12-31", "days": "90"}, "invalid_request"),
        ("/api/reception/sessions", {"from": "2026-13-01"}, "invalid_request"),
        ("/api/reception/sessions", {"days": "-1"}, "invalid_request"),
        ("/api/reception/bookings", {"days": str(10**30)}, "invalid_request"),
        ("/api/reception/bookings", {"session": "s\u0000"}, "invalid_text"),
        ("/api/reports/figures", {"month": "2026-13"}, "bad_month"),
        ("/api/reports/figures", {"month": "0000-01"}, "bad_month"),
        ("/api/reports/figures", {"month": "9999-12"}, "bad_month"),
        ("/api/lists/export", {"month": "2026-00"}, "bad_month"),
        ("/api/lists/suggestions", {"month": "2026-1-1"}, "bad_month"),
        ("/api/deputies/D1/record", {"year": "-1"}, "invalid_request"),
    ],
)
async def test_a_bad_query_parameter_is_refused_not_a_500(doors, path, params, code):
    app, client = doors
    token = await staff_token(app)
    response = await client.get(path, params=params, headers={"authorization": f"Bearer {token}"})
    refused(response, 422, code)


async def test_a_good_limit_still_lists(doors):
    app, client = doors
    token = await staff_token(app)
    response = await client.get("/api/cases", params={"limit": "1"}, headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 200 and len(response.json()) <= 1


async def test_a_body_that_is_not_json_gets_a_chinese_refusal(doors):
    app, client = doors
    token = await staff_token(app)
    response = await client.post(
        "/api/cases/LL1/actions", content=b"{", headers={"authorization": f"Bearer {token}", **JSON}
    )
    refused(response, 422, "malformed_json")
    refused(await client.get("/api/cases"), 401, "unauthenticated")
    refused(await client.get("/api/nothing-here"), 404, "not_found")


@pytest.mark.parametrize(
    "reason",
    [b'"\\u0000"', b'"ok\\u0000"', b'"\\ud800"', b'"ok", "level": "\\u0000"'],
    ids=["nul", "trailing-nul", "surrogate", "other-field"],
)
async def test_an_unstorable_string_in_a_staff_body_is_refused_and_nothing_changes(doors, user_id, reason):
    app, client = doors
    number = await Citizen(client, user_id).report("幸福路上的路灯坏了好几盏，晚上一片漆黑，走路很不安全")
    auth = {"authorization": f"Bearer {await staff_token(app)}", **JSON}
    events = await events_of(app, number)
    raw = b'{"action": "transfer", "reason": ' + reason + b"}"
    refused(await client.post(f"/api/cases/{number}/actions", content=raw, headers=auth), 422, "invalid_text")
    refused(
        await client.post("/api/reception/sessions/any/close", content=b'{"reason": ' + reason + b"}", headers=auth),
        422,
        "invalid_text",
    )
    assert await events_of(app, number) == events
    done = await client.post(
        f"/api/cases/{number}/actions", json={"action": "transfer", "reason": "请核实"}, headers=auth
    )
    assert done.status_code == 200 and done.json()["to"] == "transferred", done.text
    assert len(await events_of(app, number)) == len(events) + 1


async def events_of(app, number: str) -> list[str]:  # type: ignore[no-untyped-def]
    async with app.state.runtime.sessionmaker() as session:
        return list(
            (
                await session.execute(
                    select(CaseEvent.action)
                    .join(Case, Case.id == CaseEvent.case_id)
                    .where(Case.number == number)
                    .order_by(CaseEvent.id)
                )
            ).scalars()
        )


async def test_a_field_longer_than_its_column_is_refused_before_it_reaches_the_store(doors):
    app, client = doors
    auth = {"authorization": f"Bearer {await staff_token(app)}"}
    body = {"outcome": "case", "topic": "城" * 41}
    response = await client.post("/api/reception/bookings/B1/outcome", json=body, headers=auth)
    assert refused(response, 422, "invalid_request")["message"] == "请求参数有误：topic。"
