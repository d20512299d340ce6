"""The channels: each translates its platform's requests into an `Inbound` and sends replies and pushes back
through its `PushSender` (services.pushes)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.inbox import ConversationSender
from bot.channels.telegram.sender import TelegramSender
from bot.channels.wechat.sender import WeChatSender
from services.senders import PushSender
from settings import Settings


def make_senders(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, PushSender]:
    """The sender of each configured channel; "*" for channels that cannot push."""
    senders: dict[str, PushSender] = {"*": ConversationSender(sessionmaker)}
    if settings.telegram_token:
        senders["telegram"] = TelegramSender(settings.telegram_token, settings.telegram_api_base)
    if settings.wechat_app_id and settings.wechat_app_secret:
        senders["wechat"] = WeChatSender.from_settings(settings, sessionmaker)
    return senders
