"""Pushes to Telegram: sendMessage through python-telegram-bot, its refusals mapped to SendError, its flood
limits (429 with retry_after) to Throttled."""

from __future__ import annotations

import datetime as dt

import telegram
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from services.senders import PushSender, SendError, Throttled
from storage.models import Push


class TelegramSender(PushSender):
    """Telegram's sendMessage through python-telegram-bot; its flood limits come back as RetryAfter."""

    def __init__(self, token: str, api_base: str) -> None:
        self.bot = telegram.Bot(
            token, base_url=f"{api_base.rstrip('/')}/bot", request=HTTPXRequest(connect_timeout=5, read_timeout=10)
        )

    async def send(self, push: Push) -> None:
        markup = None
        if push.buttons:
            markup = telegram.ReplyKeyboardMarkup(
                [[b for b in push.buttons]], one_time_keyboard=True, resize_keyboard=True
            )
        try:
            await self.bot.send_message(chat_id=push.address or "", text=push.text, reply_markup=markup)
        except RetryAfter as exc:
            wait = exc.retry_after
            seconds = wait.total_seconds() if isinstance(wait, dt.timedelta) else float(wait)
            # The 429 does not say which limit was hit. A group (negative chat id) has a stricter limit of its
            # own (20 a minute); a private chat is already paced at Telegram's 1 a second, so what is left is
            # the bot's overall limit: the whole channel waits.
            raise Throttled(
                f"Telegram flood limit: {exc.message}",
                retry_after=seconds,
                whole_channel=not (push.address or "").startswith("-"),
            ) from exc
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
