"""Reporting a problem: from free text to a registered case.

    start ──► [place] ──► [contact] ──► [phone] ──► confirm ──► registered
                 ▲            ▲                        │
                 └────────────┴──── edit ◄─────────────┤
                                                       └──► abandoned ("取消" at any step)

Only what is missing is asked. Photos and locations sent at any step are attached to the draft.
The answers are read with plain word rules, so the flow goes on even while the NLU is down.
"""

from __future__ import annotations

import re

from casework.cases import Report
from casework.privacy import mask_phone, person_names
from casework.routing import route
from casework.similarity import Sketch
from handlers.turn import Turn
from services import cases
from texts import citizen as texts

CANCEL = re.compile(r"^(取消|算了|不报了|不反映了|不用了|放弃|退出|不提交)")
AFFIRM = re.compile(r"^(确认|提交|确定|是|是的|对|对的|好|好的|没问题|可以|行|ok|嗯|没错)[。！!~～\s]*$", re.I)
EDIT = re.compile(r"^(修改|改一下|改|不对|错了|更正|有误|不是)")
PLACE_EDIT = re.compile(r"^(?:地点|地址|位置)\s*(?:改为|改成|应该是|是|为|：|:)\s*(.+)$", re.S)
APPEND = re.compile(r"^(?:补充|还有|另外)[：:，,\s]*(.+)$", re.S)
PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
NO_PHONE = re.compile(r"不留|不想留|不方便|不给|算了|不用")
CONTACT_CHOICES = (
    ("yes", re.compile(r"^\s*(1|同意|可以|愿意|好|行|联系我|同意联系)")),
    ("no", re.compile(r"^\s*(2|不需要|不用|不必|不要联系|别联系)")),
    ("anonymous", re.compile(r"^\s*(3|匿名)")),
)
FOLLOW = re.compile(r"^(关注|跟进|关注该案件|关注这个)")
MAX_PLACE = 300


async def start(turn: Turn) -> None:
    """A report recognised in free text, chosen from the menu, or begun with a photo or location."""
    nlu = turn.nlu
    draft: dict = {
        "description": "",
        "place": "",
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
    turn.state.flow, turn.state.draft = "report", draft
    if turn.inbound.kind in ("image", "location"):
        _attach(turn)
        turn.state.step = "description"
        if not turn.text:
            turn.say(texts.REPORT_STARTED_WITH_MEDIA)
            return
    # Chosen from the menu there is nothing to describe yet; from free text (or a photo's caption),
    # the text is the problem.
    _describe(turn, nlu.text.strip() if nlu else "")
    await _next_question(turn)


async def resume(turn: Turn) -> None:
    """The next message of a report in progress."""
    text = turn.text
    if text and CANCEL.match(text):
        turn.state.reset_flow()
        turn.say(texts.ABANDONED)
        return
    if turn.inbound.kind in ("image", "location"):
        _attach(turn)
        if turn.text:  # a photo's caption is more of the problem
            _describe(turn, turn.text)
        if turn.state.step == "confirm":
            await _summary(turn)
        else:
            await _next_question(turn)
        return
    step = STEPS.get(turn.state.step or "", _on_description)
    await step(turn)


async def _on_description(turn: Turn) -> None:
    _describe(turn, turn.text)
    await _next_question(turn)


async def _on_place(turn: Turn) -> None:
    turn.state.draft["place"] = turn.text[:MAX_PLACE]
    await _next_question(turn)


async def _on_contact(turn: Turn) -> None:
    draft = turn.state.draft
    phone = PHONE.search(turn.text)
    if phone:
        draft["contact"], draft["phone"] = "yes", phone.group(1)
        await _next_question(turn)
        return
    choice = next((name for name, pattern in CONTACT_CHOICES if pattern.match(turn.text)), None)
    if choice is None:
        turn.say(texts.ASK_CONTACT_AGAIN, "1", "2", "3")
        return
    draft["contact"] = choice
    if choice != "yes":
        draft["phone"] = None
    await _next_question(turn)


async def _on_phone(turn: Turn) -> None:
    draft = turn.state.draft
    phone = PHONE.search(turn.text)
    if phone:
        draft["phone"] = phone.group(1)
    elif NO_PHONE.search(turn.text):
        draft["contact"] = "no"
    else:
        turn.say(texts.ASK_PHONE_AGAIN)
        return
    await _next_question(turn)


async def _on_confirm(turn: Turn) -> None:
    text, draft = turn.text, turn.state.draft
    if AFFIRM.match(text) or (turn.intent == "affirm" and turn.nlu and turn.nlu.confidence >= 0.8):
        await _register(turn)
        return
    if draft.get("similar") and FOLLOW.match(text):
        await _follow(turn)
        return
    if match := PLACE_EDIT.match(text):
        draft["place"] = match.group(1).strip()[:MAX_PLACE]
    elif match := APPEND.match(text):
        _describe(turn, match.group(1).strip())
        turn.say(texts.APPENDED)
    elif EDIT.match(text) or turn.intent == "deny":
        turn.state.step = "edit"
        turn.say(texts.ASK_WHAT_TO_EDIT, "1", "2", "3")
        return
    elif text:
        # More words at the confirmation are more of the problem, never lost.
        _describe(turn, text)
        turn.say(texts.APPENDED)
    await _summary(turn)


async def _on_edit(turn: Turn) -> None:
    text, draft = turn.text, turn.state.draft
    if text.startswith("1") or "描述" in text or "问题" in text:
        turn.state.step = "new_description"
        turn.say(texts.ASK_NEW_DESCRIPTION)
    elif text.startswith("2") or "地" in text or "位置" in text:
        draft["place"] = ""
        await _next_question(turn)
    elif text.startswith("3") or "联系" in text or "电话" in text or "匿名" in text:
        draft["contact"], draft["phone"] = None, None
        await _next_question(turn)
    else:
        turn.say(texts.ASK_WHAT_TO_EDIT, "1", "2", "3")


async def _on_new_description(turn: Turn) -> None:
    turn.state.draft["description"] = ""
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


async def _next_question(turn: Turn) -> None:
    """Ask for the first thing still missing, or show the summary when nothing is."""
    draft = turn.state.draft
    if not draft["description"]:
        turn.state.step = "description"
        turn.say(texts.ASK_DESCRIPTION)
    elif not draft["place"]:
        turn.state.step = "place"
        turn.say(texts.ASK_PLACE)
    elif draft["contact"] is None:
        turn.state.step = "contact"
        turn.say(texts.ASK_CONTACT, "1", "2", "3")
    elif draft["contact"] == "yes" and not draft["phone"]:
        turn.state.step = "phone"
        turn.say(texts.ASK_PHONE)
    else:
        await _summary(turn)


async def _summary(turn: Turn) -> None:
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
    summary = texts.SUMMARY.format(
        description=description,
        place=draft["place"],
        topic=draft["topic"],
        department=department.name,
        contact=contact,
        attachments=attachments,
    )
    offer = await cases.similar_offer(
        turn.session, turn.party, Sketch("", draft["topic"], draft["place"], draft["description"])
    )
    if offer:
        draft["similar"] = offer.number
        # Of someone else's case only its public summary: masked, short, without house numbers.
        turn.say(
            summary
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
    turn.say(summary, "确认", "修改", "取消")


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
    turn.say(
        texts.REGISTERED.format(number=case.number, department=department.name, reply_due=f"{due.month}月{due.day}日")
    )


async def _follow(turn: Turn) -> None:
    """The citizen follows the existing case of the same problem instead of opening another."""
    number = turn.state.draft["similar"]
    case = await cases.follow(turn.session, turn.party, number)
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
        draft["place"] = place[:MAX_PLACE]
    if draft["contact"] is None and turn.nlu and (phone := turn.nlu.entity("phone")) and PHONE.search(phone):
        draft["contact"], draft["phone"] = "yes", PHONE.search(phone).group(1)  # type: ignore[union-attr]
    if turn.nlu and turn.state.step != "confirm" and turn.nlu.topic_confidence >= draft["topic_confidence"]:
        draft["topic"], draft["topic_confidence"] = turn.nlu.topic, turn.nlu.topic_confidence


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
    if not draft["place"]:
        draft["place"] = label[:MAX_PLACE]
    turn.say(texts.ATTACHED_LOCATION.format(label=label))
