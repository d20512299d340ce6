"""The inbound pipeline every channel shares: log, de-duplicate, rate-limit, understand, converse.

Channel adapters build an `Inbound` and call `Dispatcher.handle`; they get back the replies.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casework.cases import find_case_numbers
from casework.workdays import WorkingCalendar
from handlers import booking, deputies, events, followup, progress, rating, report, smalltalk
from handlers.state import DialogueStore
from handlers.turn import Inbound, Reply, Turn
from nlu.client import Understanding
from settings import Deployment
from storage.keys import Keys
from storage.models import utcnow
from storage.repositories import ConversationStore, PushStore
from texts import citizen as texts

Flow = Callable[[Turn], Awaitable[None]]
log = logging.getLogger("liaison.dispatch")

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
# How long a repeated delivery waits for the first copy's replies.
DUPLICATE_WAIT_SECONDS = 8.0
DELIVERY_TTL_SECONDS = 3600


class Dispatcher:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        redis: Redis,
        keys: Keys,
        understanding: Understanding,
        deployment: Deployment,
        calendar: WorkingCalendar,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.keys = keys
        self.understanding = understanding
        self.deployment = deployment
        self.calendar = calendar
        self.clock = clock
        self.dialogues = DialogueStore(redis, keys)
        self.subscriptions = events.Subscriptions(redis, keys)
        self.bind_codes = deputies.BindCodes(redis, keys)

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one inbound message. A repeated delivery gets the first copy's replies, once."""
        if inbound.external_id and not await self._claim_delivery(inbound):
            return await self._replies_of_first_copy(inbound)
        lock = self.redis.lock(self.keys.citizen_lock(inbound.channel, inbound.user_id),
                               timeout=60, blocking_timeout=30)
        try:
            async with lock, self.sessionmaker() as session:
                return await self._handle_locked(session, inbound)
        except Exception:
            # Unanswered: let the channel's retry of this delivery be processed instead of waiting on us.
            if inbound.external_id:
                await self.redis.delete(self.keys.delivery(inbound.channel, inbound.external_id))
            raise

    async def _handle_locked(self, session: AsyncSession, inbound: Inbound) -> list[Reply]:
        conversations = ConversationStore(session)
        party = await conversations.identify(inbound.channel, inbound.user_id)
        message = await conversations.record_inbound(party, kind=inbound.kind, text=inbound.text,
                                                     payload=inbound.payload(), external_id=inbound.external_id)
        if message is None:
            assert inbound.external_id is not None
            return await self._stored_replies(session, inbound.external_id, inbound.channel)
        message_id = message.id
        # Pushes that waited for this citizen's next message (channels that cannot push) come first.
        waiting = [Reply(m.text, tuple(m.payload.get("buttons", []))) for m in
                   await conversations.take_unread(party.conversation_id)]
        # Pushes that waited for this citizen's messaging window (WeChat's 48 hours) can go now.
        await PushStore(session).reopen_window(inbound.channel, inbound.user_id, self.clock())
        await session.commit()  # written before the bot acts on it

        state = await self.dialogues.load(inbound.channel, inbound.user_id)
        turn = Turn(inbound=inbound, party=party, state=state, message_id=message_id, session=session,
                    deployment=self.deployment, calendar=self.calendar, now=self.clock())
        status = "handled"
        if await self._flooded(inbound):
            status = "rate_limited"
            if await self._first_flood_notice(inbound):
                turn.say(texts.RATE_LIMITED)
        else:
            try:
                status = await self._converse(turn)
            except Exception:
                # The message is kept (marked failed, for staff to see) and the citizen told, not left waiting.
                log.exception("a flow failed on message %s", message_id)
                await session.rollback()
                state = await self.dialogues.load(inbound.channel, inbound.user_id)
                turn.replies, status = [Reply(texts.FLOW_FAILED)], "failed"
        for reply in turn.replies:
            await conversations.record_outbound(party, text=reply.text, payload={"buttons": list(reply.buttons)},
                                                in_reply_to=message_id)
        await conversations.mark(message_id, status=status, intent=turn.nlu.intent if turn.nlu else None,
                                 confidence=turn.nlu.confidence if turn.nlu else None)
        await session.commit()
        await self.dialogues.save(inbound.channel, inbound.user_id, state)
        return waiting + turn.replies

    async def _converse(self, turn: Turn) -> str:
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
            return await events.handle(turn, self.subscriptions)
        if inbound.kind not in ("text", "voice"):
            turn.say(texts.UNSUPPORTED)
            return "unsupported"
        if inbound.kind == "text" and await deputies.handle(turn, self.bind_codes):
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

    async def _flooded(self, inbound: Inbound) -> bool:
        limit = self.deployment.rate_limit
        window = int(self.clock().timestamp()) // limit.per_seconds
        key = self.keys.rate(inbound.channel, inbound.user_id, window)
        count = await self.redis.incr(key)
        if count == 1:
            await self.redis.expire(key, limit.per_seconds * 2)
        return count > limit.messages

    async def _first_flood_notice(self, inbound: Inbound) -> bool:
        limit = self.deployment.rate_limit
        window = int(self.clock().timestamp()) // limit.per_seconds
        key = self.keys.rate_notice(inbound.channel, inbound.user_id, window)
        return bool(await self.redis.set(key, "1", nx=True, ex=limit.per_seconds * 2))

    async def _claim_delivery(self, inbound: Inbound) -> bool:
        assert inbound.external_id is not None
        key = self.keys.delivery(inbound.channel, inbound.external_id)
        return bool(await self.redis.set(key, "1", nx=True, ex=DELIVERY_TTL_SECONDS))

    async def _replies_of_first_copy(self, inbound: Inbound) -> list[Reply]:
        """Wait until the first copy of this delivery has been answered, then give the same answer."""
        assert inbound.external_id is not None
        deadline = asyncio.get_running_loop().time() + DUPLICATE_WAIT_SECONDS
        while True:
            async with self.sessionmaker() as session:
                message = await ConversationStore(session).find_inbound(inbound.channel, inbound.external_id)
                if message is not None and message.status != "received":
                    return await self._stored_replies(session, inbound.external_id, inbound.channel)
            if asyncio.get_running_loop().time() > deadline:
                return []
            await asyncio.sleep(0.1)

    @staticmethod
    async def _stored_replies(session: AsyncSession, external_id: str, channel: str) -> list[Reply]:
        conversations = ConversationStore(session)
        message = await conversations.find_inbound(channel, external_id)
        if message is None:
            return []
        return [Reply(m.text, tuple(m.payload.get("buttons", []))) for m in await conversations.replies_to(message.id)]
