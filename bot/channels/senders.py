"""One push sender per channel, on a small base class; the worker picks the sender by the push's channel."""

from __future__ import annotations

import abc

import telegram
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from settings import Settings
from storage.models import Push
from storage.repositories import ConversationStore


class SendError(Exception):
    """The channel refused or failed; `retryable` says whether trying later may help."""

    def __init__(self, message: str, *, retryable: bool, code: str = "") -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code


class WindowClosed(Exception):
    """The channel allows no message to this person now (e.g. WeChat's 48-hour window); the push waits."""


class PushSender(abc.ABC):
    @abc.abstractmethod
    async def send(self, push: Push) -> None:
        """Deliver the push or raise SendError / WindowClosed. Must not be called twice for one push."""

    async def close(self) -> None:
        return None


class TelegramSender(PushSender):
    """Telegram's sendMessage through python-telegram-bot; its flood limits come back as RetryAfter."""

    def __init__(self, token: str, api_base: str) -> None:
        self.bot = telegram.Bot(token, base_url=f"{api_base.rstrip('/')}/bot",
                                request=HTTPXRequest(connect_timeout=5, read_timeout=10))

    async def send(self, push: Push) -> None:
        markup = None
        if push.buttons:
            markup = telegram.ReplyKeyboardMarkup([[b for b in push.buttons]], one_time_keyboard=True,
                                                  resize_keyboard=True)
        try:
            await self.bot.send_message(chat_id=push.address or "", text=push.text, reply_markup=markup)
        except RetryAfter as exc:
            raise SendError(f"Telegram flood limit: {exc.message}", retryable=True, code="429") from exc
        except (Forbidden, BadRequest) as exc:
            raise SendError(exc.message, retryable=False, code=type(exc).__name__) from exc
        except TimedOut as exc:
            # No answer in time: Telegram may have delivered it, so it is not sent again (at most once).
            raise SendError(f"发送超时，无法确认是否送达：{exc}", retryable=False, code="in_doubt") from exc
        except NetworkError as exc:
            raise SendError(str(exc), retryable=True, code=type(exc).__name__) from exc
        except TelegramError as exc:
            raise SendError(exc.message, retryable=True, code=type(exc).__name__) from exc

    async def close(self) -> None:
        await self.bot.shutdown()


class ConversationSender(PushSender):
    """Channels with no way to message first (the web API, the terminal): the push waits in the
    conversation as an unread message and is shown with the citizen's next reply."""

    def __init__(self, sessionmaker) -> None:  # type: ignore[no-untyped-def]
        self.sessionmaker = sessionmaker

    async def send(self, push: Push) -> None:
        async with self.sessionmaker() as session:
            store = ConversationStore(session)
            party = await store.identify(push.channel or "", push.address or "")
            await store.record_outbound(party, text=push.text, payload={"buttons": push.buttons, "push_id": push.id},
                                        in_reply_to=None, status="unread")
            await session.commit()


def make_senders(settings: Settings, sessionmaker) -> dict[str, PushSender]:  # type: ignore[no-untyped-def]
    """The sender of each configured channel; "*" for channels that cannot push."""
    senders: dict[str, PushSender] = {"*": ConversationSender(sessionmaker)}
    if settings.telegram_token:
        senders["telegram"] = TelegramSender(settings.telegram_token, settings.telegram_api_base)
    if settings.wechat_app_id and settings.wechat_app_secret:
        from bot.channels.wechat.sender import WeChatSender  # imported here: it builds on this module

        senders["wechat"] = WeChatSender.from_settings(settings, sessionmaker)
    return senders
