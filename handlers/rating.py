"""Rating an answer in the chat: 满意 / 基本满意 / 不满意, with an optional comment.

The rating goes to the citizen's latest answered case (or the one they name); it is taken once per
answer, and a late or repeated rating is answered, not applied again.
"""

from __future__ import annotations

import re

from casework.cases import CaseState, Role, find_case_numbers
from casework.deadlines import LOCAL
from casework.lifecycle import Action, Command, IllegalTransition
from handlers.turn import Turn
from services import cases
from texts import citizen as texts

# Longest first, so that 不满意 is not read as 满意 and 基本满意 not as 满意.
RATING_WORDS = (
    ("很不满意", "不满意"),
    ("非常不满意", "不满意"),
    ("不太满意", "不满意"),
    ("不满意", "不满意"),
    ("基本满意", "基本满意"),
    ("还算满意", "基本满意"),
    ("比较满意", "基本满意"),
    ("还行", "基本满意"),
    ("一般", "基本满意"),
    ("非常满意", "满意"),
    ("很满意", "满意"),
    ("满意", "满意"),
)
# Only words with 满意 open a rating on their own; 还行/一般 are read as ratings once a rating is asked for.
RATING_START = re.compile("^(?:" + "|".join(w for w, _ in RATING_WORDS if "满意" in w) + ")")


def parse_rating(text: str) -> tuple[str | None, str]:
    """(rating, the comment after it) from a message such as "不满意，路灯还是不亮"."""
    stripped = text.strip()
    for word, rating in RATING_WORDS:
        if stripped.startswith(word):
            return rating, stripped[len(word) :].strip(" ，,。.!！：:")
    for word, rating in RATING_WORDS:
        if word in stripped:
            return rating, stripped
    return None, stripped


async def rate(turn: Turn) -> None:
    rating, comment = parse_rating(turn.text)
    if rating is None and turn.nlu and (named := turn.nlu.entity("rating")):
        rating = parse_rating(named)[0]
    if rating is None:
        turn.say(texts.ASK_RATING, "满意", "基本满意", "不满意")
        return
    case, rated = await cases.rating_target(
        turn.session, turn.party, find_case_numbers(turn.text, turn.deployment.case_prefix)
    )
    if case is None:
        turn.say(texts.ALREADY_RATED.format(number=rated.number) if rated else texts.NOTHING_TO_RATE)
        return
    actor = cases.citizen_actor(turn.party)
    try:
        case, transition = await cases.apply(
            turn.session,
            turn.deployment,
            turn.calendar,
            case.number,
            actor,
            Command(Action.RATE, Role.CITIZEN, actor.name, reason=comment, rating=rating),
            turn.now,
        )
    except IllegalTransition as exc:
        turn.say(exc.message)
        return
    due = case.reply_due_at.astimezone(LOCAL)
    answer = {
        CaseState.CLOSED: texts.RATED_CLOSED,
        CaseState.REHANDLING: texts.RATED_REHANDLING,
        CaseState.ESCALATED: texts.RATED_ESCALATED,
    }[transition.to_state]
    turn.say(answer.format(number=case.number, rating=rating, reply_due=f"{due.month}月{due.day}日"))
