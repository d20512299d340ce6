"""One turn's context, as the flows see it: the message, the citizen, their dialogue, the unit of work."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from casework.workdays import WorkingCalendar
from nlu.client import NluResult
from services.conversations import DialogueState, Inbound, Party, Reply
from settings import Deployment


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
