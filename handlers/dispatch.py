"""Which flow answers a message: menu digits and buttons, chat commands, words every flow knows, the NLU's
intent; in the middle of a flow, whether the message answers its question (`handlers.detours`).

Channel adapters build an `Inbound` and call `Dispatcher.handle`; they get back the replies. The pipeline
around the flows (log, de-duplicate, lock, rate-limit, commit) is services.conversations.Inbox.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import re
from collections.abc import Awaitable, Callable

from casework.cases import find_case_numbers
from casework.workdays import WorkingCalendar
from handlers import booking, deputies, detours, events, followup, progress, rating, report, smalltalk
from handlers.turn import Turn
from nlu.client import NluResult, Understanding
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
# The flows in progress and the step that takes their next message.
RESUMES: dict[str, Flow] = {
    report.FLOW: report.resume,
    booking.FLOW: booking.resume,
    followup.FLOW: followup.resume,
    followup.WITHDRAW_FLOW: followup.confirm_withdraw,
}
# The greeting's buttons (smalltalk.greet), understood as the menu digits they stand for.
BUTTONS = {"反映问题": "1", "查询进度": "2", "联络站": "3", "转人工": "4", "预约见代表": "5"}
# Chat commands (Telegram's /start when a chat opens, with a deep link's payload: /start deputy-CODE).
COMMAND = re.compile(r"^/(start|help|menu)(?:@\w+)?(?:\s+(\S+))?\s*$", re.I)
DEPUTY_LINK = re.compile(r"^deputy[-_:](.+)$")
# Below this Rasa's guess is not trusted; a long message is then still taken as a report.
MIN_CONFIDENCE = 0.45
LONG_MESSAGE = 40
# Characters beyond a place's name that make a message about it ("的井盖松了").
SOMETHING_ABOUT_IT = 4


def _names_a_place(turn: Turn) -> bool:
    place = turn.nlu.entity("place") if turn.nlu else None
    return bool(place) and len(turn.text) >= len(place or "") + SOMETHING_ABOUT_IT and not turn.is_question


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
        """Answer one inbound message, once: a repeated delivery gets the replies of the copy that was processed.
        TryLater when it cannot be taken now (services.conversations.Inbox.handle).

        A text is sent to the NLU at once, while the inbox stores the message and takes the citizen's lease:
        the parse and the writes overlap instead of adding up. A turn that needs no parse (a menu digit, a
        duplicate, a held conversation) drops it."""
        ahead = (
            asyncio.create_task(self.understanding.understand(inbound.text))
            if inbound.kind == "text" and inbound.text
            else None
        )
        try:
            return await self.inbox.handle(inbound, functools.partial(self._converse, ahead=ahead), self.clock())
        finally:
            if ahead is not None:
                ahead.cancel()
                await asyncio.gather(ahead, return_exceptions=True)

    async def recover(self, now: dt.datetime) -> int:
        """Process the messages nobody finished (services.conversations.Inbox.recover); return how many."""
        return await self.inbox.recover(self._converse, now)

    async def _converse(self, start: TurnStart, ahead: asyncio.Task[NluResult] | None = None) -> TurnEnd:
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
        started_in = turn.state.flow
        status = await self._route(turn, ahead)
        detours.offer(turn, started_in)
        return TurnEnd(
            turn.replies,
            status,
            intent=turn.nlu.intent if turn.nlu else None,
            confidence=turn.nlu.confidence if turn.nlu else None,
            # The topic of a text a flow read as a problem; a menu digit or 确认 has none worth keeping.
            topic=turn.nlu.topic if turn.nlu and turn.nlu.source != "none" and turn.nlu.topic_read else None,
        )

    async def _route(self, turn: Turn, ahead: asyncio.Task[NluResult] | None = None) -> str:
        """Pick the flow for this message and run it; return the inbound message's status. `ahead`: the parse
        of the message's text, already under way."""
        inbound, state = turn.inbound, turn.state
        if inbound.kind == "voice" and not turn.text:
            turn.say(texts.VOICE_NO_TEXT)
            return "handled"
        if inbound.kind in ("image", "location"):
            if turn.text:  # a caption
                turn.nlu = await self.understanding.understand(turn.text)
            if state.flow not in (None, report.FLOW):
                detours.set_aside(turn)  # a photo in the middle of a booking begins a report; the booking waits
            await (report.resume if state.flow == report.FLOW else report.start)(turn)
            return "handled"
        if inbound.kind == "event":
            return await events.handle(turn, self.inbox.subscriptions)
        if inbound.kind not in ("text", "voice"):
            turn.say(texts.UNSUPPORTED)
            return "unsupported"
        if inbound.kind == "text" and await deputies.handle(turn, self.inbox.bind_codes):
            return "handled"
        if command := COMMAND.match(turn.text):
            await self._command(turn, command.group(1).lower(), command.group(2) or "")
            return "handled"
        if state.flow is None and BUTTONS.get(turn.text, turn.text) in MENU_FLOWS:
            await self._menu_choice(turn)
            return "handled"
        if detours.wants_back(turn):
            await detours.take_back(turn)
            return "handled"
        turn.nlu = await (ahead if ahead is not None else self.understanding.understand(inbound.text))
        if await detours.handle(turn, INTENT_FLOWS, self._word_flow):
            return "handled"
        if resume := RESUMES.get(state.flow or ""):
            await resume(turn)
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
        if smalltalk.HELP.match(turn.text):
            return smalltalk.help_
        if report.OPENING.match(turn.text):
            return report.start  # "我要反映问题", "我想投诉": a report, its problem asked next
        if booking.MY_BOOKINGS.match(turn.text):
            return booking.list_bookings
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
        if followup.PLACE_FIX.match(turn.text) and not turn.is_question:
            return followup.correct_place
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
        if nlu.intent in ("nlu_fallback", "report_issue") and _names_a_place(turn):
            # "柳荫街17号的井盖松了": a place and something about it, the model unsure: a report, most likely.
            return report.start
        return smalltalk.fallback

    async def _command(self, turn: Turn, command: str, payload: str) -> None:
        """/start opens the chat (through a deputy's link, with that deputy); /help and /menu show the help. In
        the middle of a flow, a greeting and the flow's question again."""
        if turn.state.flow in detours.QUESTIONS:
            turn.nlu = NluResult(turn.text, "greet", 1.0, source="rules")
            if await detours.handle(turn, INTENT_FLOWS, self._word_flow):
                return
        if command != "start":
            await smalltalk.help_(turn)
            return
        link = DEPUTY_LINK.match(payload)
        await events.welcome(turn, f"{events.DEPUTY_SCENE}{link.group(1)}" if link else "")

    async def _menu_choice(self, turn: Turn) -> None:
        state = turn.state
        choice = BUTTONS.get(turn.text, turn.text)
        if choice == "1" and state.pending_text:
            # The message kept while the NLU was down becomes the report.
            pending, state.pending_text = state.pending_text, None
            turn.nlu = await self.understanding.understand(pending)
            turn.say(texts.PENDING_USED)
        state.pending_text = None
        await MENU_FLOWS[choice](turn)
