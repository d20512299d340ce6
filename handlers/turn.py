"""What flows hand each other: the inbound message, the replies, and one turn's context."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casework.errors import InvalidInput
from casework.workdays import WorkingCalendar
from handlers.state import DialogueState
from nlu.client import NluResult
from settings import Deployment
from storage.repositories import Party
from texts import errors as texts

# Lone surrogates (from JSON's "\ud800") cannot be encoded; PostgreSQL refuses NUL in text columns.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
MAX_CHANNEL, MAX_ID = 20, 128  # the columns' sizes
_SURROGATES = {code: "\ufffd" for code in range(0xD800, 0xE000)}


def clean_text(value: str) -> str:
    """A citizen's words as they can be stored: NUL dropped, a lone surrogate replaced by U+FFFD.

    Text is cleaned rather than refused: the platform accepted the message, and the citizen should
    not lose it for an invisible character."""
    return value.replace("\x00", "").translate(_SURROGATES) if UNSTORABLE.search(value) else value


def check_id(value: str, limit: int = MAX_ID) -> str:
    """An identifier (channel, user id, delivery id) as given, or InvalidInput: ids are keys, so they are
    refused, never changed (two different ids must not become one)."""
    if not value or len(value) > limit or UNSTORABLE.search(value):
        raise InvalidInput(texts.INVALID_ID.format(limit=limit), code="invalid_id")
    return value


@dataclass(frozen=True)
class Inbound:
    """A message from a citizen, whatever the channel; adapters build these and nothing else.

    Every door's strings pass here: ids are checked (`check_id`, InvalidInput when unstorable), text is
    cleaned (`clean_text`), a position must be finite and on the globe."""

    channel: str
    user_id: str
    kind: str = "text"  # text | image | location | voice | event
    text: str = ""
    media_ref: str = ""
    latitude: float | None = None
    longitude: float | None = None
    label: str = ""
    # The channel's id of this delivery (WeChat MsgId, Telegram update id); repeats are answered once.
    external_id: str | None = None
    event: str = ""
    event_key: str = ""

    def __post_init__(self) -> None:
        check_id(self.channel, MAX_CHANNEL)
        check_id(self.user_id)
        if self.external_id is not None:
            check_id(self.external_id)
        for name in ("kind", "text", "media_ref", "label", "event", "event_key"):
            object.__setattr__(self, name, clean_text(getattr(self, name)))
        for value, bound in ((self.latitude, 90), (self.longitude, 180)):
            if value is not None and not (math.isfinite(value) and -bound <= value <= bound):
                raise InvalidInput(texts.INVALID_POSITION, code="bad_position")

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name in ("media_ref", "label", "event", "event_key"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.latitude is not None:
            data["latitude"], data["longitude"] = self.latitude, self.longitude
        return data


@dataclass(frozen=True)
class Reply:
    text: str
    # Quick answers a channel may render as buttons; the words are always understood as text too.
    buttons: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "buttons": list(self.buttons)}


@dataclass
class Turn:
    inbound: Inbound
    party: Party
    state: DialogueState
    message_id: int
    session: AsyncSession
    deployment: Deployment
    calendar: WorkingCalendar
    now: dt.datetime
    nlu: NluResult | None = None
    replies: list[Reply] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.inbound.text.strip()

    @property
    def intent(self) -> str:
        return self.nlu.intent if self.nlu else ""

    def say(self, text: str, *buttons: str) -> None:
        self.replies.append(Reply(text, tuple(buttons)))
