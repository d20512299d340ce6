"""What flows hand each other: the inbound message, the replies, and one turn's context."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casework.workdays import WorkingCalendar
from handlers.state import DialogueState
from nlu.client import NluResult
from settings import Deployment
from storage.repositories import Party


@dataclass(frozen=True)
class Inbound:
    """A message from a citizen, whatever the channel; adapters build these and nothing else."""

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
