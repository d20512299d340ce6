"""Reporting a problem: from free text to a registered case.

    start ──► [description] ──► [place] ──► [contact] ──► [phone] ──► confirm ──► registered
                                   ▲            ▲                        │
                                   └────────────┴──── edit ◄─────────────┤
                                                                         └──► abandoned ("取消" at any step)

Only what is missing is asked. Photos and locations sent at any step are attached to the draft; a location
takes the place of one read from the text. Every answer is checked against its question (`answers`): a
place must look like one, a contact choice be one of the choices; what is not an answer goes to
`handlers.detours`, which answers it and asks again (`ask_again`), or sets the draft aside to resume later.
The answers are read with plain word rules, so the flow goes on even while the NLU is down.
"""

from __future__ import annotations

import re

from casework.cases import Report
from casework.privacy import mask_phone, person_names
from casework.routing import route
from casework.similarity import Sketch
from handlers.turn import Turn
from nlu.client import NluResult
from nlu.entities import LANDLINE, plausible_place
from nlu.problems import MIN_CONFIDENCE
from nlu.topics import OTHER
from services import cases
from services.conversations import DialogueState
from texts import citizen as texts

FLOW = "report"
# 取消 gives up the report; 取消预约 is about a booking (handlers.detours sends it there).
CANCEL = re.compile(
    r"^(?:取消|算了|不报了|不反映了|不想反映了|不想报了|不想说了|我不想说了|不说了|不用了|放弃|退出|不提交|不填了)"
    r"(?!.{0,8}(?:预约|接待|候补|排队|案件|[Ll]{2}\d))"
)
AFFIRM = re.compile(
    r"^(确认|提交|确定|是|是的|对|对的|好|好的|好啊|没问题|可以|可以的|行|行啊|ok|嗯|嗯嗯|没错|确认提交)[。！!~～\s]*$",
    re.I,
)
EDIT = re.compile(r"^(修改|改一下|改|不对|错了|更正|有误|不是)")
PLACE_EDIT = re.compile(r"^(?:地点|地址|位置)\s*(?:改为|改成|应该是|更正为|是|为|：|:)\s*(.+)$", re.S)
APPEND = re.compile(r"^(?:补充|还有|另外)[：:，,\s]*(.+)$", re.S)
PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
NO_PHONE = re.compile(r"^(?:不留|不想留|不方便|不给|算了|不用|不要|不需要|没有|不必|否|no\b)", re.I)
CONTACT_CHOICES = (
    ("anonymous", re.compile(r"^\s*(3|匿名)")),
    ("no", re.compile(r"^\s*(2|不需要|不用|不必|不要联系|别联系|不留|不要|算了|不了)")),
    ("yes", re.compile(r"^\s*(1|同意|可以|愿意|好|行|嗯|要|需要|联系我|是的?|对|ok)", re.I)),
)
FOLLOW = re.compile(r"^(关注|跟进|关注该案件|关注这个)")
# "我要反映问题", "我想投诉", "举报": the wish to report, nothing of the problem yet.
OPENING = re.compile(
    r"^(?:你好|您好)?[，,\s]*(?:我|我们)?(?:想|要|需要|来|得)?(?:跟代表|向代表|给代表|跟你们|向你们)?"
    r"(?:反映|投诉|举报|报修|报告|提|留言|反馈)(?:一下|个|一个|点|些|下)?(?:问题|情况|事情|事儿?|意见|建议)?[。！!，,～~\s]*$"
    r"|^(?:我|我们)?(?:有|还有)(?:个|一个|些|点|件)?(?:问题|情况|事情?)(?:想|要)?(?:反映|投诉|说说?)?(?:一下)?[。！!，,\s]*$"
)
# Words that are no place: 不知道, 不清楚.
VAGUE_PLACE = re.compile(r"^(?:我)?(?:不知道|不清楚|不记得|忘了|说不清|不确定)")
EDIT_CHOICES = (
    ("description", re.compile(r"^\s*1|描述|问题|内容")),
    ("place", re.compile(r"^\s*2|地|位置")),
    ("contact", re.compile(r"^\s*3|联系|电话|匿名")),
)
# A long message is more of the problem whatever the model makes of it.
LONG_MESSAGE = 40
# The model's intents that, sure, mean the citizen wants something else than to answer.
OTHER_REQUESTS = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "ask_progress",
        "book_reception",
        "cancel_booking",
        "rate_service",
        "ask_deputy",
        "ask_station_info",
        "request_human",
        "out_of_scope",
    }
)
MAX_PLACE = 300


async def start(turn: Turn) -> None:
    """A report recognised in free text, chosen from the menu, or begun with a photo or location."""
    nlu = turn.nlu
    draft: dict = {
        "description": "",
        "place": "",
        # Where the place came from: "text" (read from the description), "answer", "location".
        "place_from": None,
        "contact": None,
        "phone": None,
        "photos": [],
        "locations": [],
        "topic": nlu.topic if nlu else "其他",
        "topic_confidence": nlu.topic_confidence if nlu else 0.0,
        # The report's messages, from this one on, will belong to its case (what its department may read).
        "first_message_id": turn.message_id,
    }
    turn.state.reset_flow()
    turn.state.flow, turn.state.draft = FLOW, draft
    if turn.inbound.kind in ("image", "location"):
        _attach(turn)
        turn.state.step = "description"
        if not turn.text:
            turn.say(texts.REPORT_STARTED_WITH_MEDIA)
            return
    # Chosen from the menu ("反映问题", "我要投诉") there is nothing to describe yet; from free text (or a
    # photo's caption), the text is the problem.
    text = nlu.text.strip() if nlu else ""
    if OPENING.match(text):
        text = ""
    _describe(turn, text)
    await _next_question(turn)


async def resume(turn: Turn) -> None:
    """The next message of a report in progress (handlers.detours has seen that it answers the question)."""
    text, step = turn.text, turn.state.step
    if text and CANCEL.match(text) and not (step in ("contact", "phone") and _no_contact(text)):
        turn.state.reset_flow()
        turn.say(texts.ABANDONED)
        return
    if turn.inbound.kind in ("image", "location"):
        _attach(turn)
        if turn.text:  # a photo's caption is more of the problem
            _describe(turn, turn.text)
        if step == "confirm":
            await _summary(turn)
        else:
            await _next_question(turn)
        return
    if step not in ("confirm", "description", "new_description") and (match := APPEND.match(text)):
        # "补充：…" at any question is more of the problem; the question stays.
        _describe(turn, match.group(1).strip())
        turn.say(texts.APPENDED)
        await ask_again(turn)
        return
    if step != "confirm" and (place := _place_edit(turn)):
        turn.state.draft["place"], turn.state.draft["place_from"] = place, "answer"
        await _next_question(turn)
        return
    await STEPS.get(step or "", _on_description)(turn)


# What answers each question (handlers.detours asks before `resume`)


def answers(turn: Turn) -> bool:
    """Whether the message answers the question the report is at (a cancel, a photo, a location always do)."""
    text, step = turn.text, turn.state.step or "description"
    if turn.inbound.kind in ("image", "location") or not text:
        return True
    if CANCEL.match(text) or _place_edit(turn):
        return True
    if step not in ("description", "new_description") and APPEND.match(text):
        return True
    return ANSWERS.get(step, _is_description)(turn)


def _other_request(turn: Turn) -> bool:
    """The model is sure the citizen asks for something else (and the message is too short to be a report)."""
    return turn.sure_intent in OTHER_REQUESTS and len(turn.text) < LONG_MESSAGE


def _is_description(turn: Turn) -> bool:
    text = turn.text
    if len(text) >= LONG_MESSAGE:
        return True
    if not turn.has_words or OPENING.match(text) or AFFIRM.match(text) or _other_request(turn):
        return False
    return turn.sure_intent not in ("affirm", "deny")


def _is_place(turn: Turn) -> bool:
    text = turn.text
    if _looks_like_place(turn):
        return True
    if not turn.has_words or AFFIRM.match(text) or VAGUE_PLACE.match(text) or turn.is_question:
        return False
    return not _other_request(turn) and turn.sure_intent not in ("affirm", "deny")


def _looks_like_place(turn: Turn) -> bool:
    text = turn.text
    return len(text) <= MAX_PLACE and (
        plausible_place(text) or bool(turn.nlu and turn.nlu.entity("place") and not turn.is_question)
    )


def _is_contact(turn: Turn) -> bool:
    return bool(_phone(turn) or _contact_choice(turn.text))


def _is_phone(turn: Turn) -> bool:
    return bool(_phone(turn) or _no_contact(turn.text) or turn.sure_intent == "deny")


def _is_confirmation(turn: Turn) -> bool:
    text, draft = turn.text, turn.state.draft
    if AFFIRM.match(text) or turn.sure_intent in ("affirm", "deny"):
        return True
    if (draft.get("similar") and FOLLOW.match(text)) or _place_edit(turn) or EDIT.match(text):
        return True
    # More words of the problem, not a stale menu digit, a greeting or another request.
    return len(text) >= LONG_MESSAGE or (
        turn.has_words and len(text) >= 6 and not _other_request(turn) and not turn.is_question
    )


def _is_edit(turn: Turn) -> bool:
    return any(pattern.search(turn.text) for _, pattern in EDIT_CHOICES)


ANSWERS = {
    "description": _is_description,
    "new_description": _is_description,
    "place": _is_place,
    "contact": _is_contact,
    "phone": _is_phone,
    "confirm": _is_confirmation,
    "edit": _is_edit,
}


async def ask_again(turn: Turn, lead: str = "", unclear: bool = False) -> None:
    """Ask the question the report is at once more: after a detour (`lead` says we are back), or because the
    message did not answer it (`unclear`: say what kind of answer is wanted)."""
    step = turn.state.step or "description"
    if unclear and step == "contact":
        turn.say(lead + texts.ASK_CONTACT_AGAIN, "1", "2", "3")
        return
    if unclear and step == "phone":
        turn.say(lead + texts.ASK_PHONE_AGAIN)
        return
    hint = UNCLEAR_HINTS.get(step, "") if unclear else ""
    if step == "place" and unclear and VAGUE_PLACE.match(turn.text):
        hint = texts.PLACE_VAGUE
    prefix = lead + hint.format(answer=_quoted(turn.text))
    if step == "confirm":
        buttons = ("确认", "关注", "修改", "取消") if turn.state.draft.get("similar") else ("确认", "修改", "取消")
        turn.say(prefix + texts.CONFIRM_AGAIN, *buttons)
        return
    if step == "edit":
        turn.say(prefix + texts.ASK_WHAT_TO_EDIT, "1", "2", "3")
        return
    if step == "new_description":
        turn.say(prefix + texts.ASK_NEW_DESCRIPTION)
        return
    await _next_question(turn, prefix)


UNCLEAR_HINTS = {
    "description": texts.DESCRIPTION_UNCLEAR,
    "new_description": texts.DESCRIPTION_UNCLEAR,
    "place": texts.PLACE_UNCLEAR,
    "confirm": texts.CONFIRM_UNCLEAR,
    "edit": texts.EDIT_UNCLEAR,
}


def _quoted(text: str, limit: int = 12) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


async def take_back(turn: Turn, lead: str) -> None:
    """A report set aside is taken up again ("继续"): the whole summary at its confirmation, else its question."""
    if turn.state.step == "confirm":
        await _summary(turn, lead)
        return
    await ask_again(turn, lead)


def keep(state: DialogueState) -> str | None:
    """What to offer when the report is set aside unfinished; None when there is nothing worth keeping."""
    draft = state.draft
    if draft.get("description") or draft.get("place") or draft.get("photos") or draft.get("locations"):
        return texts.REPORT_PARKED
    return None


def dropped(state: DialogueState) -> str | None:
    return None


# Steps


async def _on_description(turn: Turn) -> None:
    _describe(turn, turn.text)
    await _next_question(turn)


async def _on_place(turn: Turn) -> None:
    draft = turn.state.draft
    if not _looks_like_place(turn) and turn.sure_intent == "report_issue" and len(turn.text) >= 8:
        # More of the problem instead of the place: kept, and the place asked again.
        _describe(turn, turn.text)
        turn.say(texts.APPENDED)
        await _next_question(turn)
        return
    draft["place"], draft["place_from"] = turn.text[:MAX_PLACE], "answer"
    await _next_question(turn)


async def _on_contact(turn: Turn) -> None:
    draft = turn.state.draft
    phone = _phone(turn)
    if phone:
        draft["contact"], draft["phone"] = "yes", phone
        await _next_question(turn)
        return
    choice = _contact_choice(turn.text)
    if choice is None:
        await ask_again(turn, unclear=True)
        return
    draft["contact"] = choice
    if choice != "yes":
        draft["phone"] = None
    await _next_question(turn)


async def _on_phone(turn: Turn) -> None:
    draft = turn.state.draft
    phone = _phone(turn)
    if phone:
        draft["phone"] = phone
    elif _no_contact(turn.text) or turn.sure_intent == "deny":
        draft["contact"] = "no"
    else:
        await ask_again(turn, unclear=True)
        return
    await _next_question(turn)


async def _on_confirm(turn: Turn) -> None:
    text, draft = turn.text, turn.state.draft
    if AFFIRM.match(text) or turn.sure_intent == "affirm":
        await _register(turn)
        return
    if draft.get("similar") and FOLLOW.match(text):
        await _follow(turn)
        return
    if place := _place_edit(turn):
        draft["place"], draft["place_from"] = place, "answer"
    elif match := APPEND.match(text):
        _describe(turn, match.group(1).strip())
        turn.say(texts.APPENDED)
    elif EDIT.match(text) or turn.sure_intent == "deny":
        turn.state.step = "edit"
        turn.say(texts.ASK_WHAT_TO_EDIT, "1", "2", "3")
        return
    elif text:
        # More words of the problem at the confirmation are more of the problem, never lost.
        _describe(turn, text)
        turn.say(texts.APPENDED)
    await _summary(turn)


async def _on_edit(turn: Turn) -> None:
    draft = turn.state.draft
    choice = next((name for name, pattern in EDIT_CHOICES if pattern.search(turn.text)), None)
    if choice == "description":
        turn.state.step = "new_description"
        turn.say(texts.ASK_NEW_DESCRIPTION)
    elif choice == "place":
        draft["place"], draft["place_from"] = "", None
        await _next_question(turn)
    elif choice == "contact":
        draft["contact"], draft["phone"] = None, None
        await _next_question(turn)
    else:
        turn.say(texts.ASK_WHAT_TO_EDIT, "1", "2", "3")


async def _on_new_description(turn: Turn) -> None:
    turn.state.draft["description"] = ""
    turn.state.draft["problems"] = []
    _describe(turn, turn.text)
    await _next_question(turn)


STEPS = {
    "description": _on_description,
    "place": _on_place,
    "contact": _on_contact,
    "phone": _on_phone,
    "confirm": _on_confirm,
    "edit": _on_edit,
    "new_description": _on_new_description,
}


async def _next_question(turn: Turn, prefix: str = "") -> None:
    """Ask for the first thing still missing, or show the summary when nothing is; `prefix` goes before it."""
    draft = turn.state.draft
    if not draft["description"]:
        turn.state.step = "description"
        turn.say(prefix + texts.ASK_DESCRIPTION)
    elif not draft["place"]:
        turn.state.step = "place"
        turn.say(prefix + texts.ASK_PLACE)
    elif draft["contact"] is None:
        turn.state.step = "contact"
        turn.say(prefix + texts.ASK_CONTACT, "1", "2", "3")
    elif draft["contact"] == "yes" and not draft["phone"]:
        turn.state.step = "phone"
        turn.say(prefix + texts.ASK_PHONE)
    else:
        await _summary(turn, prefix)


async def _summary(turn: Turn, prefix: str = "") -> None:
    draft = turn.state.draft
    turn.state.step = "confirm"
    department = route(draft["topic"], turn.deployment)
    contact = {
        "yes": texts.CONTACT_YES.format(phone=mask_phone(draft["phone"])),
        "no": texts.CONTACT_NO,
        "anonymous": texts.CONTACT_ANONYMOUS,
    }[draft["contact"]]
    attachments = ""
    if draft["photos"] or draft["locations"]:
        attachments = texts.ATTACHMENTS.format(photos=len(draft["photos"]), locations=len(draft["locations"]))
    description = draft["description"]
    if len(description) > texts.SUMMARY_MAX_DESCRIPTION:
        description = description[: texts.SUMMARY_MAX_DESCRIPTION] + f"……（共{len(draft['description'])}字）"
    several = ""
    if problems := several_departments(draft, turn):
        several = texts.SEVERAL_PROBLEMS.format(
            count=len(problems),
            parts="\n".join(
                texts.SEVERAL_PROBLEMS_PART.format(n=n, text=_short(p["text"]), topic=p["topic"], department=name)
                for n, (p, name) in enumerate(problems, 1)
            ),
        )
    summary = texts.SUMMARY.format(
        description=description,
        place=draft["place"],
        topic=draft["topic"],
        department=department.name,
        contact=contact,
        attachments=attachments,
        several=several,
    )
    offer = await cases.similar_offer(
        turn.session, turn.party, Sketch("", draft["topic"], draft["place"], draft["description"])
    )
    if offer:
        draft["similar"] = offer.number
        # Of someone else's case only its public summary: masked, short, without house numbers.
        turn.say(
            prefix
            + summary
            + "\n\n"
            + (texts.SIMILAR_OWN if offer.own else texts.SIMILAR_OFFER).format(
                number=offer.number, state=offer.state.label, summary=offer.summary
            ),
            "确认",
            "关注",
            "修改",
            "取消",
        )
        return
    draft.pop("similar", None)
    turn.say(prefix + summary, "确认", "修改", "取消")


async def _register(turn: Turn) -> None:
    draft = turn.state.draft
    report = Report(
        description=draft["description"],
        place=draft["place"],
        topic=draft["topic"],
        topic_confidence=draft["topic_confidence"],
        anonymous=draft["contact"] == "anonymous",
        contact_consent=draft["contact"] == "yes",
        contact_phone=draft["phone"] if draft["contact"] == "yes" else None,
        deputy_code=turn.state.deputy_code,
        attachments=tuple(draft["photos"] + draft["locations"]),
        named_people=tuple(draft.get("people", ())),
        problems=tuple((p["topic"], p["text"]) for p, _ in several_departments(draft, turn)),
    )
    case, registration = await cases.register_report(
        turn.session,
        turn.deployment,
        turn.calendar,
        turn.party,
        report,
        turn.now,
        from_message_id=draft.get("first_message_id", turn.message_id),
    )
    department = route(report.topic, turn.deployment)
    due = registration.deadlines.reply_due_at
    turn.state.reset_flow()
    registered = texts.REGISTERED.format(
        number=case.number, department=department.name, reply_due=f"{due.month}月{due.day}日"
    )
    if report.problems:
        registered += texts.REGISTERED_SEVERAL.format(count=len(report.problems))
    turn.say(registered)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= texts.SEVERAL_PROBLEMS_PART_MAX else text[: texts.SEVERAL_PROBLEMS_PART_MAX] + "……"


async def _follow(turn: Turn) -> None:
    """The citizen follows the existing case of the same problem instead of opening another."""
    number = turn.state.draft["similar"]
    case = await cases.follow(turn.session, turn.party, number, turn.now)
    turn.state.reset_flow()
    if case is None:
        turn.say(texts.ABANDONED)
        return
    turn.say(texts.FOLLOWING.format(number=number))


def _describe(turn: Turn, text: str) -> None:
    """Add text to the description; the topic follows the most confident prediction so far."""
    draft = turn.state.draft
    if not text:
        return
    draft["description"] = f"{draft['description']}\n{text}".strip() if draft["description"] else text
    if turn.nlu:
        # The people the NLU named (我叫王小明, 联系人李华): their names are masked wherever the case is shown.
        named = person_names(e["value"] for e in turn.nlu.entities if e["entity"] == "person")
        draft["people"] = list(dict.fromkeys([*draft.get("people", ()), *named]))
    if not draft["place"] and turn.nlu and (place := turn.nlu.entity("place")):
        draft["place"], draft["place_from"] = place[:MAX_PLACE], "text"
    if draft["contact"] is None and (phone := _phone(turn)):
        draft["contact"], draft["phone"] = "yes", phone
    if turn.nlu and turn.state.step != "confirm" and turn.nlu.topic_confidence >= draft["topic_confidence"]:
        draft["topic"], draft["topic_confidence"] = turn.nlu.topic, turn.nlu.topic_confidence
    if turn.nlu:
        draft["problems"] = _problems(draft.get("problems", []), turn.nlu, text)


def _problems(known: list[dict[str, str]], nlu: NluResult, text: str) -> list[dict[str, str]]:
    """The draft's problems by topic after `text` was added: those the message holds (several topics in one
    message), or the message itself when its topic is sure; one entry per topic, texts joined."""
    found = [{"topic": p.topic, "text": p.text} for p in nlu.problems]
    if not found and nlu.topic != OTHER and nlu.topic_confidence >= MIN_CONFIDENCE:
        found = [{"topic": nlu.topic, "text": text}]
    merged = {p["topic"]: dict(p) for p in known}
    for problem in found:
        if (seen := merged.get(problem["topic"])) is not None:
            seen["text"] = f"{seen['text']}；{problem['text']}"
        else:
            merged[problem["topic"]] = problem
    return list(merged.values())


def several_departments(draft: dict, turn: Turn) -> list[tuple[dict[str, str], str]]:
    """The draft's problems with the department of each, when they go to more than one department; [] else."""
    problems = [(p, route(p["topic"], turn.deployment).name) for p in draft.get("problems", [])]
    return problems if len({name for _, name in problems}) > 1 else []


def _attach(turn: Turn) -> None:
    inbound, draft = turn.inbound, turn.state.draft
    if inbound.kind == "image":
        draft["photos"].append({"kind": "image", "media_ref": inbound.media_ref, "message_id": turn.message_id})
        turn.say(texts.ATTACHED_PHOTO.format(count=len(draft["photos"])))
        return
    label = inbound.label or f"{inbound.latitude:.5f},{inbound.longitude:.5f}"
    draft["locations"].append(
        {
            "kind": "location",
            "label": label,
            "latitude": inbound.latitude,
            "longitude": inbound.longitude,
            "message_id": turn.message_id,
        }
    )
    # A location is where the problem is: it replaces a place read from the text (often cut short), not one
    # the citizen gave as their answer; bare coordinates replace nothing people can read.
    if not draft["place"] or (draft.get("place_from") == "text" and inbound.label):
        draft["place"], draft["place_from"] = label[:MAX_PLACE], "location"
    turn.say(texts.ATTACHED_LOCATION.format(label=label))


def _phone(turn: Turn) -> str | None:
    """A mobile number (or a landline with its area code) in the message."""
    if match := PHONE.search(turn.text):
        return match.group(1)
    if match := LANDLINE.search(turn.text):
        return f"{match.group(1)}-{match.group(2)}"
    named = turn.nlu.entity("phone") if turn.nlu else None
    return named if named and PHONE.search(named) else None


def _place_edit(turn: Turn) -> str | None:
    """The place of "地点改为幸福路20号" (not of a question such as "地址是什么")."""
    match = PLACE_EDIT.match(turn.text)
    return match.group(1).strip()[:MAX_PLACE] if match and not turn.is_question else None


def _contact_choice(text: str) -> str | None:
    return next((name for name, pattern in CONTACT_CHOICES if pattern.match(text)), None)


def _no_contact(text: str) -> bool:
    """不用了, 不留, 算了 at the contact or phone question: no contact, not the end of the report."""
    return bool(NO_PHONE.match(text)) or _contact_choice(text) == "no"
