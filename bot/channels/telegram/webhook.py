"""The Telegram door: POST /telegram (the bot's webhook, with its secret-token header).

Translates an Update into an Inbound, lets the dispatcher answer, and sends the replies through the
Bot API (services.pushes.send_reply: sent once, retried by the worker when the API refuses it for now).
"""

from __future__ import annotations

import hmac
import logging
from typing import TYPE_CHECKING

import telegram
from fastapi import APIRouter, HTTPException, Request, Response

from bot.channels.telegram.sender import TelegramSender
from services.conversations import Inbound
from services.pushes import send_reply

if TYPE_CHECKING:
    from bot.runtime import Runtime

router = APIRouter(tags=["channels"])
log = logging.getLogger("liaison.telegram")


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
