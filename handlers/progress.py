"""Asking for progress: one case by its number, or the citizen's own cases.

The citizen's own cases are shown as they wrote them; of a case they follow (关注) only its public
summary (topic, a short masked line, the place at street level) and its progress, never its text or
contact. Anyone else's number gets the same answer as a wrong one, so that numbers cannot be used to
probe other people's cases.
"""

from __future__ import annotations

from casework.cases import CaseState, find_case_numbers, format_case_number, local_day
from casework.deadlines import LOCAL
from handlers.turn import Turn
from services import cases
from services.cases import Case
from texts import citizen as texts

EVENT_LABELS = texts.PROGRESS_EVENT_LABELS
SHOWN_EVENTS = 5


async def ask_progress(turn: Turn) -> None:
    prefix = turn.deployment.case_prefix
    numbers = find_case_numbers(turn.text, prefix)
    if turn.nlu and (named := turn.nlu.entity("case_no")):
        numbers = list(dict.fromkeys([*numbers, *find_case_numbers(named, prefix)]))
    if not numbers:
        await _my_cases(turn)
        return
    departments, found = await cases.progress_for_citizen(turn.session, turn.party, numbers[:3])
    for progress in found:
        if progress.case is None:
            example = format_case_number(prefix, local_day(turn.now), 1)
            turn.say(texts.CASE_NOT_FOUND.format(number=progress.number, example=example))
        else:
            turn.say(_status(progress.case, departments, progress.public))


async def _my_cases(turn: Turn) -> None:
    own = await cases.cases_of_citizen(turn.session, turn.party)
    if not own:
        turn.say(texts.NO_CASES)
        return
    lines = "\n".join(
        texts.MY_CASES_LINE.format(number=c.number, state=CaseState(c.state).label, summary=_summary(c.description))
        for c in own
    )
    turn.say(texts.MY_CASES.format(count=len(own), lines=lines))


def _status(case: Case, departments: dict[int, str], public: tuple[str, str] | None = None) -> str:
    """The case's progress; `public`: of someone else's case the citizen follows, the (summary, place) they
    may read instead of its text."""
    events = "\n".join(
        f"· {e.at.astimezone(LOCAL):%m-%d %H:%M} {EVENT_LABELS.get(e.action, CaseState(e.to_state).label)}"
        for e in case.events[-SHOWN_EVENTS:]
    )
    fields = {
        "number": case.number,
        "created": f"{case.created_at.astimezone(LOCAL):%Y年%m月%d日}",
        "state": CaseState(case.state).label,
        "topic": case.topic,
        "department": departments.get(case.department_id or 0, "待分配"),
        "events": events,
    }
    if public:
        summary, place = public
        text = texts.FOLLOWED_CASE_STATUS.format(**fields, description=summary, place=place or "—")
    else:
        text = texts.CASE_STATUS.format(**fields, description=_summary(case.description, 60))
    if case.state in (CaseState.RECEIVED, CaseState.TRANSFERRED, CaseState.IN_PROGRESS, CaseState.REHANDLING):
        due = case.reply_due_at.astimezone(LOCAL)
        text += texts.CASE_DUE.format(reply_due=f"{due.month}月{due.day}日")
    return text


def _summary(description: str, limit: int = 24) -> str:
    flat = " ".join(description.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"
