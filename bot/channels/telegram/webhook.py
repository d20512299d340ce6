"""The Telegram door: POST /telegram (the bot's webhook, with its secret-token header).

Translates an Update into an Inbound, lets the dispatcher answer, and sends the replies through the
Bot API (services.pushes.send_reply: sent once, retried by the worker when the API refuses it for now).
"""

from __future__ import annotations

import hmac
import json
from typing import TYPE_CHECKING

import telegram
from fastapi import APIRouter, Request, Response

from bot.channels.telegram.sender import TelegramSender
from casework.errors import Forged, Ignored, Malformed, NotFound
from services.conversations import Inbound
from services.pushes import send_reply

if TYPE_CHECKING:
    from bot.runtime import Runtime

router = APIRouter(tags=["channels"])


def to_inbound(update: telegram.Update) -> Inbound | None:
    """None for updates that are not a citizen's message (edits, joins, channel posts...)."""
    message = update.message
    if message is None or message.chat is None:
        return None
    common = {"channel": "telegram", "user_id": str(message.chat.id), "external_id": str(update.update_id)}
    if message.text:
        return Inbound(kind="text", text=message.text, **common)
    if message.photo:
        return Inbound(
            kind="image", media_ref=f"telegram:{message.photo[-1].file_id}", text=message.caption or "", **common
        )
    if message.location:
        return Inbound(
            kind="location",
            latitude=message.location.latitude,
            longitude=message.location.longitude,
            label=message.caption or "",
            **common,
        )
    if message.voice:
        return Inbound(kind="voice", media_ref=f"telegram:{message.voice.file_id}", **common)
    return Inbound(kind="other", **common)


@router.post("/telegram", include_in_schema=False)
async def webhook(request: Request) -> Response:
    services: Runtime = request.app.state.runtime
    sender = services.senders.get("telegram")
    if not isinstance(sender, TelegramSender):
        raise NotFound(detail="Telegram is not configured (TELEGRAM_TOKEN)")
    given = request.headers.get("x-telegram-bot-api-secret-token", "")
    expected = services.settings.telegram_secret
    if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise Forged(detail="wrong secret token")
    update, inbound = read_update(await request.body(), sender.bot)
    for number, reply in enumerate(await services.dispatcher.handle(inbound)):
        await send_reply(
            services,
            dedupe_key=f"telegram:{update.update_id}:{number}",
            channel="telegram",
            address=inbound.user_id,
            text=reply.text,
            buttons=reply.buttons,
        )
    return Response(status_code=200)


def read_update(body: bytes, bot: telegram.Bot) -> tuple[telegram.Update, Inbound]:
    """The update and what it means, or a refusal.

    Telegram sends an update again until it gets a 2xx. An update we do not handle (an edit, a join, a
    channel post) is Ignored: 200, so it is not sent again. A body Telegram never sends (not a JSON
    object, nested past any real update, without update_id) came from a bug or from someone holding the
    secret: Malformed, 400, so it shows as the webhook's last error (getWebhookInfo); a resend gets 400 again.
    """
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Malformed(detail=f"not JSON: {type(exc).__name__}") from None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise Malformed(detail="an update is a JSON object with an integer update_id")
    try:
        update = telegram.Update.de_json(data, bot)
        inbound = to_inbound(update)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise Malformed(detail=f"not a Telegram update: {type(exc).__name__}") from None
    if inbound is None:
        raise Ignored(detail=f"update {update.update_id} is not a citizen's message")
    return update, inbound
