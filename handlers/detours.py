"""A reply that is not an answer to the question a flow asked, and the flows set aside meanwhile.

At every question of the report, booking and follow-up flows the message may answer something else than
what was asked. Each flow says whether a message answers its question (`answers`), how to ask it again
(`ask_again`), and what of it is worth keeping when the citizen turns away (`keep`) or what to say of it
dropped (`dropped`); this module decides what the message is instead:

    a request for a person ("转人工") ─────► recorded, at any step; the flow set aside
    a greeting, thanks, the station, the deputies, help, "我的预约", "多久能办好" ─► answered, question asked again
    another request (progress, a booking, a report, a rating, a cancellation, 补充, 撤回…)
                                         ─► the flow set aside, that request's flow runs
    goodbye                              ─► the flow set aside, goodbye
    a question nobody here can answer    ─► said so, question asked again
    "等一下", "我再想想"                   ─► the flow waits
    anything else (a menu digit where a place is asked…) ─► question asked again, saying what is wanted

A flow set aside with something in it is parked (`DialogueState.parked`, one per flow): when the turn ends
outside any flow, `offer` reminds the citizen ("您还有一条未提交的反映，回复“继续”接着填写"), and "继续" takes
it back (`take_back`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType

from casework.cases import find_case_numbers
from handlers import booking, followup, report, smalltalk
from handlers.turn import Turn
from services.conversations import DialogueState
from texts import citizen as texts

Flow = Callable[[Turn], Awaitable[None]]

# The flows that ask questions, by DialogueState.flow.
QUESTIONS: dict[str, ModuleType] = {
    report.FLOW: report,
    booking.FLOW: booking,
    followup.FLOW: followup,
    followup.WITHDRAW_FLOW: followup,
}
LEADS = {report.FLOW: texts.BACK_TO_REPORT, booking.FLOW: texts.BACK_TO_BOOKING}

# Words that ask for a person, whatever the step: the model is not needed for these.
PERSON = re.compile(
    r"^(?:我要|我想|请|麻烦|帮我|给我)?(?:转|找|接|要|叫|换)?(?:个)?(?:人工|真人|活人|客服)(?:客服|服务|处理)?"
    r"(?:吧|啊|呀|谢谢)?[。！!，,\s]*$"
    r"|^(?:我要|我想|请|麻烦|帮我)?(?:转|找|叫|换)(?:个|你们的?|值班的?)?(?:工作人员|领导|站长)(?:来|吧)?[。！!\s]*$"
)
RESUME = re.compile(r"^(?:继续|接着|继续填写?|接着填写?|继续反映|继续预约|接着说|回到刚才)[。！!吧\s]*$")
GIVE_UP = re.compile(r"^(?:不用了|算了|放弃|不填了|不继续了?|不要了)[。！!吧\s]*$")
WAIT = re.compile(r"^(?:等一下|等等|稍等|稍等一下|等会儿?|我再想想|让我想想|我想一想|我先想想)[。！!，,吧…\s]*$")
HOW_LONG = re.compile(r"(?:多久|多长时间|几天|什么时候|啥时候).{0,6}(?:处理|答复|回复|解决|办|有结果|有回音)")
ON_THE_SPOT = {"greet", "thank", "ask_station_info", "ask_deputy", "out_of_scope"}
ELSEWHERE = {"ask_progress", "book_reception", "cancel_booking", "rate_service", "report_issue"}


async def handle(turn: Turn, intents: Mapping[str, Flow], words: Callable[[Turn], Flow | None]) -> bool:
    """Deal with a message that does not answer the question of the flow in progress; False when it answers
    it (the flow takes it). `intents`: the flow of each intent; `words`: the flows recognised by their words."""
    state = turn.state
    flow = QUESTIONS.get(state.flow or "")
    if flow is None:
        return False
    if smalltalk.HELP.match(turn.text):  # never an answer, whatever the question
        await _answer_here(turn, smalltalk.help_)
        return True
    if WAIT.match(turn.text):  # the question stays; nothing to ask again yet
        turn.say(texts.TAKE_YOUR_TIME)
        return True
    if booking.MY_BOOKINGS.match(turn.text):
        await _answer_here(turn, booking.list_bookings)
        return True
    answers = flow.answers(turn)
    if PERSON.match(turn.text) or (not answers and turn.sure_intent == "request_human"):
        await _switch(turn, smalltalk.request_human)
        return True
    if answers:
        return False
    if HOW_LONG.search(turn.text):
        await _answer_here(turn, _how_long)
        return True
    elsewhere = words(turn)
    if elsewhere is report.start and state.flow == report.FLOW:
        elsewhere = None  # "我要反映问题" in the middle of a report: the report goes on
    if elsewhere is None and find_case_numbers(turn.text, turn.deployment.case_prefix):
        elsewhere = intents["ask_progress"]
    intent = turn.sure_intent
    if elsewhere is None and intent in ELSEWHERE and intent != _own_intent(state.flow):
        elsewhere = intents[intent]
    if elsewhere is not None:
        await _switch(turn, elsewhere)
        return True
    if intent == "goodbye":
        await _switch(turn, _goodbye)
        return True
    if intent in ON_THE_SPOT:
        await _answer_here(turn, ANSWERS[intent])
        return True
    if turn.is_question and intent not in ("affirm", "deny"):
        await _answer_here(turn, _cannot_answer)
        return True
    await flow.ask_again(turn, unclear=True)
    return True


def offer(turn: Turn, started_in: str | None) -> None:
    """At the end of a turn that left a flow (finished, abandoned or set aside), remind the citizen of the
    latest flow still parked."""
    state = turn.state
    if state.flow is None and started_in is not None and state.parked:
        turn.say(_offer_text(state.parked[-1]), texts.RESUME_BUTTON)


def wants_back(turn: Turn) -> bool:
    """Whether the message is "继续" outside any flow (or 不用了, with a flow parked: drop it)."""
    state = turn.state
    if state.flow is not None:
        return False
    return bool(RESUME.match(turn.text)) or (bool(state.parked) and bool(GIVE_UP.match(turn.text)))


async def take_back(turn: Turn) -> None:
    """Resume the latest flow parked at the question it was at ("继续"), or drop what is parked ("不用了")."""
    state = turn.state
    if not state.parked:
        turn.say(texts.NOTHING_TO_RESUME)
        return
    if GIVE_UP.match(turn.text):
        state.parked = []
        turn.say(texts.PARKED_DROPPED)
        return
    parked = state.parked.pop()
    state.reset_flow()
    state.flow, state.step, state.draft = parked["flow"], parked["step"], parked["draft"]
    flow = QUESTIONS[parked["flow"]]
    lead = LEADS.get(parked["flow"], "")
    if hasattr(flow, "take_back"):
        await flow.take_back(turn, lead)
    else:
        await flow.ask_again(turn, lead)


def _own_intent(flow: str | None) -> str | None:
    """The intent that starts the flow in progress: within it, more of the same is no other request."""
    return {report.FLOW: "report_issue", booking.FLOW: "book_reception"}.get(flow or "")


def set_aside(turn: Turn) -> None:
    """Leave the flow in progress: parked when worth keeping, else dropped (and what that means said)."""
    state = turn.state
    flow = QUESTIONS.get(state.flow or "")
    if flow is None:
        return
    if flow.keep(state) is not None:
        state.parked = [p for p in state.parked if p["flow"] != state.flow]
        state.parked.append({"flow": state.flow, "step": state.step, "draft": state.draft})
    elif note := flow.dropped(state):
        turn.say(note)
    state.reset_flow()


async def _switch(turn: Turn, elsewhere: Flow) -> None:
    """Set the flow in progress aside, then go where the citizen wants."""
    set_aside(turn)
    await elsewhere(turn)


async def _answer_here(turn: Turn, answer: Flow) -> None:
    """Answer the message, then ask the flow's question again: the flow goes on where it was."""
    state = turn.state
    flow, step, draft = state.flow, state.step, state.draft
    await answer(turn)
    state.flow, state.step, state.draft = flow, step, draft  # an answer never moves the flow
    await QUESTIONS[flow or ""].ask_again(turn, LEADS.get(flow or "", ""))


def _offer_text(parked: dict) -> str:
    """What the flow parked says of itself (its `keep`): "您还有一条未提交的反映…"."""
    state = DialogueState(flow=parked["flow"], step=parked["step"], draft=parked["draft"])
    return QUESTIONS[parked["flow"]].keep(state) or texts.REPORT_PARKED


async def _greet(turn: Turn) -> None:
    turn.say(texts.GREET_IN_FLOW)


async def _thank(turn: Turn) -> None:
    turn.say(texts.THANKS_IN_FLOW)


async def _out_of_scope(turn: Turn) -> None:
    turn.say(texts.OUT_OF_SCOPE_IN_FLOW)


async def _cannot_answer(turn: Turn) -> None:
    turn.say(texts.QUESTION_IN_FLOW)


async def _goodbye(turn: Turn) -> None:
    turn.say(texts.GOODBYE_UNFINISHED)


async def _how_long(turn: Turn) -> None:
    deadlines = turn.deployment.deadlines
    turn.say(
        texts.HOW_LONG.format(
            transfer_hours=deadlines.transfer_hours,
            reply_days=deadlines.reply_working_days,
            overdue_days=deadlines.overdue_working_days,
        )
    )


ANSWERS: dict[str, Flow] = {
    "greet": _greet,
    "thank": _thank,
    "ask_station_info": smalltalk.station_info,
    "ask_deputy": smalltalk.deputies,
    "out_of_scope": _out_of_scope,
}
