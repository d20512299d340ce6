"""The Telegram door: POST /telegram (the bot's webhook, with its secret-token header), and its sender.

Translates an Update into an Inbound, lets the dispatcher answer, and sends the replies through the
Bot API (services.pushes.send_reply: sent once, retried by the worker when the API refuses it for now).
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING

import telegram
from fastapi import APIRouter, HTTPException, Request, Response
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from services.conversations import Inbound
from services.pushes import PushSender, SendError, send_reply
from storage.models import Push

if TYPE_CHECKING:
    from bot.runtime import Runtime

router = APIRouter(tags=["channels"])
log = logging.getLogger("liaison.telegram")


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


def to_inbound(update: telegram.Update) -> Inbound | None:
    """None for updates that are not a citizen's message (edits, joins, channel posts...)."""
    message = update.message
    if message is None or message.chat is None:
        return None
    common = {"channel": "telegram", "user_id": str(message.chat.id), "external_id": str(update.update_id)}
    if message.text:
        return Inbound(kind="text", text=message.text, **common)
    if message.photo:
        return Inbound(kind="image", media_ref=f"telegram:{message.photo[-1].file_id}",
                       text=message.caption or "", **common)
    if message.location:
        return Inbound(kind="location", latitude=message.location.latitude,
                       longitude=message.location.longitude, label=message.caption or "", **common)
    if message.voice:
        return Inbound(kind="voice", media_ref=f"telegram:{message.voice.file_id}", **common)
    return Inbound(kind="other", **common)


@router.post("/telegram", include_in_schema=False)
async def webhook(request: Request) -> Response:
    services: Runtime = request.app.state.runtime
    sender = services.senders.get("telegram")
    if not isinstance(sender, TelegramSender):
        raise HTTPException(404, "Telegram is not configured (TELEGRAM_TOKEN)")
    given = request.headers.get("x-telegram-bot-api-secret-token", "")
    expected = services.settings.telegram_secret
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        log.warning("refused a Telegram update with a wrong secret token from %s", request.client)
        raise HTTPException(403, "wrong secret token")
    try:
        update = telegram.Update.de_json(await request.json(), sender.bot)
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("refused a malformed Telegram update: %s", exc)
        raise HTTPException(400, "malformed update") from None
    inbound = to_inbound(update) if update else None
    if inbound is None:
        return Response(status_code=200)
    for number, reply in enumerate(await services.dispatcher.handle(inbound)):
        await send_reply(services, dedupe_key=f"telegram:{update.update_id}:{number}", channel="telegram",
                         address=inbound.user_id, text=reply.text, buttons=reply.buttons)
    return Response(status_code=200)
