"""A citizen's own actions on a case they reported: add information to it, correct its place, withdraw it.

补充…        ──► added to the open case (the one named; asked which when there are several)
地点改为…    ──► the corrected place added to the open case, the same way
撤回…        ──► [which] ──► confirm ──► withdrawn

which: "您有3件正在办理的案件，要补充到哪一件？" ── "2" / "第一个" / "路灯那个" / a case number
"""

from __future__ import annotations

import re

from casework.actors import Actor
from casework.cases import CaseState, Role, find_case_numbers
from casework.lifecycle import FINAL_STATES, Action, Command, IllegalTransition
from handlers.choices import Option, pick
from handlers.turn import Turn
from services import cases
from services.conversations import DialogueState
from texts import citizen as texts

FLOW = "followup"
WITHDRAW_FLOW = "withdraw"
ADD_INFO = re.compile(r"^补充")
# "地点改为…", "地址应该是…", "位置写错了，应该是…": a correction, not a question ("地址是什么").
PLACE_FIX = re.compile(
    r"^(?:刚才的?|那个)?(?:地点|地址|位置)\s*(?:写错了|错了|有误)?[，,\s]*(?:改为|改成|改到|应该是|应为|更正为|更正|是在|在)\s*[：:]?\s*(.+)$",
    re.S,
)
WITHDRAW = re.compile(r"^(撤回|撤销|取消案件|不用处理了|问题已经解决了?)")
CONFIRM_WITHDRAW = re.compile(r"^(确认撤回|确认|确定|是的?|对|好的?|可以|行|嗯|撤回吧?)[。！!\s]*$")
GIVE_UP = re.compile(r"^(算了|不用了|不改了|取消|不要了|放弃)[。！!\s]*$")
SHOWN_CASES = 5
SUMMARY_LENGTH = 20


def _actor(turn: Turn) -> Actor:
    return cases.citizen_actor(turn.party)


async def add_info(turn: Turn) -> None:
    text = re.sub(r"^补充[：:，,\s]*", "", turn.text)
    await _for_case(turn, "add", _without_numbers(turn, text))


async def correct_place(turn: Turn) -> None:
    """地点改为… after the case was registered: the corrected place is added to the case (staff see it)."""
    match = PLACE_FIX.match(turn.text)
    place = match.group(1).strip(" 。，,") if match else ""
    await _for_case(turn, "place", place)


async def withdraw(turn: Turn) -> None:
    await _for_case(turn, "withdraw", turn.text)


async def _for_case(turn: Turn, what: str, text: str) -> None:
    """Do `what` to the case named, the only open one, or the one the citizen picks from their open cases."""
    open_cases = await _open_cases(turn)
    named = find_case_numbers(turn.text, turn.deployment.case_prefix)
    if named:
        open_cases = [c for c in open_cases if c.number in named]
    if not open_cases:
        turn.say(texts.NO_OPEN_CASE)
        return
    if len(open_cases) > 1:
        shown = open_cases[:SHOWN_CASES]
        turn.state.reset_flow()
        turn.state.flow, turn.state.step = FLOW, "pick"
        turn.state.draft = {
            "what": what,
            "text": text,
            "cases": [c.number for c in shown],
            "summaries": [_summary(c.description) for c in shown],
        }
        lines = "\n".join(
            texts.WHICH_CASE_LINE.format(n=i, number=c.number, summary=_summary(c.description))
            for i, c in enumerate(shown, 1)
        )
        turn.say(
            texts.WHICH_CASE.format(count=len(shown), what=texts.WHICH_CASE_WHAT[what], lines=lines),
            *[str(i) for i in range(1, len(shown) + 1)],
        )
        return
    await _carry_out(turn, what, open_cases[0].number, text)


async def resume(turn: Turn) -> None:
    """The answer to "which case?" (or to "what to add?")."""
    draft = turn.state.draft
    if GIVE_UP.match(turn.text):
        turn.state.reset_flow()
        turn.say(texts.CASE_UNCHANGED)
        return
    if turn.state.step == "text":
        turn.state.reset_flow()
        await _carry_out(turn, draft["what"], draft["case"], turn.text)
        return
    index = _picked(turn)
    if index is None:
        turn.say(texts.PICK_CASE_AGAIN.format(count=len(draft["cases"])), *draft_buttons(draft))
        return
    turn.state.reset_flow()
    await _carry_out(turn, draft["what"], draft["cases"][index], draft["text"])


def draft_buttons(draft: dict) -> list[str]:
    return [str(i) for i in range(1, len(draft["cases"]) + 1)]


async def _carry_out(turn: Turn, what: str, number: str, text: str) -> None:
    if what == "withdraw":
        turn.state.reset_flow()
        turn.state.flow, turn.state.step = WITHDRAW_FLOW, "confirm"
        turn.state.draft = {"case": number, "reason": text}
        turn.say(texts.CONFIRM_WITHDRAW.format(number=number), "确认撤回", "不撤回")
        return
    if not text:
        turn.state.reset_flow()
        turn.state.flow, turn.state.step = FLOW, "text"
        turn.state.draft = {"what": what, "case": number}
        turn.say(texts.ASK_ADDITION.format(number=number))
        return
    reason = texts.PLACE_CORRECTION.format(place=text) if what == "place" else text
    actor = _actor(turn)
    try:
        await cases.apply(
            turn.session,
            turn.deployment,
            turn.calendar,
            number,
            actor,
            Command(Action.ADD_INFO, Role.CITIZEN, actor.name, reason=reason),
            turn.now,
        )
    except IllegalTransition as exc:
        turn.say(exc.message)
        return
    if what == "place":
        turn.say(texts.PLACE_CORRECTED.format(place=text, number=number))
    else:
        turn.say(texts.ADDED_TO_CASE.format(number=number))


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


# What answers the questions of these flows (handlers.detours asks first)


def answers(turn: Turn) -> bool:
    state, text = turn.state, turn.text
    if GIVE_UP.match(text):
        return True
    if state.flow == WITHDRAW_FLOW:
        # Anything but a confirmation keeps the case; only another sure request is not an answer.
        return bool(CONFIRM_WITHDRAW.match(text)) or turn.sure_intent in (None, "affirm", "deny")
    if state.step == "text":
        return turn.has_words and turn.sure_intent in (None, "report_issue", "affirm", "deny")
    return _picked(turn) is not None


async def ask_again(turn: Turn, lead: str = "", unclear: bool = False) -> None:
    state = turn.state
    if state.flow == WITHDRAW_FLOW:
        turn.say(lead + texts.CONFIRM_WITHDRAW.format(number=state.draft["case"]), "确认撤回", "不撤回")
    elif state.step == "text":
        turn.say(lead + texts.ASK_ADDITION.format(number=state.draft["case"]))
    else:
        turn.say(lead + texts.PICK_CASE_AGAIN.format(count=len(state.draft["cases"])), *draft_buttons(state.draft))


def keep(state: DialogueState) -> str | None:
    return None


def dropped(state: DialogueState) -> str | None:
    if state.flow == WITHDRAW_FLOW:
        return texts.NOT_WITHDRAWN.format(number=state.draft["case"])
    return texts.CASE_UNCHANGED


# Helpers


async def _open_cases(turn: Turn) -> list[cases.Case]:
    own = await cases.cases_of_citizen(turn.session, turn.party)
    return [c for c in own if CaseState(c.state) not in FINAL_STATES]


def _picked(turn: Turn) -> int | None:
    draft = turn.state.draft
    numbers = find_case_numbers(turn.text, turn.deployment.case_prefix)
    for i, number in enumerate(draft.get("cases", [])):
        if number in numbers:
            return i
    options = [Option(n, words=s) for n, s in zip(draft.get("cases", []), draft.get("summaries", []), strict=False)]
    return pick(turn.text, options, turn.now.date())


def _without_numbers(turn: Turn, text: str) -> str:
    return re.sub(rf"{turn.deployment.case_prefix}\d{{11,}}[：:，,\s]*", "", text, flags=re.I).strip()


def _summary(description: str) -> str:
    flat = " ".join(description.split())
    return flat if len(flat) <= SUMMARY_LENGTH else flat[:SUMMARY_LENGTH] + "…"
