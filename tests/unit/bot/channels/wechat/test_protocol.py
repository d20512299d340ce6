"""The WeChat protocol on its own: signatures, safe mode, safe XML, what each message becomes."""

from __future__ import annotations

import base64
import datetime as dt

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bot.channels.wechat.protocol import Dangerous, Forged, Malformed, Protocol, safe_fields
from tests.conftest import ROOT

TOKEN, APP_ID = "t0ken", "wx123"
AES_KEY = base64.b64encode(b"k" * 32).decode().rstrip("=")
FIXTURES = ROOT / "tests" / "fixtures" / "wechat"


def fixture(name: str, **fields: object) -> str:
    fields = {"account": "gh_1", "openid": "o-citizen", "time": 1700000000, "msg_id": 42, **fields}
    return (FIXTURES / f"{name}.xml").read_text(encoding="utf-8").format(**fields)


# The server's clock when WeChat's request arrives.
NOW = dt.datetime.fromtimestamp(1700000000, dt.UTC)


def signed(token: str = TOKEN, timestamp: str = "1700000000") -> dict[str, str]:
    nonce = "7171"
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce}


def test_a_plaintext_message_becomes_an_inbound():
    delivery = Protocol(TOKEN).open(signed(), fixture("text", content="路灯坏了").encode(), NOW)
    inbound = delivery.inbound
    assert (inbound.channel, inbound.user_id, inbound.kind, inbound.text) == ("wechat", "o-citizen", "text", "路灯坏了")
    assert inbound.external_id == "42" and delivery.account == "gh_1" and not delivery.encrypted


def test_signatures_are_checked():
    protocol = Protocol(TOKEN)
    body = fixture("text", content="x").encode()
    with pytest.raises(Forged):
        protocol.open(signed("another-token"), body, NOW)
    with pytest.raises(Forged):
        protocol.open({}, body, NOW)
    assert protocol.verify_url({**signed(), "echostr": "abc"}, NOW) == "abc"


def test_safe_mode_opens_encrypted_messages_answers_encrypted_and_refuses_plaintext():
    protocol = Protocol(TOKEN, AES_KEY, APP_ID, safe_mode=True)
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    query = signed()
    sealed = xmltodict.parse(
        crypto.encrypt_message(fixture("text", content="你好"), query["nonce"], query["timestamp"])
    )["xml"]
    body = f"<xml><ToUserName>gh_1</ToUserName><Encrypt>{sealed['Encrypt']}</Encrypt></xml>".encode()
    delivery = protocol.open({**query, "encrypt_type": "aes", "msg_signature": sealed["MsgSignature"]}, body, NOW)
    assert delivery.encrypted and delivery.inbound.text == "你好"
    rendered = protocol.render(delivery, "收到 ]]> 了")
    answer = xmltodict.parse(rendered)["xml"]
    plain = crypto.decrypt_message(rendered, answer["MsgSignature"], answer["TimeStamp"], answer["Nonce"])
    assert xmltodict.parse(plain)["xml"]["Content"] == "收到 ]]> 了"
    with pytest.raises(Forged):
        protocol.open({**query, "encrypt_type": "aes", "msg_signature": "0" * 40}, body, NOW)
    with pytest.raises(Forged):
        protocol.open(query, fixture("text", content="x").encode(), NOW)


@pytest.mark.parametrize(
    "timestamp",
    ["1", "1699999699", "1700000301", "0x65", "１７００００００００", "9" * 40],
    ids=["epoch-plus-1", "301s-behind", "301s-ahead", "hex", "fullwidth-digits", "40-digits"],
)
def test_a_timestamp_more_than_five_minutes_off_is_refused(timestamp):
    protocol = Protocol(TOKEN)
    body = fixture("text", content="x").encode()
    with pytest.raises(Forged) as refused:
        protocol.open(signed(timestamp=timestamp), body, NOW)
    assert refused.value.code == "stale_timestamp" and refused.value.status == 403
    with pytest.raises(Forged):
        protocol.verify_url({**signed(timestamp=timestamp), "echostr": "abc"}, NOW)


@pytest.mark.parametrize("timestamp", ["1699999700", "1700000300"], ids=["5-minutes-behind", "5-minutes-ahead"])
def test_a_timestamp_within_five_minutes_is_taken(timestamp):
    delivery = Protocol(TOKEN).open(signed(timestamp=timestamp), fixture("text", content="x").encode(), NOW)
    assert delivery.inbound.text == "x"


@pytest.mark.parametrize("name", ["entity_bomb", "external_entity"])
def test_dtds_and_entities_are_refused_before_parsing(name):
    with pytest.raises(Dangerous):
        Protocol(TOKEN).open(signed(), fixture(name).encode(), NOW)


def test_malformed_bodies_are_refused():
    for body in (b"", b"<xml>", b"<root><a>1</a></root>", b"\xff\xfe<xml/>", b"<xml><MsgType>text</MsgType></xml>"):
        with pytest.raises(Malformed):
            Protocol(TOKEN).open(signed(), body, NOW)
    assert safe_fields(b"<xml><A>1</A><B/></xml>") == {"A": "1", "B": ""}


def _inbound(name: str, **fields: object):  # type: ignore[no-untyped-def]
    return Protocol(TOKEN).open(signed(), fixture(name, **fields).encode(), NOW).inbound


def test_each_message_type():
    image = _inbound("image", media_id="M1")
    assert (image.kind, image.media_ref) == ("image", "http://mmbiz.qpic.cn/mmbiz_jpg/M1/0")
    voice = _inbound("voice", media_id="V1", recognition="路灯坏了")
    assert (voice.kind, voice.text, voice.media_ref) == ("voice", "路灯坏了", "wechat-media:V1")
    assert _inbound("voice_unrecognised", media_id="V2").text == ""
    place = _inbound("location", latitude="23.5", longitude="113.25", label="人民路")
    assert (place.kind, place.latitude, place.longitude, place.label) == ("location", 23.5, 113.25, "人民路")
    with pytest.raises(Malformed):
        _inbound("location", latitude="123", longitude="0", label="")
    link = _inbound("link", title="标题", url="https://example.org/a")
    assert (link.kind, link.text) == ("text", "标题\nhttps://example.org/a")
    assert _inbound("video", media_id="X").kind == "video"


def test_events():
    follow = _inbound("event_subscribe_scene", scene="deputy:wang-min")
    assert (follow.kind, follow.event, follow.event_key) == ("event", "subscribe", "deputy:wang-min")
    assert follow.external_id == "o-citizen:1700000000:subscribe:deputy:wang-min"
    scan = _inbound("event_scan", scene="deputy:wang-min")
    assert (scan.event, scan.event_key) == ("scan", "deputy:wang-min")
    assert _inbound("event_click", key="report").event_key == "report"
    assert _inbound("event_subscribe").event_key == ""
    assert _inbound("event_scancode_push").event == "scancode_push"
    assert _inbound("event_location").latitude == pytest.approx(23.137466)
