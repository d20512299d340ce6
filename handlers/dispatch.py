"""Which flow answers a message: menu digits, words every flow knows, the NLU's intent.

Channel adapters build an `Inbound` and call `Dispatcher.handle`; they get back the replies. The pipeline
around the flows (log, de-duplicate, lock, rate-limit, commit) is services.conversations.Inbox.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Awaitable, Callable

from casework.cases import find_case_numbers
from casework.workdays import WorkingCalendar
from handlers import booking, deputies, events, followup, progress, rating, report, smalltalk
from handlers.turn import Turn
from nlu.client import Understanding
from services.conversations import Inbound, Inbox, Reply, TurnEnd, TurnStart
from settings import Deployment
from texts import citizen as texts

Flow = Callable[[Turn], Awaitable[None]]

INTENT_FLOWS: dict[str, Flow] = {
    "report_issue": report.start,
    "ask_progress": progress.ask_progress,
    "greet": smalltalk.greet,
    "goodbye": smalltalk.goodbye,
    "thank": smalltalk.thank,
    "book_reception": booking.start,
    "cancel_booking": booking.cancel,
    "rate_service": rating.rate,
    "ask_deputy": smalltalk.deputies,
    "ask_station_info": smalltalk.station_info,
    "request_human": smalltalk.request_human,
    "affirm": smalltalk.affirm,
    "deny": smalltalk.fallback,
    "out_of_scope": smalltalk.out_of_scope,
}
MENU_FLOWS: dict[str, Flow] = {
    "1": report.start,
    "2": progress.ask_progress,
    "3": smalltalk.station_info,
    "4": smalltalk.request_human,
    "5": booking.start,
}
HELP = re.compile(r"^(帮助|菜单|help|功能|你能做什么|能做什么|怎么用)[?？。!！\s]*$", re.I)
# Below this Rasa's guess is not trusted; a long message is then still taken as a report.
MIN_CONFIDENCE = 0.45
LONG_MESSAGE = 40


class Dispatcher:
    """Routes each message to its flow. The pipeline around it (logging, de-duplication, locking, the
    transaction) is services.conversations.Inbox's."""

    def __init__(
        self,
        inbox: Inbox,
        understanding: Understanding,
        deployment: Deployment,
        calendar: WorkingCalendar,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.inbox = inbox
        self.sessionmaker = inbox.sessionmaker
        self.understanding = understanding
        self.deployment = deployment
        self.calendar = calendar
        self.clock = clock

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one inbound message. A repeated delivery gets the first copy's replies, once."""
        return await self.inbox.handle(inbound, self._converse, self.clock())

    async def _converse(self, start: TurnStart) -> TurnEnd:
        turn = Turn(
            inbound=start.inbound,
            party=start.party,
            state=start.state,
            message_id=start.message_id,
            session=start.session,
            deployment=self.deployment,
            calendar=self.calendar,
            now=start.now,
        )
        status = await self._route(turn)
        return TurnEnd(
            turn.replies,
            status,
            intent=turn.nlu.intent if turn.nlu else None,
            confidence=turn.nlu.confidence if turn.nlu else None,
            topic=turn.nlu.topic if turn.nlu and turn.nlu.source != "none" else None,
        )

    async def _route(self, turn: Turn) -> str:
        """Pick the flow for this message and run it; return the inbound message's status."""
        inbound, state = turn.inbound, turn.state
        if inbound.kind == "voice" and not turn.text:
            turn.say(texts.VOICE_NO_TEXT)
            return "handled"
        if inbound.kind in ("image", "location"):
            if turn.text:  # a caption
                turn.nlu = await self.understanding.understand(turn.text)
            await (report.resume if state.flow == "report" else report.start)(turn)
            return "handled"
        if inbound.kind == "event":
            return await events.handle(turn, self.inbox.subscriptions)
        if inbound.kind not in ("text", "voice"):
            turn.say(texts.UNSUPPORTED)
            return "unsupported"
        if inbound.kind == "text" and await deputies.handle(turn, self.inbox.bind_codes):
            return "handled"
        if state.flow is None and turn.text in MENU_FLOWS:
            await self._menu_choice(turn)
            return "handled"
        turn.nlu = await self.understanding.understand(inbound.text)
        if state.flow == "report":
            await report.resume(turn)
            return "handled"
        if state.flow == "withdraw":
            await followup.confirm_withdraw(turn)
            return "handled"
        if state.flow == booking.FLOW:
            await booking.resume(turn)
            return "handled"
        if flow := self._word_flow(turn):
            await flow(turn)
            return "handled"
        if turn.nlu.source == "none":
            state.pending_text = inbound.text
            turn.say(texts.NLU_DOWN, "1", "2", "3", "4", "5")
            return "nlu_pending"
        await self._flow_for(turn)(turn)
        return "handled"

    def _word_flow(self, turn: Turn) -> Flow | None:
        """Flows recognised by their words alone, so they work while the NLU is down."""
        if HELP.match(turn.text):
            return smalltalk.help_
        if rating.RATING_START.match(turn.text):
            return rating.rate
        if booking.OFFER_REPLY.match(turn.text):
            return booking.answer_offer
        if booking.CHANGE.match(turn.text):
            return booking.change
        if booking.CANCEL.match(turn.text) or booking.CANCEL_BOOKING.search(turn.text):
            return booking.cancel
        if followup.ADD_INFO.match(turn.text):
            return followup.add_info
        if followup.WITHDRAW.match(turn.text):
            return followup.withdraw
        return None

    def _flow_for(self, turn: Turn) -> Flow:
        nlu = turn.nlu
        assert nlu is not None
        if nlu.intent != "report_issue" and find_case_numbers(turn.text, self.deployment.case_prefix):
            return progress.ask_progress
        if nlu.intent == "ask_deputy" and booking.names_a_day(turn):
            # "周四有代表吗": the slots of that day name the deputies on duty, and can be booked.
            return booking.start
        if nlu.intent in INTENT_FLOWS and (nlu.source != "rasa" or nlu.confidence >= MIN_CONFIDENCE):
            return INTENT_FLOWS[nlu.intent]
        if len(turn.text) >= LONG_MESSAGE:
            return report.start
        return smalltalk.fallback

    async def _menu_choice(self, turn: Turn) -> None:
        choice, state = turn.text, turn.state
        if choice == "1" and state.pending_text:
            # The message kept while the NLU was down becomes the report.
            pending, state.pending_text = state.pending_text, None
            turn.nlu = await self.understanding.understand(pending)
            turn.say(texts.PENDING_USED)
        state.pending_text = None
        await MENU_FLOWS[choice](turn)
