"""One turn's context, as the flows see it: the message, the citizen, their dialogue, the unit of work."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from casework.workdays import WorkingCalendar
from nlu.client import NluResult
from services.conversations import DialogueState, Inbound, Party, Reply
from settings import Deployment

# How sure the model must be before a message in the middle of a flow is taken for another request rather than
# an answer to the flow's question (a wrong guess would drop the citizen's answer).
SURE = 0.8
# The keyword guesses (nlu.keywords) plain enough to take a short message for another request.
PLAIN_KEYWORD_INTENTS = frozenset(
    {"ask_progress", "request_human", "cancel_booking", "book_reception", "greet", "thank"}
)
# Nothing but digits, punctuation or emoji: no answer to a question asking for words.
NO_WORDS = re.compile(r"^[\W\d_]*$")
# A question the citizen asks (not an answer to ours).
QUESTION = re.compile(
    r"[?？]\s*$|[吗呢么嘛][?？。!！~\s]*$"
    r"|^(请问|问一下|怎么|怎样|为什么|为啥|什么|哪|几点|多少|能不能|可不可以|是不是|有没有)"
    r"|多久|多长时间|什么时候|啥时候|怎么办|怎么走|怎么弄|几点"
)


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

    @property
    def sure_intent(self) -> str | None:
        """The intent when the model (or a word rule standing in for it) is sure of it; None otherwise. While
        the model is down, the keyword guess only of the requests its words name plainly (进度, 预约, 人工…)."""
        nlu = self.nlu
        if nlu is None or nlu.intent == "nlu_fallback":
            return None
        if nlu.source == "keywords":
            return nlu.intent if nlu.intent in PLAIN_KEYWORD_INTENTS and len(self.text) <= 15 else None
        return nlu.intent if nlu.source == "rules" or (nlu.source == "rasa" and nlu.confidence >= SURE) else None

    @property
    def has_words(self) -> bool:
        return not NO_WORDS.match(self.text)

    @property
    def is_question(self) -> bool:
        return bool(QUESTION.search(self.text))

    def say(self, text: str, *buttons: str) -> None:
        self.replies.append(Reply(text, tuple(buttons)))
