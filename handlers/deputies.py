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

from casework.cases import find_case_numbers
from casework.lifecycle import IllegalTransition
from handlers.turn import Turn
from services import deputies
from services.conversations import BindCodes
from texts import citizen as texts

BIND = re.compile(r"^\s*绑定\s*[:：]?\s*([A-Za-z0-9]{4,16})\s*$")
FOLLOW = re.compile(r"^\s*(?:我来跟进|我跟进)")
CONTACTED = re.compile(r"^\s*已联系")
ON_SPOT = re.compile(r"^\s*当场答复")


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
            case = await deputies.answer_on_spot(
                turn.session, turn.deployment, turn.calendar, user, number, rest, turn.now
            )
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
        user = await deputies.bind_chat(turn.session, deputy_code, turn.inbound.channel, turn.inbound.user_id, turn.now)
    except deputies.DeputyRefused as exc:
        turn.say(exc.message)
        return
    turn.say(texts.DEPUTY_BOUND.format(name=await deputies.deputy_name(turn.session, user.deputy_id, deputy_code)))


async def _deputy(turn: Turn) -> deputies.User | None:
    return await deputies.deputy_user(turn.session, turn.inbound.channel, turn.inbound.user_id)


def _rest(text: str, prefix: str) -> str:
    """What follows the command word, without the case number and leading punctuation."""
    rest = re.sub(r"^\s*(?:我来跟进|我跟进|已联系|当场答复)", "", text)
    rest = re.sub(rf"{prefix}\d{{11,}}", "", rest, flags=re.I)
    return rest.strip(" \t\n：:，,。；;")
