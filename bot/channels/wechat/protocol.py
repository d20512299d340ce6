"""The official account's server protocol: signatures, safe mode (AES), the XML of messages and
events and what each becomes (an `Inbound`). It translates; it decides nothing about the citizen.

Refusals are the project's errors (`casework.errors`), rendered in one place (`bot.http.errors`): a forged or missing
signature, or a timestamp more than 5 minutes off the server's clock, is 403; a malformed body, or XML with a DTD or
entities (an entity bomb, an external entity) is 400; a body over the limit is 413; a door without WECHAT_TOKEN is 503.

The signature covers only the token, the timestamp and the nonce, never the body: a signed query string lets
anyone post any body in plaintext mode. So the timestamp must be fresh (here), and the webhook remembers each
(timestamp, nonce) with its body for that window (`WeChatDoor`): a second body under one nonce is a replay.

The XML is checked with defusedxml (no DTD, no entities) before wechatpy's parser (xmltodict)
sees it, inside the envelope and again inside the decrypted message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature

from casework.errors import Forged, LiaisonError, Malformed
from services.conversations import Inbound
from texts import errors as texts

CHANNEL = "wechat"
# What is kept of fields that end up in columns of bounded size.
MAX_OPENID, MAX_MSG_ID, MAX_MEDIA_REF, MAX_LABEL, MAX_EVENT_KEY = 128, 128, 500, 300, 200
KIND = re.compile(r"^[a-z_]{1,20}$")
DEPUTY_SCENE_PREFIX = "qrscene_"
# How far WeChat's timestamp may be from the server's clock, either way (seconds).
MAX_CLOCK_SKEW = 300


# The door's refusals are the project's errors (casework.errors), rendered by bot.http.errors; the
# detail (English) goes to the log only.
Refused = LiaisonError


class Dangerous(Malformed):
    """A DTD, an entity declaration or an entity reference: never expanded, never fetched."""

    code = "xml_forbidden"


@dataclass(frozen=True)
class Delivery:
    """One message from WeChat's servers, verified and translated."""

    inbound: Inbound
    account: str  # ToUserName: the account's original id, the sender of our reply
    encrypted: bool
    nonce: str


class Protocol:
    """Verifies, opens and answers the server's requests for one official account."""

    def __init__(self, token: str, aes_key: str = "", app_id: str = "", *, safe_mode: bool = False) -> None:
        self.token = token
        self.safe_mode = safe_mode
        if safe_mode and not (aes_key and app_id):
            raise ValueError("WECHAT_SAFE_MODE needs WECHAT_AES_KEY and WECHAT_APP_ID")
        try:
            self.crypto = WeChatCrypto(token, aes_key, app_id) if aes_key else None
        except (AssertionError, ValueError):
            raise ValueError("WECHAT_AES_KEY must be the account's 43-character EncodingAESKey") from None

    def verify_url(self, query: Mapping[str, str], now: dt.datetime) -> str:
        """GET: the server URL check; returns the echostr to send back."""
        self.authenticate(query, now)
        echo = query.get("echostr", "")
        if not echo:
            raise Malformed(detail="echostr is missing")
        return echo

    def open(self, query: Mapping[str, str], body: bytes, now: dt.datetime) -> Delivery:
        """POST: check the signatures and the timestamp, decrypt in safe mode, parse safely, translate."""
        self.authenticate(query, now)
        envelope = safe_fields(body)
        encrypted = query.get("encrypt_type", "").lower() == "aes" or "Encrypt" in envelope
        if self.safe_mode and not encrypted:
            raise Forged(detail="a plaintext message while safe mode is on")
        if encrypted:
            xml = self._decrypt(query, envelope)
            safe_fields(xml.encode("utf-8"))
        else:
            try:
                xml = body.decode("utf-8")
            except UnicodeDecodeError:
                raise Malformed(detail="not UTF-8") from None
        try:
            message = parse_message(xml)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Malformed(detail=f"not a WeChat message: {type(exc).__name__} {exc}") from exc
        if message is None:
            raise Malformed(detail="empty message")
        return Delivery(
            inbound=to_inbound(message),
            account=_text(message._data.get("ToUserName")),
            encrypted=encrypted,
            nonce=query.get("nonce", ""),
        )

    def render(self, delivery: Delivery, text: str) -> str:
        """The passive reply: a text message, encrypted when the request was."""
        # A CDATA section cannot hold "]]>": split it across two sections.
        content = text.replace("]]>", "]]]]><![CDATA[>")
        xml = TextReply(source=delivery.account, target=delivery.inbound.user_id, content=content).render()
        if delivery.encrypted and self.crypto is not None:
            return self.crypto.encrypt_message(xml, delivery.nonce)
        return xml

    def authenticate(self, query: Mapping[str, str], now: dt.datetime) -> None:
        """The query string is signed with the account's token, and its timestamp is fresh."""
        signature, timestamp, nonce = (query.get(k, "") for k in ("signature", "timestamp", "nonce"))
        if not (signature and timestamp and nonce):
            raise Forged(detail="signature, timestamp or nonce is missing")
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except InvalidSignatureException:
            raise Forged(detail="the signature does not match") from None
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            raise Forged(texts.STALE_REQUEST, code="stale_timestamp", detail="the timestamp is not a time")
        off = int(timestamp) - now.timestamp()
        if abs(off) > MAX_CLOCK_SKEW:
            raise Forged(
                texts.STALE_REQUEST,
                code="stale_timestamp",
                detail=f"timestamp {timestamp} is {off:+.0f} s off the server's clock (at most {MAX_CLOCK_SKEW})",
            )

    def _decrypt(self, query: Mapping[str, str], envelope: dict[str, str]) -> str:
        if self.crypto is None:
            raise Malformed(detail="an encrypted message, but WECHAT_AES_KEY is not set")
        msg_signature = query.get("msg_signature", "")
        if not msg_signature:
            raise Forged(detail="msg_signature is missing")
        if not envelope.get("Encrypt"):
            raise Malformed(detail="Encrypt is missing")
        try:
            return self.crypto.decrypt_message(
                envelope, msg_signature, query.get("timestamp", ""), query.get("nonce", "")
            )
        except InvalidSignatureException:
            raise Forged(detail="msg_signature does not match") from None
        except (InvalidAppIdException, ValueError, struct.error, IndexError, TypeError) as exc:
            raise Malformed(detail=f"cannot decrypt: {type(exc).__name__}") from None


def safe_fields(body: bytes) -> dict[str, str]:
    """The top-level fields of `<xml>…</xml>`, refusing any DTD or entity before anything is expanded."""
    upper = body.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise Dangerous(detail="a DTD or entity declaration")
    try:
        root = fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise Dangerous(detail=type(exc).__name__) from None
    except (ParseError, ValueError) as exc:
        raise Malformed(detail=f"not well-formed XML: {exc}") from None
    if root.tag != "xml":
        raise Malformed(detail=f"the root element is <{root.tag}>, not <xml>")
    return {child.tag: child.text or "" for child in root}


def to_inbound(message: Any) -> Inbound:
    """What a parsed WeChat message or event means, channel-neutrally."""
    raw: dict[str, Any] = message._data
    openid = _text(raw.get("FromUserName"))
    if not openid or len(openid) > MAX_OPENID:
        raise Malformed(detail="FromUserName is missing or too long")
    msg_type = _text(raw.get("MsgType")).lower()
    if msg_type == "event":
        return _event(raw, openid)
    external_id = _text(raw.get("MsgId")) or None
    if external_id and len(external_id) > MAX_MSG_ID:
        # WeChat's MsgId is a 64-bit number; anything longer is not from WeChat (and would not fit its column).
        raise Malformed(detail="MsgId is too long")
    base = {"channel": CHANNEL, "user_id": openid, "external_id": external_id}
    if msg_type == "text":
        return Inbound(**base, kind="text", text=_text(raw.get("Content")))
    if msg_type == "image":
        return Inbound(**base, kind="image", media_ref=_media_ref(raw, picture=True))
    if msg_type == "voice":
        # Recognition is WeChat's speech-to-text, present when the account turned it on.
        return Inbound(**base, kind="voice", text=_text(raw.get("Recognition")).strip(), media_ref=_media_ref(raw))
    if msg_type == "location":
        latitude, longitude = _number(raw.get("Location_X")), _number(raw.get("Location_Y"))
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise Malformed(detail="Location_X/Location_Y out of range")
        return Inbound(
            **base, kind="location", latitude=latitude, longitude=longitude, label=_text(raw.get("Label"))[:MAX_LABEL]
        )
    if msg_type == "link":
        text = "\n".join(p for p in (_text(raw.get("Title")).strip(), _text(raw.get("Url")).strip()) if p)
        return Inbound(**base, kind="text", text=text)
    # Video, files, mini-program cards...: recorded as what they are; the bot asks for text instead.
    return Inbound(**base, kind=msg_type if KIND.match(msg_type) else "unknown", media_ref=_media_ref(raw))


def _event(raw: dict[str, Any], openid: str) -> Inbound:
    event = _text(raw.get("Event")).lower()
    key = _text(raw.get("EventKey"))
    if event in ("subscribe", "subscribe_scan"):
        # Following by scanning a QR code: the scene arrives as "qrscene_<scene>".
        event, key = "subscribe", key.removeprefix(DEPUTY_SCENE_PREFIX)
    created = _text(raw.get("CreateTime"))
    if not created:
        raise Malformed(detail="CreateTime is missing")
    latitude = longitude = None
    if event == "location":
        latitude, longitude = _number(raw.get("Latitude")), _number(raw.get("Longitude"))
    # WeChat gives events no MsgId: the sender and CreateTime identify the delivery (and its retries);
    # the event and its key keep two taps on the menu within one second apart.
    tag = key if len(key) <= 32 else hashlib.sha1(key.encode()).hexdigest()[:16]
    return Inbound(
        channel=CHANNEL,
        user_id=openid,
        kind="event",
        event=event[:40],
        event_key=key[:MAX_EVENT_KEY],
        external_id=f"{openid}:{created}:{event[:20]}:{tag}"[:128],
        latitude=latitude,
        longitude=longitude,
    )


def _media_ref(raw: dict[str, Any], picture: bool = False) -> str:
    url = _text(raw.get("PicUrl")) if picture else ""
    if url and len(url) <= MAX_MEDIA_REF:
        return url
    media_id = _text(raw.get("MediaId"))
    return f"wechat-media:{media_id}"[:MAX_MEDIA_REF] if media_id else ""


def _text(value: Any) -> str:
    """A field's text; a repeated or nested field where text belongs is a malformed message."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise Malformed(detail="a field that should be text is not")


def _number(value: Any) -> float:
    try:
        number = float(_text(value))
    except ValueError:
        raise Malformed(detail="a field that should be a number is not") from None
    if not math.isfinite(number):
        raise Malformed(detail="a field that should be a number is not")
    return number
