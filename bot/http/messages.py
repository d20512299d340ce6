"""The channel-neutral JSON door: POST /api/messages, used by any channel and by tests.

Out-of-range or non-finite numbers and strings that cannot be stored are refused with 422 (by the model,
or by `Inbound` for ids); NUL is dropped from text (`handlers.turn.clean_text`)."""

from __future__ import annotations

import hmac
from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, field_validator, model_validator

from bot.runtime import Runtime
from casework.errors import Unauthenticated
from services.conversations import Inbound, clean_text
from texts import errors as texts

router = APIRouter(prefix="/api", tags=["messages"])
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class InboundMessage(BaseModel):
    channel: str = Field(pattern=r"^[a-z][a-z0-9_-]{1,19}$", examples=["web"])
    user_id: str = Field(min_length=1, max_length=128)
    type: Literal["text", "image", "location", "voice"] = "text"
    text: str = Field(default="", max_length=20000)
    media_url: str = Field(default="", max_length=500)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    label: str = Field(default="", max_length=300)
    message_id: str | None = Field(
        default=None, max_length=128, description="the channel's id of this delivery; a repeat is answered once"
    )

    @field_validator("text", "media_url", "label")
    @classmethod
    def _storable(cls, value: str) -> str:
        return clean_text(value)

    @model_validator(mode="after")
    def _has_content(self) -> InboundMessage:
        if self.type == "text" and not self.text.strip():
            raise ValueError("文字消息的 text 不能为空")
        if self.type == "image" and not self.media_url:
            raise ValueError("图片消息需要 media_url")
        if self.type == "location" and (self.latitude is None or self.longitude is None):
            raise ValueError("位置消息需要 latitude 和 longitude")
        return self

    def to_inbound(self) -> Inbound:
        return Inbound(
            channel=self.channel,
            user_id=self.user_id,
            kind=self.type,
            text=self.text,
            media_ref=self.media_url,
            latitude=self.latitude,
            longitude=self.longitude,
            label=self.label,
            external_id=self.message_id,
        )


class ReplyOut(BaseModel):
    text: str
    buttons: list[str] = []


class RepliesOut(BaseModel):
    replies: list[ReplyOut]


def services(request: Request) -> Runtime:
    return request.app.state.runtime


def require_channel_key(request: Request) -> None:
    """The API speaks for any citizen: a channel key, or the local trial on loopback with no key set."""
    expected = request.app.state.runtime.settings.api_key
    if expected:
        given = request.headers.get("x-channel-key") or request.headers.get("authorization", "").removeprefix("Bearer ")
        if given and hmac.compare_digest(given.encode(), expected.encode()):
            return
        raise Unauthenticated(texts.WRONG_CHANNEL_KEY, code="bad_channel_key")
    client = request.client.host if request.client else ""
    if request.app.state.local_trial and client in LOOPBACK:
        return
    raise Unauthenticated(texts.LOCAL_TRIAL_ONLY, code="local_trial_only")


@router.post("/messages", response_model=RepliesOut, dependencies=[Depends(require_channel_key)])
async def post_message(message: InboundMessage, services: Runtime = Depends(services)) -> RepliesOut:
    replies = await services.dispatcher.handle(message.to_inbound())
    return RepliesOut(replies=[ReplyOut(**r.as_dict()) for r in replies])
