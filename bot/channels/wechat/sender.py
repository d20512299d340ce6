"""Pushes to WeChat: customer-service messages inside the person's 48-hour window, a few per window,
template messages outside it (one template per kind of push, from config.yml), and WindowClosed when
neither is possible, so the push waits (status waiting_window).

    unfollowed? ─► refused (no more pushes)
    window open and quota left? ─► customer-service text (on 45015/45047: fall through)
    template for this kind? ─► template message, each field cut to WeChat's length for its type
    otherwise ─► WindowClosed
"""

from __future__ import annotations

import datetime as dt
import re
import string
from collections.abc import Callable

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.wechat.api import WeChatApi, WeChatError
from casework.cases import CaseState
from casework.deadlines import LOCAL
from services.senders import STAFF_MESSAGE, PushSender, SendError, WindowClosed
from settings import Settings, load_deployment
from settings.deployment import WeChatConfig, WeChatTemplate
from storage import redis as redis_connection
from storage.keys import Keys
from storage.models import Case, Push, utcnow
from storage.repositories import RecipientStore

CHANNEL = "wechat"
# Customer-service messages refused because the window closed or its messages are used up.
WINDOW_ERRORS = frozenset({"45015", "45047"})
UNFOLLOWED_ERROR = "43004"
# Do not start a customer-service message in the window's last minutes: it may arrive after it closed.
WINDOW_MARGIN = dt.timedelta(minutes=5)
# WeChat's length of a template field by the type its key names (thing1, character_string2, ...).
FIELD_LIMITS = {
    "thing": 20,
    "character_string": 32,
    "number": 32,
    "letter": 32,
    "symbol": 5,
    "amount": 32,
    "phone_number": 17,
    "car_number": 8,
    "name": 10,
    "phrase": 5,
    "time": 32,
    "date": 32,
    "const": 20,
}
# Old-style templates (first, keyword1, remark) have no per-type limit; long fields are still cut.
DEFAULT_FIELD_LIMIT = 200
# Types whose values are codes or numbers: cut, never ended with an ellipsis.
EXACT_TYPES = frozenset(
    {"character_string", "number", "letter", "symbol", "amount", "phone_number", "car_number", "time", "date"}
)
KIND_TITLES = {
    "case_status": "案件进展",
    "reply_ready": "答复已出",
    "rating_reminder": "评价提醒",
    "deadline_reminder": "办理提醒",
    "deadline_alert": "超期提醒",
    "booking": "预约接待",
    "reply": "回复",
}
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class WeChatSender(PushSender):
    def __init__(
        self,
        api: WeChatApi,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        keys: Keys,
        config: WeChatConfig,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.api = api
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.keys = keys
        self.kf_account = config.kf_account
        self.config = config
        self.clock = clock
        # Permanent QR codes by scene: the same scene always has the same code, asked of WeChat once a process.
        self.entry_links: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> WeChatSender:
        keys = Keys(settings.redis_prefix)
        api = WeChatApi.from_settings(settings, keys)
        redis = redis_connection.connect(settings.redis_url, settings.var_dir)
        return cls(api, sessionmaker, redis, keys, load_deployment(settings.config_path).wechat)

    async def send(self, push: Push) -> None:
        openid = push.address or ""
        if await self.redis.exists(self.keys.unsubscribed(CHANNEL, openid)):
            raise SendError("对方已取消关注公众号", retryable=False, code="unsubscribed")
        opened = await self._open_window(openid)
        if opened is not None and await self._take_quota(openid, opened):
            try:
                await self.api.send_text(openid, push.text, self.kf_account if push.kind == STAFF_MESSAGE else None)
                return
            except WeChatError as exc:
                if exc.code not in WINDOW_ERRORS:
                    raise await self._refused(exc, openid) from exc
        template = self.config.templates.get(push.kind)
        if template is None:
            raise WindowClosed(f"48小时窗口已关闭或本窗口的客服消息已用完，且没有为“{push.kind}”配置模板消息")
        data = template_data(template, await self._facts(push))
        try:
            await self.api.send_template(openid, template.template_id, data, template.url)
        except WeChatError as exc:
            raise await self._refused(exc, openid) from exc

    async def entry_link(self, scene: str) -> str | None:
        """The content of the account's permanent QR code for `scene` (QR_LIMIT_STR_SCENE): a follow or scan
        through it reaches handlers/events.py with the scene."""
        if scene not in self.entry_links:
            try:
                answer = await self.api.create_qrcode(scene)
            except WeChatError as exc:
                raise SendError(f"微信拒绝创建二维码：{exc}", retryable=exc.retryable, code=exc.code) from exc
            url = answer.get("url")
            if not url:
                raise SendError("微信没有返回二维码内容", retryable=True)
            self.entry_links[scene] = str(url)
        return self.entry_links[scene]

    async def close(self) -> None:
        await self.api.close()
        await self.redis.aclose()

    async def _open_window(self, openid: str) -> dt.datetime | None:
        """When the window opened (the person's last message), if it is still open."""
        async with self.sessionmaker() as session:
            last = await RecipientStore(session).last_inbound_at(CHANNEL, openid)
        if last is None:
            return None
        window = dt.timedelta(hours=self.config.window_hours)
        return last if self.clock() < last + window - WINDOW_MARGIN else None

    async def _take_quota(self, openid: str, opened: dt.datetime) -> bool:
        key = self.keys.wechat_quota(openid, int(opened.timestamp()))
        used = await self.redis.incr(key)
        if used == 1:
            await self.redis.expire(key, self.config.window_hours * 3600)
        return used <= self.config.customer_service_quota

    async def _facts(self, push: Push) -> dict[str, str]:
        facts = {
            "text": push.text,
            "case_no": "",
            "state": "",
            "topic": "",
            "title": KIND_TITLES.get(push.kind, ""),
            "time": f"{self.clock().astimezone(LOCAL):%Y年%m月%d日 %H:%M}",
        }
        if push.case_id is not None:
            async with self.sessionmaker() as session:
                case = await session.get(Case, push.case_id)
            if case is not None:
                facts.update(case_no=case.number, state=CaseState(case.state).label, topic=case.topic)
        return facts

    async def _refused(self, exc: WeChatError, openid: str) -> SendError:
        if exc.code == UNFOLLOWED_ERROR:
            await self.redis.set(self.keys.unsubscribed(CHANNEL, openid), "1")
        return SendError(f"微信拒绝：{exc}", retryable=exc.retryable, code=exc.code)


def template_data(template: WeChatTemplate, facts: dict[str, str]) -> dict[str, dict[str, str]]:
    """The template's fields filled from `facts`, each within WeChat's length for its type."""
    data = {}
    for name, field in template.fields.items():
        value, limit = (field, None) if isinstance(field, str) else (field.value, field.max_length)
        kind = _field_type(name)
        text = string.Formatter().vformat(value, (), facts)
        data[name] = {
            "value": fit(text, limit or FIELD_LIMITS.get(kind, DEFAULT_FIELD_LIMIT), ellipsis=kind not in EXACT_TYPES)
        }
    return data


def fit(text: str, limit: int, *, ellipsis: bool = True) -> str:
    """One line of at most `limit` characters (never a split character; "…" marks a cut when allowed)."""
    flat = " ".join(CONTROL.sub(" ", text).split())
    if len(flat) <= limit:
        return flat
    if ellipsis and limit > 1:
        return flat[: limit - 1].rstrip() + "…"
    return flat[:limit]


def _field_type(name: str) -> str:
    """thing1 -> thing, character_string12 -> character_string, keyword1 -> keyword."""
    return name.rstrip("0123456789").lower()
