"""The doors as the platforms speak them: WeChat's servers (signed query, plaintext or AES-encrypted XML, a
fresh timestamp and a unique nonce per delivery; a retry repeats query and body exactly), Telegram's webhook
(the secret-token header) and a JSON client of POST /api/messages (the channel key)."""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

import httpx
import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bench.faultkit.stack import Credentials

ACCOUNT = "gh_faults0station"
TEXT = (
    "<xml><ToUserName><![CDATA[{account}]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
    "<CreateTime>{created}</CreateTime><MsgType><![CDATA[{kind}]]></MsgType><Content><![CDATA[{content}]]></Content>"
    "<MsgId>{msg_id}</MsgId></xml>"
)
API_CHANNEL = "web"

Query = dict[str, str]


def nonce() -> str:
    """WeChat's nonces are numbers of about ten digits."""
    return str(secrets.randbelow(9 * 10**9) + 10**9)


class WeChat:
    def __init__(self, credentials: Credentials) -> None:
        self.token = credentials.wechat_token
        self.crypto = WeChatCrypto(credentials.wechat_token, credentials.wechat_aes_key, credentials.wechat_app_id)
        self._ids = itertools.count(int(time.time() * 1000) * 1000 + secrets.randbelow(1000))

    def msg_id(self) -> str:
        return str(next(self._ids))

    def query(self, timestamp: int | str | None = None, nonce_: str | None = None, token: str | None = None) -> Query:
        timestamp = str(int(time.time()) if timestamp is None else timestamp)
        nonce_ = nonce_ or nonce()
        signer = WeChatSigner()
        signer.add_data(token or self.token, timestamp, nonce_)
        return {"signature": signer.signature, "timestamp": timestamp, "nonce": nonce_, "openid": "x"}

    @staticmethod
    def text_xml(openid: str, content: str, msg_id: str, *, kind: str = "text", created: int | None = None) -> str:
        return TEXT.format(
            account=ACCOUNT,
            openid=openid,
            created=created or int(time.time()),
            kind=kind,
            content=content.replace("]]>", "]]]]><![CDATA[>"),
            msg_id=msg_id,
        )

    def plain(self, openid: str, content: str, msg_id: str | None = None, **query: Any) -> tuple[Query, bytes]:
        """A plaintext delivery (plaintext or compatible mode), signed."""
        return self.query(**query), self.text_xml(openid, content, msg_id or self.msg_id()).encode()

    def seal(self, xml: str | bytes, query: Query, crypto: WeChatCrypto | None = None) -> tuple[Query, bytes]:
        """Encrypt `xml` for the query's timestamp and nonce, as WeChat's servers do in safe mode."""
        sealed = xmltodict.parse((crypto or self.crypto).encrypt_message(xml, query["nonce"], query["timestamp"]))
        envelope = (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed['xml']['Encrypt']}]]></Encrypt></xml>"
        )
        return {**query, "encrypt_type": "aes", "msg_signature": sealed["xml"]["MsgSignature"]}, envelope.encode()

    def encrypted(self, openid: str, content: str, msg_id: str | None = None, **query: Any) -> tuple[Query, bytes]:
        return self.seal(self.text_xml(openid, content, msg_id or self.msg_id()), self.query(**query))

    def read(self, response: httpx.Response) -> str:
        """The passive answer's text; "" for the empty answer ("success")."""
        body = response.text
        if response.status_code != 200 or not body or body == "success":
            return ""
        try:
            xml = xmltodict.parse(body)["xml"]
            if "Encrypt" in xml:
                body = self.crypto.decrypt_message(body, xml["MsgSignature"], xml["TimeStamp"], xml["Nonce"])
                xml = xmltodict.parse(body)["xml"]
            return str(xml.get("Content") or "")
        except Exception as exc:  # noqa: BLE001 - an unreadable answer is a finding, not a crash of the suite
            return f"<unreadable answer: {type(exc).__name__}>"


class Telegram:
    def __init__(self, credentials: Credentials) -> None:
        self.secret = credentials.telegram_secret
        self._updates = itertools.count(secrets.randbelow(10**8) + 10**8)

    def update_id(self) -> int:
        return next(self._updates)

    def headers(self, secret: str | None = None) -> dict[str, str]:
        return {"x-telegram-bot-api-secret-token": self.secret if secret is None else secret}

    def update(self, chat_id: int, text: str, update_id: int | None = None, **message: Any) -> dict[str, Any]:
        return {
            "update_id": update_id if update_id is not None else self.update_id(),
            "message": {
                "message_id": secrets.randbelow(10**6),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "市民"},
                "text": text,
                **message,
            },
        }


def api_headers(key: str | None) -> dict[str, str]:
    return {"x-channel-key": key} if key else {}


def api_message(user_id: str, text: str, message_id: str | None = None, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"channel": API_CHANNEL, "user_id": user_id, "text": text, **extra}
    if message_id is not None:
        body["message_id"] = message_id
    return body


def api_replies(response: httpx.Response) -> str:
    """The replies of a 200 from /api/messages, joined; "" when there are none."""
    try:
        return "\n\n".join(r.get("text", "") for r in response.json().get("replies", []))
    except (ValueError, AttributeError):
        return ""
