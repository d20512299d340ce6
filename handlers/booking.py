"""Booking a reception slot with the deputies on duty: book, change, cancel, the waiting list.

    start ─► choose ─► topic ─► [phone] ─► confirm ─► booked
    ("周四下午")  │ ▲  a time said again: new proposals      │ full just now ─► choose (候补 offered)
                 │ └──────────── 重选 ◄─────────────────────┤
                 └─ 候补 ─► topic ─► [phone] ─► confirm ─► on the waiting list
    改约 ─► [change_pick] ─► choose ─► confirm ─► moved (topic and phone kept)
    取消 ─► [cancel_pick] ─► cancel_confirm ─► cancelled      (取消 answering a reminder: at once)
    接受 / 放弃 ─► the place held from the waiting list is booked / goes to the next in line

我的预约 ─► the citizen's bookings and waiting-list places, listed

"取消"/"算了" abandons at any step (at the call-back question "不用了"/"算了" only means no call-back).
Dates and times are read by `casework.dates` (明天, 周四下午, 下周六上午, 11月26日…) from the message
itself; choices are numbers, ordinals or a reference to an item ("第一个", "周四那个", `handlers.choices`):
the flow goes on while the NLU is down. Every answer is checked against its question (`answers`); what is
not an answer goes to `handlers.detours`, which answers it and asks again (`ask_again`) or sets the
booking aside to resume later. The rules are `casework.bookings`, carried out by `services.reception`;
every call here passes commit=False: the turn (`handlers.dispatch`) commits what a step did together with
its replies, and a refused step has kept nothing.
"""

from __future__ import annotations

import datetime as dt
import re

from casework.bookings import BookingFacts, Proposal, Refused, SlotView, WaitFacts, propose
from casework.dates import When, parse_when
from casework.deadlines import LOCAL
from casework.privacy import mask_phone
from handlers.choices import Option, pick
from handlers.turn import Turn
from services import reception
from services.conversations import DialogueState
from texts import citizen as texts

FLOW = "booking"
ABANDON = re.compile(r"^(取消|算了|不约了|不预约了|不用了|放弃|退出)(预约|改约|了|吧)?[。！!\s]*$")
AFFIRM = re.compile(
    r"^(确认|确定|是|是的|对|对的|好|好的|好啊|可以|可以的|行|行啊|没问题|ok|嗯|嗯嗯|没错|确认预约)[。！!~～\s]*$", re.I
)
CONFIRM_CANCEL = re.compile(r"^(确认取消|确认|确定|是的?|对|好的?|可以|行|嗯|取消|取消吧|取消预约)[。！!\s]*$")
KEEP_BOOKING = re.compile(r"^(保留|不取消|不用了?|不要|算了|不了|先不|别取消|还是去|去的)")
RESELECT = re.compile(r"^(重选|重新选|换时间|换个时间|换一个|其他时间|别的时间)")
WAITLIST = re.compile(r"^(候补|排队|我要候补|我排队|等位)")
PHONE = re.compile(r"(?<!\d)(1[3-9]\d{9})(?!\d)")
NO_PHONE = re.compile(r"^(不用|不需要|不要|不留|没有|不必|算了|否|无|no)", re.I)
# 我的预约, 查询预约: a list of the citizen's bookings (not a cancellation).
MY_BOOKINGS = re.compile(
    r"^(?:我的(?:预约|接待预约|候补)|(?:查询|查看|查查|查一下|看看|看一下)(?:我的)?(?:预约|候补)|我(?:约|预约)了(?:哪天|什么时候|几点|哪个))"
    r"(?:记录|情况|信息)?(?:呢|吗|有哪些|是哪天|是什么时候)?[？?。！!\s]*$"
)
# Words the dispatcher routes here outside any flow.
CANCEL = re.compile(r"^(取消|不去了|去不了了?)(预约|接待|候补|排队)?[。！!\s]*$")
CANCEL_BOOKING = re.compile(
    r"(取消|撤销|撤回|退掉|删掉|作废|不去|去不了|来不了).{0,6}(预约|接待|候补|排队)"
    r"|(预约|接待|候补|排队).{0,8}(取消|撤销|撤回|退掉|删掉|作废|不去|去不了|来不了|不要了)"
)
CHANGE = re.compile(r"^(?:我要|我想|帮我|麻烦)?(?:改约|改期|改个?时间|换个?时间|改预约|改到|换到)")
OFFER_REPLY = re.compile(r"^(接受|放弃)(预约|名额|候补)?[。！!\s]*$")
BOOKING_NUMBER = re.compile(r"(?<![A-Za-z0-9])([A-Za-z]{1,4}\d{11,})(?!\d)")
MAX_TOPIC = 300
MAX_CHOICES = 5
# Longer than this, a message the model takes for a report is one, whatever times it mentions.
REPORT_LENGTH = 15
# The model's intents that, sure, are no topic for a meeting: the citizen wants something else.
NO_TOPIC = frozenset(
    {
        "greet",
        "goodbye",
        "thank",
        "ask_progress",
        "cancel_booking",
        "rate_service",
        "ask_deputy",
        "ask_station_info",
        "request_human",
        "affirm",
        "deny",
    }
)


# Entry points


async def start(turn: Turn) -> None:
    """A citizen asks to meet a deputy ("我想预约见代表", "这周四下午有代表吗", the menu). A booking set aside
    unfinished is superseded by this one."""
    turn.state.reset_flow()
    turn.state.parked = [p for p in turn.state.parked if p["flow"] != FLOW]
    turn.state.flow, turn.state.draft = FLOW, {"mode": "book"}
    await _propose(turn, _asked(turn))


async def change(turn: Turn) -> None:
    """改约: move a booking to another slot (the topic and phone go with it)."""
    bookings = await _active(turn)
    if not bookings:
        turn.state.reset_flow()
        turn.say(texts.NO_ACTIVE_BOOKING, texts.BOOKING_BUTTON_BOOK)
        return
    named = _named(turn, bookings)
    if named is None and len(bookings) > 1:
        _begin(turn, "change_pick", {"bookings": [b.number for b in bookings], **_listed(bookings, [])})
        turn.say(texts.BOOKING_WHICH.format(lines=_lines(bookings, [])), *[str(i) for i in range(1, len(bookings) + 1)])
        return
    await _change_from(turn, named or bookings[0])


async def cancel(turn: Turn) -> None:
    """取消预约: a booking or a place on a waiting list. A bare 取消 right after a reminder cancels at once."""
    bookings = await _active(turn)
    waits = await reception.citizen_waits(turn.session, turn.deployment, turn.party)
    if not bookings and not waits:
        turn.state.reset_flow()
        turn.say(texts.NO_ACTIVE_BOOKING, texts.BOOKING_BUTTON_BOOK)
        return
    if CANCEL.match(turn.text) and len(bookings) == 1 and not waits:
        if await reception.answers_reminder(turn.session, bookings[0], turn.now):
            turn.state.reset_flow()
            await _cancel_booking(turn, bookings[0].number, replying=True)
            return
    named = _named(turn, bookings)
    if named is not None or (len(bookings) == 1 and not waits):
        chosen = named or bookings[0]
        _begin(turn, "cancel_confirm", {"number": chosen.number, "label": chosen.slot.label})
        turn.say(
            texts.BOOKING_CONFIRM_CANCEL.format(slot=chosen.slot.label, number=chosen.number),
            *texts.BOOKING_CANCEL_BUTTONS,
        )
        return
    _begin(
        turn,
        "cancel_pick",
        {"bookings": [b.number for b in bookings], "waits": [w.id for w in waits], **_listed(bookings, waits)},
    )
    turn.say(
        texts.BOOKING_WHICH.format(lines=_lines(bookings, waits)),
        *[str(i) for i in range(1, len(bookings) + len(waits) + 1)],
    )


async def answer_offer(turn: Turn) -> None:
    """接受 / 放弃: the place held for the citizen from the waiting list."""
    accept = turn.text.startswith("接受")
    try:
        booking, slot = await reception.answer_offer(
            turn.session, turn.deployment, turn.party, accept, turn.now, commit=False
        )
    except Refused as exc:
        turn.say(
            {"no_offer": texts.BOOKING_NO_OFFER, "offer_expired": texts.BOOKING_OFFER_EXPIRED}.get(
                exc.code, exc.message
            )
        )
        return
    if booking is None:
        turn.say(texts.BOOKING_OFFER_DECLINED)
        return
    turn.say(
        texts.BOOKING_OFFER_TAKEN.format(
            number=booking.number, slot=slot.label, station=slot.station, address=slot.address, deputies=_deputies(slot)
        )
    )


async def list_bookings(turn: Turn) -> None:
    """我的预约: the citizen's bookings still ahead and their places on waiting lists."""
    bookings = await _active(turn)
    waits = await reception.citizen_waits(turn.session, turn.deployment, turn.party)
    if not bookings and not waits:
        turn.say(texts.NO_ACTIVE_BOOKING, texts.BOOKING_BUTTON_BOOK)
        return
    turn.say(texts.MY_BOOKINGS.format(lines=_lines(bookings, waits)), texts.BOOKING_BUTTON_CHANGE, "取消预约")


async def resume(turn: Turn) -> None:
    """The next message of a booking in progress (handlers.detours has seen that it answers the question)."""
    step = turn.state.step or ""
    # At the call-back question 不用了/算了 say no call-back, not goodbye to the booking.
    if ABANDON.match(turn.text) and step != "cancel_confirm" and not (step == "phone" and NO_PHONE.match(turn.text)):
        await _abandon(turn)
        return
    await STEPS.get(step, _on_choose)(turn)


# What answers each question (handlers.detours asks before `resume`)


def answers(turn: Turn) -> bool:
    """Whether the message answers the question the booking is at (取消/算了 always do)."""
    step = turn.state.step or "choose"
    if not turn.text or (ABANDON.match(turn.text) and step != "cancel_confirm"):
        return True
    return ANSWERS.get(step, _is_choice)(turn)


def _is_choice(turn: Turn) -> bool:
    draft = turn.state.draft
    if WAITLIST.match(turn.text) and draft.get("full"):
        return True
    return _picked(turn) is not None or bool(RESELECT.match(turn.text)) or _names_a_time(turn)


def _names_a_time(turn: Turn) -> bool:
    """A time asked for ("下周二上午", "还是周四吧"), not a report that happens to say 晚上 or 18号."""
    if turn.sure_intent == "report_issue" and len(turn.text) > REPORT_LENGTH:
        return False
    return bool(_asked(turn))


def _is_topic(turn: Turn) -> bool:
    text = turn.text
    if not turn.has_words or AFFIRM.match(text) or NO_PHONE.match(text) or turn.sure_intent in NO_TOPIC:
        return False
    # A short question ("要带什么吗？") asks us something; a longer one may well be the matter itself.
    return not (turn.is_question and len(text) < 10)


def _is_phone(turn: Turn) -> bool:
    return bool(_phone(turn) or NO_PHONE.match(turn.text) or turn.sure_intent == "deny")


def _is_confirmation(turn: Turn) -> bool:
    text = turn.text
    return bool(
        AFFIRM.match(text) or RESELECT.match(text) or turn.sure_intent in ("affirm", "deny") or _names_a_time(turn)
    )


def _is_pick(turn: Turn) -> bool:
    return _picked_booking(turn) is not None


def _is_cancel_answer(turn: Turn) -> bool:
    text = turn.text
    return bool(CONFIRM_CANCEL.match(text) or KEEP_BOOKING.match(text) or turn.sure_intent in ("affirm", "deny"))


ANSWERS = {
    "choose": _is_choice,
    "topic": _is_topic,
    "phone": _is_phone,
    "confirm": _is_confirmation,
    "cancel_pick": _is_pick,
    "change_pick": _is_pick,
    "cancel_confirm": _is_cancel_answer,
}


async def ask_again(turn: Turn, lead: str = "", unclear: bool = False) -> None:
    """Ask the question the booking is at once more: after a detour (`lead` says we are back), or because the
    message did not answer it (`unclear`: say what kind of answer is wanted)."""
    draft, step = turn.state.draft, turn.state.step or "choose"
    answer = _quoted(turn.text)
    if step == "choose" and unclear:  # the list is just above
        count = len(draft.get("slots", []))
        turn.say(lead + texts.BOOKING_PICK_AGAIN.format(count=count), *draft.get("buttons", ()))
    elif step == "choose":
        turn.say(lead + draft.get("menu", ""), *draft.get("buttons", ()))
    elif step == "topic":
        hint = texts.BOOKING_TOPIC_UNCLEAR if unclear else texts.BOOKING_ASK_TOPIC.format(slot=draft["label"])
        turn.say(lead + hint)
    elif step == "phone":
        turn.say(
            lead + (texts.BOOKING_ASK_PHONE_AGAIN if unclear else texts.BOOKING_ASK_PHONE),
            texts.BOOKING_BUTTON_NO_PHONE,
        )
    elif step == "confirm":
        hint = texts.BOOKING_CONFIRM_UNCLEAR.format(answer=answer) if unclear else ""
        turn.say(lead + hint + texts.BOOKING_CONFIRM_AGAIN, *texts.BOOKING_CONFIRM_BUTTONS)
    elif step in ("cancel_pick", "change_pick"):
        count = len(draft.get("bookings", [])) + len(draft.get("waits", []))
        turn.say(lead + texts.BOOKING_PICK_AGAIN.format(count=count), *[str(i) for i in range(1, count + 1)])
    else:
        turn.say(
            lead + texts.BOOKING_CANCEL_AGAIN.format(slot=draft.get("label", ""), number=draft.get("number", "")),
            *texts.BOOKING_CANCEL_BUTTONS,
        )


async def take_back(turn: Turn, lead: str) -> None:
    """A booking set aside is taken up again ("继续"): the summary at its confirmation, else its question."""
    if turn.state.step == "confirm":
        await _summary(turn, lead.strip())
        return
    await ask_again(turn, lead)


def keep(state: DialogueState) -> str | None:
    """What to offer when the booking is set aside unfinished; None for a cancellation or a pick (kept as they
    were, see `dropped`)."""
    if state.step in ("choose", "topic", "phone", "confirm") and state.draft.get("mode") in ("book", "wait", "change"):
        return texts.BOOKING_PARKED
    return None


def dropped(state: DialogueState) -> str | None:
    """What to say of a cancellation or change left for something else: nothing was changed."""
    draft = state.draft
    if state.step == "cancel_confirm":
        return texts.BOOKING_KEPT.format(number=draft.get("number", ""))
    if state.step in ("cancel_pick", "change_pick"):
        return texts.BOOKING_UNCHANGED
    return None


# Steps


async def _on_choose(turn: Turn) -> None:
    draft = turn.state.draft
    if WAITLIST.match(turn.text) and draft.get("full"):
        draft.update(mode="wait", slot=draft["full"], label=draft.get("full_label", ""))
        await _after_choice(turn)
        return
    index = _picked(turn)
    offered = draft.get("slots", [])
    if index is not None:
        draft["slot"], draft["label"] = offered[index], draft["labels"][index]
        if draft.get("mode") == "wait":
            draft["mode"] = "book"
        await _after_choice(turn)
        return
    if RESELECT.match(turn.text):
        await _propose(turn, When())
        return
    asked = _asked(turn)
    if asked:
        await _propose(turn, asked)
        return
    turn.say(texts.BOOKING_PICK_AGAIN.format(count=len(offered)), *[str(i) for i in range(1, len(offered) + 1)])


async def _after_choice(turn: Turn) -> None:
    draft = turn.state.draft
    if draft.get("mode") == "change" or draft.get("topic"):
        await _summary(turn)
        return
    turn.state.step = "topic"
    turn.say(texts.BOOKING_ASK_TOPIC.format(slot=draft["label"]))


async def _on_topic(turn: Turn) -> None:
    draft = turn.state.draft
    draft["topic"] = turn.text[:MAX_TOPIC]
    if phone := _phone(turn):
        draft["phone"] = phone
        await _summary(turn)
        return
    turn.state.step = "phone"
    turn.say(texts.BOOKING_ASK_PHONE, texts.BOOKING_BUTTON_NO_PHONE)


async def _on_phone(turn: Turn) -> None:
    draft = turn.state.draft
    if phone := _phone(turn):
        draft["phone"] = phone
    elif NO_PHONE.match(turn.text) or turn.intent == "deny":
        draft["phone"] = None
    else:
        turn.say(texts.BOOKING_ASK_PHONE_AGAIN, texts.BOOKING_BUTTON_NO_PHONE)
        return
    await _summary(turn)


async def _on_confirm(turn: Turn) -> None:
    text = turn.text
    if AFFIRM.match(text) or (turn.intent == "affirm" and turn.nlu is not None and turn.nlu.confidence >= 0.8):
        await _act(turn)
        return
    if RESELECT.match(text):
        await _propose(turn, When())
        return
    asked = _asked(turn)
    if asked:
        await _propose(turn, asked)
        return
    await _summary(turn)


async def _on_cancel_pick(turn: Turn) -> None:
    draft = turn.state.draft
    numbers, waits = draft["bookings"], draft["waits"]
    choice = _picked_booking(turn)
    if choice is None:
        turn.say(texts.BOOKING_PICK_AGAIN.format(count=len(numbers) + len(waits)))
        return
    if choice <= len(numbers):
        booking = await reception.citizen_booking(turn.session, turn.deployment, turn.party, numbers[choice - 1])
        if booking is None:
            await _abandon(turn)
            return
        draft.clear()
        draft.update(number=booking.number, label=booking.slot.label)
        turn.state.step = "cancel_confirm"
        turn.say(
            texts.BOOKING_CONFIRM_CANCEL.format(slot=booking.slot.label, number=booking.number),
            *texts.BOOKING_CANCEL_BUTTONS,
        )
        return
    await _withdraw_wait(turn, waits[choice - len(numbers) - 1])


async def _on_cancel_confirm(turn: Turn) -> None:
    number = turn.state.draft["number"]
    turn.state.reset_flow()
    if not (CONFIRM_CANCEL.match(turn.text) or (turn.sure_intent == "affirm" and not KEEP_BOOKING.match(turn.text))):
        turn.say(texts.BOOKING_KEPT.format(number=number))
        return
    await _cancel_booking(turn, number, replying=False)


async def _on_change_pick(turn: Turn) -> None:
    numbers = turn.state.draft["bookings"]
    choice = _picked_booking(turn)
    if choice is None:
        turn.say(texts.BOOKING_PICK_AGAIN.format(count=len(numbers)))
        return
    booking = await reception.citizen_booking(turn.session, turn.deployment, turn.party, numbers[choice - 1])
    if booking is None:
        await _abandon(turn)
        return
    await _change_from(turn, booking)


STEPS = {
    "choose": _on_choose,
    "topic": _on_topic,
    "phone": _on_phone,
    "confirm": _on_confirm,
    "cancel_pick": _on_cancel_pick,
    "cancel_confirm": _on_cancel_confirm,
    "change_pick": _on_change_pick,
}


# Proposals, summary, acting


async def _propose(turn: Turn, asked: When, intro: str | None = None, full: tuple[int, str] | None = None) -> None:
    """Offer the nearest open slots for what was asked (numbered), with the waiting list of a full one
    (`full`: the id and label of a slot found full just now)."""
    draft = turn.state.draft
    slots = await reception.open_slots(turn.session, turn.deployment, turn.calendar, turn.now, commit=False)
    weeks = await reception.weeks_taken(turn.session, turn.party)
    if draft.get("mode") == "change":
        weeks.discard(draft.get("moving_week", ""))
    proposal = propose(slots, asked, turn.now, weeks, limit=MAX_CHOICES)
    if not proposal.slots and proposal.full is None:
        turn.state.reset_flow()
        station = turn.deployment.main_station
        turn.say(texts.BOOKING_NONE.format(weeks=turn.deployment.reception.weeks_ahead, phone=station.phone))
        return
    if full is None and proposal.full is not None:
        full = (proposal.full.id, proposal.full.label)
    if draft.get("mode") == "change":
        full = None  # a booking is moved to a free place, never to a waiting list
    draft.update(
        slots=[s.id for s in proposal.slots],
        labels=[s.label for s in proposal.slots],
        starts=[s.starts_at.isoformat() for s in proposal.slots],
        full=full[0] if full else None,
        full_label=full[1] if full else "",
    )
    turn.state.step = "choose"
    lines = "\n".join(
        texts.BOOKING_SLOT_LINE.format(
            n=i,
            slot=s.label,
            deputies=_deputies(s),
            free=s.free,
            kind=texts.BOOKING_COUNCIL if s.kind == "council" else "",
        )
        for i, s in enumerate(proposal.slots, 1)
    )
    head = intro or _intro(asked, proposal, full[1] if full else None, turn.now.astimezone(LOCAL).date())
    if not intro and full is None and not proposal.matched and not proposal.past and proposal.week_taken:
        head = await _week_taken(turn, asked) or head
    buttons = [str(i) for i in range(1, len(proposal.slots) + 1)] + ([texts.BOOKING_BUTTON_WAIT] if full else [])
    # Kept to be shown again after a detour (`ask_again`).
    draft["menu"] = f"{head}\n{lines}\n{texts.BOOKING_CHOOSE}" if lines else head
    draft["buttons"] = buttons
    turn.say(draft["menu"], *buttons)


def _intro(asked: When, proposal: Proposal, full: str | None, today: dt.date) -> str:
    described = _describe(asked)
    if full is not None:
        return texts.BOOKING_FULL.format(slot=full)
    if proposal.matched:
        return texts.BOOKING_MATCHED.format(asked=described) if asked else texts.BOOKING_NEAREST
    if asked.year_unsaid and asked.is_past(today):
        # "11月20日" said after it: not silently next year's; the citizen is asked which day they mean.
        return texts.BOOKING_PAST_NO_YEAR.format(asked=described)
    if proposal.past:
        return texts.BOOKING_PAST.format(asked=described)
    if proposal.week_taken:
        return texts.BOOKING_WEEK_TAKEN_ANY
    return texts.BOOKING_NO_MATCH.format(asked=described) if asked else texts.BOOKING_NEAREST


async def _summary(turn: Turn, intro: str = "") -> None:
    draft = turn.state.draft
    turn.state.step = "confirm"
    slot = await reception.find_slot(turn.session, turn.deployment, draft["slot"])
    if slot is None:
        await _propose(turn, When(), texts.BOOKING_SLOT_GONE)
        return
    phone = mask_phone(draft["phone"]) if draft.get("phone") else texts.BOOKING_NO_CALLBACK
    if draft.get("mode") == "change":
        summary = texts.BOOKING_CHANGE_SUMMARY.format(
            old=draft["moving_label"], number=draft["moving"], slot=slot.label, deputies=_deputies(slot)
        )
    elif draft.get("mode") == "wait":
        summary = texts.BOOKING_WAIT_SUMMARY.format(slot=slot.label, topic=draft["topic"], phone=phone)
    else:
        summary = texts.BOOKING_SUMMARY.format(
            slot=slot.label,
            station=slot.station,
            address=slot.address,
            deputies=_deputies(slot),
            topic=draft["topic"],
            phone=phone,
        )
    turn.say(f"{intro}\n{summary}" if intro else summary, *texts.BOOKING_CONFIRM_BUTTONS)


async def _act(turn: Turn) -> None:
    draft = turn.state.draft
    mode = draft.get("mode", "book")
    try:
        if mode == "wait":
            place, slot = await reception.join_waitlist(
                turn.session,
                turn.deployment,
                turn.party,
                draft["slot"],
                draft["topic"],
                draft.get("phone"),
                turn.now,
                commit=False,
            )
            turn.state.reset_flow()
            turn.say(texts.BOOKING_WAITING.format(slot=slot.label, place=place))
            return
        moving = draft.get("moving") if mode == "change" else None
        if moving:
            booking, slot = await reception.change(
                turn.session, turn.deployment, turn.party, moving, draft["slot"], turn.now, commit=False
            )
        else:
            booking, slot = await reception.book(
                turn.session,
                turn.deployment,
                turn.party,
                draft["slot"],
                draft["topic"],
                draft.get("phone"),
                turn.now,
                commit=False,
            )
    except Refused as exc:
        await _refused(turn, exc)
        return
    turn.state.reset_flow()
    rules = turn.deployment.reception
    if moving:
        turn.say(
            texts.BOOKING_MOVED.format(
                old=moving,
                number=booking.number,
                slot=slot.label,
                station=slot.station,
                address=slot.address,
                deputies=_deputies(slot),
            )
        )
        return
    turn.say(
        texts.BOOKING_DONE.format(
            number=booking.number,
            slot=slot.label,
            station=slot.station,
            address=slot.address,
            deputies=_deputies(slot),
            remind_hours=rules.reminder_hours_before,
            hours=rules.change_hours,
        )
    )


async def _refused(turn: Turn, exc: Refused) -> None:
    """Tell the citizen why, and offer what they can do instead."""
    draft = turn.state.draft
    if exc.code == "full":
        label = draft.get("label", "")
        draft["mode"] = "change" if draft.get("moving") else "book"
        await _propose(
            turn,
            When(),
            texts.BOOKING_TAKEN_NOW.format(slot=label),
            full=None if draft.get("moving") else (draft["slot"], label),
        )
        return
    if exc.code == "slot_gone":
        await _propose(turn, When(), texts.BOOKING_SLOT_GONE)
        return
    if exc.code == "has_room":
        draft["mode"] = "book"
        await _summary(turn, texts.BOOKING_ROOM_NOW)
        return
    turn.state.reset_flow()
    if exc.code == "week_taken":
        # The booking of the week of the slot chosen, not the citizen's first booking (which may be another week's).
        slot = await reception.find_slot(turn.session, turn.deployment, draft["slot"])
        taken = [b for b in await _active(turn) if slot is None or b.slot.week == slot.week]
        if taken:
            turn.say(
                texts.BOOKING_ONE_A_WEEK.format(
                    week=_week_words(taken[0].slot.starts_at), number=taken[0].number, slot=taken[0].slot.label
                ),
                texts.BOOKING_BUTTON_CHANGE,
            )
            return
    if exc.code == "too_late":
        turn.say(
            texts.BOOKING_TOO_LATE.format(
                hours=turn.deployment.reception.change_hours, phone=turn.deployment.main_station.phone
            )
        )
        return
    turn.say(exc.message)


async def _cancel_booking(turn: Turn, number: str, *, replying: bool) -> None:
    try:
        booking, slot = await reception.cancel(
            turn.session, turn.deployment, turn.party, number, turn.now, replying=replying, commit=False
        )
    except Refused as exc:
        await _refused(turn, exc)
        return
    turn.say(texts.BOOKING_CANCELLED.format(number=booking.number, slot=slot.label))


async def _withdraw_wait(turn: Turn, wait_id: int) -> None:
    turn.state.reset_flow()
    slot = await reception.withdraw_wait(turn.session, turn.deployment, turn.party, wait_id, turn.now, commit=False)
    if slot is None:
        turn.say(texts.NO_ACTIVE_BOOKING)
        return
    turn.say(texts.BOOKING_WAIT_WITHDRAWN.format(slot=slot.label))


async def _change_from(turn: Turn, booking: BookingFacts) -> None:
    slot = booking.slot
    try:
        reception.check_change(slot.starts_at, turn.now, turn.deployment)
    except Refused as exc:
        await _refused(turn, exc)
        return
    _begin(
        turn,
        "choose",
        {
            "mode": "change",
            "moving": booking.number,
            "moving_label": slot.label,
            "moving_week": slot.week,
            "topic": booking.topic,
            "phone": booking.phone,
        },
    )
    asked = _asked(turn)
    intro = None if asked else texts.BOOKING_CHANGE_WHEN.format(slot=slot.label, number=booking.number)
    await _propose(turn, asked, intro)


async def _abandon(turn: Turn) -> None:
    draft, step = turn.state.draft, turn.state.step
    turn.state.reset_flow()
    if step in ("cancel_pick", "change_pick"):
        turn.say(texts.BOOKING_UNCHANGED)
        return
    if draft.get("mode") == "change":
        turn.say(texts.BOOKING_CHANGE_ABANDONED.format(number=draft["moving"], slot=draft["moving_label"]))
        return
    turn.say(texts.BOOKING_ABANDONED)


# Helpers


def _begin(turn: Turn, step: str, draft: dict) -> None:
    turn.state.reset_flow()
    turn.state.flow, turn.state.step, turn.state.draft = FLOW, step, draft


def _asked(turn: Turn) -> When:
    """The date and time in the message, read from the whole text (Rasa's spans often lose a word such as
    下 in 下周四); Rasa's date/time entities only when the text alone says nothing."""
    today = turn.now.astimezone(LOCAL).date()
    asked = parse_when(BOOKING_NUMBER.sub(" ", turn.text), today)
    if not asked and turn.nlu is not None:
        spans = " ".join(e["value"] for e in turn.nlu.entities if e["entity"] in ("date", "time"))
        asked = parse_when(spans, today) if spans else asked
    return asked


def names_a_day(turn: Turn) -> bool:
    """The message names a day (a question about the deputies of that day is one about its slots)."""
    return _asked(turn).first is not None


async def _week_taken(turn: Turn, asked: When) -> str | None:
    """Every slot asked for lies in a week the citizen already has a booking in: name that week by its dates,
    and the booking."""
    assert asked.first is not None
    first = dt.datetime.combine(asked.first, dt.time(12), LOCAL)
    week = first.isocalendar()[:2]
    booked = [b for b in await _active(turn) if b.slot.starts_at.astimezone(LOCAL).isocalendar()[:2] == week]
    if not booked:
        return None
    return texts.BOOKING_WEEK_TAKEN.format(week=_week_words(first), number=booked[0].number, slot=booked[0].slot.label)


def _week_words(moment: dt.datetime) -> str:
    """The Monday-to-Sunday week of `moment`: "11月23日至11月29日"."""
    day = moment.astimezone(LOCAL).date()
    monday = day - dt.timedelta(days=day.weekday())
    sunday = monday + dt.timedelta(days=6)
    return texts.BOOKING_ASKED_DAYS.format(
        month=monday.month, day=monday.day, last_month=sunday.month, last_day=sunday.day
    )


def _describe(asked: When) -> str:
    """ "11月26日（周四）下午", "11月30日至12月6日", "下午2:30"… for echoing what was understood."""
    days = ""
    if asked.first is not None and asked.last is not None:
        first, last = asked.first, asked.last
        days = (
            texts.BOOKING_ASKED_DAY.format(
                month=first.month, day=first.day, weekday=texts.BOOKING_WEEKDAYS[first.weekday()]
            )
            if asked.one_day
            else texts.BOOKING_ASKED_DAYS.format(
                month=first.month, day=first.day, last_month=last.month, last_day=last.day
            )
        )
    when = asked.part or ""
    if asked.at is not None:
        when = f"{asked.part or ''}{asked.at:%H:%M}"
    return days + when


def _listed(bookings: list[BookingFacts], waits: list[WaitFacts]) -> dict:
    """What a list of bookings keeps in the draft for `_picked_booking`: labels and start times."""
    slots = [b.slot for b in bookings] + [w.slot for w in waits]
    return {"labels": [s.label for s in slots], "starts": [s.starts_at.isoformat() for s in slots]}


def _options(draft: dict) -> list[Option]:
    return [
        Option(label, dt.datetime.fromisoformat(start))
        for label, start in zip(draft.get("labels", []), draft.get("starts", []), strict=False)
    ]


def _picked(turn: Turn) -> int | None:
    """The slot picked from those offered ("2", "第一个", "周四那个"), as an index; None if none."""
    offered = _options(turn.state.draft)
    return pick(turn.text, offered[: len(turn.state.draft.get("slots", []))], turn.now.astimezone(LOCAL).date())


def _picked_booking(turn: Turn) -> int | None:
    """The booking picked from a list (1-based, bookings then waiting-list places), by number too."""
    draft = turn.state.draft
    numbers = {m.group(1).upper() for m in BOOKING_NUMBER.finditer(turn.text)}
    for i, number in enumerate(draft.get("bookings", []), 1):
        if number in numbers:
            return i
    index = pick(turn.text, _options(draft), turn.now.astimezone(LOCAL).date())
    return index + 1 if index is not None else None


def _phone(turn: Turn) -> str | None:
    if match := PHONE.search(turn.text):
        return match.group(1)
    named = turn.nlu.entity("phone") if turn.nlu else None
    match = PHONE.search(named or "")
    return match.group(1) if match else None


def _quoted(text: str, limit: int = 12) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def _deputies(slot: SlotView) -> str:
    return "、".join(slot.deputies) or texts.BOOKING_ON_DUTY


def _named(turn: Turn, bookings: list[BookingFacts]) -> BookingFacts | None:
    numbers = {m.group(1).upper() for m in BOOKING_NUMBER.finditer(turn.text)}
    return next((b for b in bookings if b.number in numbers), None)


async def _active(turn: Turn) -> list[BookingFacts]:
    return await reception.citizen_bookings(turn.session, turn.deployment, turn.party, turn.now)


def _lines(bookings: list[BookingFacts], waits: list[WaitFacts]) -> str:
    lines = [texts.BOOKING_LINE.format(n=i, slot=b.slot.label, number=b.number) for i, b in enumerate(bookings, 1)]
    lines += [texts.BOOKING_WAIT_LINE.format(n=i, slot=w.slot.label) for i, w in enumerate(waits, len(bookings) + 1)]
    return "\n".join(lines)
