"""The channel-neutral JSON door: POST /api/messages, used by channels without a door of their own and by tests.

It speaks for any citizen of a channel, so a caller must hold a channel key that names that channel
(LIAISON_API_KEY: `web`; LIAISON_API_KEYS: each key's list), or be the local trial (no key configured, loopback).
The signed channels (wechat, telegram) are spoken for only by their own doors, which check the platform's
signature: here they are refused with any key.

Out-of-range or non-finite numbers and strings that cannot be stored are refused with 422 (by the model,
or by `Inbound` for ids); NUL is dropped from text (`handlers.turn.clean_text`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field, field_validator, model_validator

from bot.http.deps import bearer, from_loopback, same_secret
from bot.runtime import Runtime
from casework.errors import Forbidden, Unauthenticated
from services.conversations import Inbound, clean_text
from settings import SIGNED_CHANNELS
from texts import errors as texts

router = APIRouter(prefix="/api", tags=["messages"])


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


def channel_key(request: Request) -> frozenset[str] | None:
    """The channels the caller's key names; None on the local trial (no key configured, a loopback caller on a
    loopback server), which may speak for any channel but the signed ones."""
    keys = request.app.state.runtime.settings.channel_keys
    if not keys:
        if request.app.state.local_trial and from_loopback(request):
            return None
        raise Unauthenticated(texts.LOCAL_TRIAL_ONLY, code="local_trial_only")
    given = request.headers.get("x-channel-key") or bearer(request)
    named: frozenset[str] | None = None
    for key, channels in keys.items():  # every key compared, so the time taken tells nothing
        if same_secret(given, key):
            named = channels
    if named is None:
        raise Unauthenticated(texts.WRONG_CHANNEL_KEY, code="bad_channel_key")
    return named


def check_speaks_for(channels: frozenset[str] | None, channel: str) -> None:
    """A signed channel never; with a key, only the channels it names."""
    if channel in SIGNED_CHANNELS:
        raise Forbidden(texts.SIGNED_CHANNEL.format(channel=channel), code="signed_channel")
    if channels is not None and channel not in channels:
        raise Forbidden(texts.KEY_NOT_FOR_CHANNEL.format(channel=channel), code="key_not_for_channel")


@router.post("/messages", response_model=RepliesOut)
async def post_message(
    message: InboundMessage,
    channels: frozenset[str] | None = Depends(channel_key),
    services: Runtime = Depends(services),
) -> RepliesOut:
    check_speaks_for(channels, message.channel)
    replies = await services.dispatcher.handle(message.to_inbound())
    return RepliesOut(replies=[ReplyOut(**r.as_dict()) for r in replies])
