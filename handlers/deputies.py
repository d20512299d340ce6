"""Deputies in the chat: binding their chat to their record, then acting on cases with short words,
in answer to the pushes they receive.

    绑定 CODE ──────► this chat receives the deputy's pushes (a one-time code: `liaison deputy bind-code`)
    我来跟进 [编号] ─► the deputy follows the case named, or the latest case they were sent
    已联系 [内容] ───► noted on the latest case they follow (or the one named)
    当场答复 内容 ───► the case is answered on the spot; the citizen is asked to rate the answer

Anyone else saying these words is not a deputy: the citizen's flows answer them as usual.
"""

from __future__ import annotations

import re
import secrets

from redis.asyncio import Redis

from casework.cases import find_case_numbers
from casework.lifecycle import IllegalTransition
from handlers.turn import Turn
from services import deputies
from storage.keys import Keys
from storage.models import Deputy, User
from storage.repositories import DirectoryStore, UserStore
from texts import citizen as texts

BIND = re.compile(r"^\s*绑定\s*[:：]?\s*([A-Za-z0-9]{4,16})\s*$")
FOLLOW = re.compile(r"^\s*(?:我来跟进|我跟进)")
CONTACTED = re.compile(r"^\s*已联系")
ON_SPOT = re.compile(r"^\s*当场答复")
# No 0/O, 1/I/L: codes are read off a screen and typed on a phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
BIND_CODE_TTL_SECONDS = 24 * 3600


class BindCodes:
    """One-time codes that bind a chat to a deputy, kept in Redis until used or expired."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def issue(self, deputy_code: str, ttl: int = BIND_CODE_TTL_SECONDS) -> str:
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if await self.redis.set(self.keys.deputy_bind_code(code), deputy_code, nx=True, ex=ttl):
                return code

    async def redeem(self, code: str) -> str | None:
        """The deputy the code was issued for, once; None for an unknown, used or expired code."""
        return await self.redis.getdel(self.keys.deputy_bind_code(code.upper()))


async def handle(turn: Turn, codes: BindCodes) -> bool:
    """Answer a deputy's command; False when the message is not one (the usual flows take it)."""
    text = turn.text
    if match := BIND.match(text):
        await _bind(turn, codes, match.group(1))
        return True
    if not (FOLLOW.match(text) or CONTACTED.match(text) or ON_SPOT.match(text)):
        return False
    user = await _deputy(turn)
    if user is None:
        return False
    numbers = find_case_numbers(text, turn.deployment.case_prefix)
    number = numbers[0] if numbers else None
    rest = _rest(text, turn.deployment.case_prefix)
    try:
        if FOLLOW.match(text):
            case, new = await deputies.take_up(turn.session, user, number, turn.now)
            turn.say((texts.DEPUTY_FOLLOWING if new else texts.DEPUTY_ALREADY_FOLLOWING).format(number=case.number))
        elif CONTACTED.match(text):
            case = await deputies.note_contact(turn.session, user, number, rest, turn.now)
            turn.say(texts.DEPUTY_CONTACT_NOTED.format(number=case.number))
        elif not rest:
            turn.say(texts.DEPUTY_ASK_ANSWER)
        else:
            case = await deputies.answer_on_spot(turn.session, turn.deployment, turn.calendar, user, number, rest,
                                                 turn.now)
            turn.say(texts.DEPUTY_ANSWERED.format(number=case.number))
    except (deputies.DeputyRefused, IllegalTransition) as exc:
        turn.say(exc.message)
    return True


async def _bind(turn: Turn, codes: BindCodes, code: str) -> None:
    deputy_code = await codes.redeem(code)
    if deputy_code is None:
        turn.say(texts.BIND_CODE_INVALID)
        return
    try:
        user = await deputies.bind_chat(turn.session, deputy_code, turn.inbound.channel, turn.inbound.user_id)
    except deputies.DeputyRefused as exc:
        turn.say(exc.message)
        return
    await turn.session.commit()
    names = await DirectoryStore(turn.session).names(Deputy)
    turn.say(texts.DEPUTY_BOUND.format(name=names.get(user.deputy_id or 0, deputy_code)))


async def _deputy(turn: Turn) -> User | None:
    users = await UserStore(turn.session).by_address(turn.inbound.channel, turn.inbound.user_id)
    return next((u for u in users if u.role == "deputy" and u.deputy_id is not None), None)


def _rest(text: str, prefix: str) -> str:
    """What follows the command word, without the case number and leading punctuation."""
    rest = re.sub(r"^\s*(?:我来跟进|我跟进|已联系|当场答复)", "", text)
    rest = re.sub(rf"{prefix}\d{{11,}}", "", rest, flags=re.I)
    return rest.strip(" \t\n：:，,。；;")
