"""A citizen's own actions on a case they reported: add information to it, or withdraw it.

补充… ──► added to the latest open case (or the one named)
撤回… ──► confirm ──► withdrawn
"""

from __future__ import annotations

import re

from casework.actors import Actor
from casework.cases import Role, find_case_numbers
from casework.lifecycle import Action, Command, IllegalTransition
from handlers.turn import Turn
from services import cases
from texts import citizen as texts

ADD_INFO = re.compile(r"^补充")
WITHDRAW = re.compile(r"^(撤回|撤销|取消案件|不用处理了|问题已经解决了?)")
CONFIRM_WITHDRAW = re.compile(r"^(确认撤回|确认|确定|是的?|对|好的?)[。！!\s]*$")


async def _open_case(turn: Turn) -> cases.Case | None:
    return await cases.open_case_of(turn.session, turn.party, find_case_numbers(turn.text, turn.deployment.case_prefix))


def _actor(turn: Turn) -> Actor:
    return cases.citizen_actor(turn.party)


async def add_info(turn: Turn) -> None:
    case = await _open_case(turn)
    if case is None:
        turn.say(texts.NO_OPEN_CASE)
        return
    text = re.sub(r"^补充[：:，,\s]*", "", turn.text)
    text = re.sub(rf"{turn.deployment.case_prefix}\d{{11,}}[：:，,\s]*", "", text, flags=re.I).strip()
    if not text:
        turn.say(texts.ASK_ADDITION.format(number=case.number))
        return
    actor = _actor(turn)
    try:
        await cases.apply(
            turn.session,
            turn.deployment,
            turn.calendar,
            case.number,
            actor,
            Command(Action.ADD_INFO, Role.CITIZEN, actor.name, reason=text),
            turn.now,
        )
    except IllegalTransition as exc:
        turn.say(exc.message)
        return
    turn.say(texts.ADDED_TO_CASE.format(number=case.number))


async def withdraw(turn: Turn) -> None:
    case = await _open_case(turn)
    if case is None:
        turn.say(texts.NO_OPEN_CASE)
        return
    turn.state.reset_flow()
    turn.state.flow, turn.state.step = "withdraw", "confirm"
    turn.state.draft = {"case": case.number, "reason": turn.text}
    turn.say(texts.CONFIRM_WITHDRAW.format(number=case.number), "确认撤回", "不撤回")


async def confirm_withdraw(turn: Turn) -> None:
    number, reason = turn.state.draft["case"], turn.state.draft["reason"]
    turn.state.reset_flow()
    if not CONFIRM_WITHDRAW.match(turn.text):
        turn.say(texts.NOT_WITHDRAWN.format(number=number))
        return
    actor = _actor(turn)
    try:
        await cases.apply(
            turn.session,
            turn.deployment,
            turn.calendar,
            number,
            actor,
            Command(Action.WITHDRAW, Role.CITIZEN, actor.name, reason=reason),
            turn.now,
        )
    except IllegalTransition as exc:
        turn.say(exc.message)
        return
    turn.say(texts.WITHDRAWN.format(number=number))
