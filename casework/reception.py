"""Reception bookings carried out: whoever asks (chat, API, CLI, a job), one function per operation.

Each function checks with the rules of `casework.bookings`, changes the reception tables through
`storage.reception.ReceptionStore`, queues its pushes and commits; or raises `Refused` having kept
nothing. Seats are taken and given back by conditional UPDATEs on the slot row, so a slot is never
booked beyond its capacity, whatever the number of citizens confirming at once.

    ensure_sessions ──► the rota's sessions and slots of the coming weeks, in the store
    book / change / cancel / join_waitlist / answer_offer ──► a citizen's bookings
    close_session / set_deputies / record_outcome ──► staff and deputies
    expire_offers / queue_reminders ──► the worker's jobs
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from casework import bookings as rules
from casework.bookings import BookingFacts, OutcomeRow, Refused, SessionFacts, SlotView
from casework.cases import Report, Role
from casework.deadlines import LOCAL
from casework.notices import Notice, similar_found
from casework.points import Deed
from casework.pushes import case_view, queue, queue_direct
from casework.records import Actor, link_similar, register_case
from casework.rota import plan_sessions
from casework.workdays import WorkingCalendar
from settings import Deployment
from storage.models import Booking, BookingWait, Case, Department, Deputy, ReceptionSession, ReceptionSlot, Station
from storage.reception import ACTIVE, BookingTaken, ReceptionStore, utc
from storage.repositories import CaseStore, DirectoryStore, Party, PushStore, RecipientStore

STAFF_ROLES = frozenset({Role.STAFF, Role.ADMIN})


@dataclass(frozen=True)
class Directory:
    """Names and ids the pushes and views need, read once per operation."""

    stations: dict[int, tuple[str, str, str]]  # id -> (name, address, phone)
    station_codes: dict[int, str]
    deputy_ids: dict[str, int]
    deputy_names: dict[str, str]

    def names(self, codes: Sequence[str]) -> tuple[str, ...]:
        return tuple(self.deputy_names.get(code, code) for code in codes)


async def directory(session: AsyncSession, deployment: Deployment) -> Directory:
    store = DirectoryStore(session)
    ids = await store.ids(Station)
    stations = {ids[s.code]: (s.name, s.address, s.phone) for s in deployment.stations if s.code in ids}
    return Directory(stations=stations, station_codes={v: k for k, v in ids.items()},
                     deputy_ids=await store.ids(Deputy), deputy_names={d.code: d.name for d in deployment.deputies})


def slot_view(slot: ReceptionSlot, session: ReceptionSession, names: Directory) -> SlotView:
    station, address, _ = names.stations.get(session.station_id, ("", "", ""))
    return SlotView(id=slot.id, session_key=session.key, station=station, kind=session.kind,
                    starts_at=slot.starts_at, ends_at=slot.ends_at, capacity=slot.capacity, booked=slot.booked,
                    deputies=names.names(session.deputies), closed=session.closed, address=address)


def session_facts(session: ReceptionSession, names: Directory) -> SessionFacts:
    return SessionFacts(key=session.key, station=names.stations.get(session.station_id, ("",))[0], kind=session.kind,
                        starts_at=session.starts_at, ends_at=session.ends_at, deputies=names.names(session.deputies))


def booking_facts(booking: Booking, slot: SlotView, session: ReceptionSession, names: Directory) -> BookingFacts:
    _, address, phone = names.stations.get(session.station_id, ("", "", ""))
    return BookingFacts(id=booking.id, number=booking.number, slot=slot, topic=booking.topic, phone=booking.phone,
                        address=address, station_phone=phone)


def local_today(now: dt.datetime) -> dt.date:
    return now.astimezone(LOCAL).date()


# The rota in the store

async def ensure_sessions(session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar,
                          now: dt.datetime) -> int:
    """Make the sessions and slots of today and the coming `weeks_ahead` weeks from the rota; bring the
    sessions staff never changed in line with it (one the rota now closes is closed, its citizens told).
    Safe to run often and from several processes at once. Commits; returns how many sessions changed."""
    now = utc(now)
    store = ReceptionStore(session)
    first = local_today(now)
    last = first + dt.timedelta(weeks=deployment.reception.weeks_ahead)
    existing = {s.key: s for s in await store.sessions_between(first, last)}
    station_ids = await DirectoryStore(session).ids(Station)
    changed = 0
    for plan in plan_sessions(deployment, calendar, first, last):
        row = existing.get(plan.key)
        if row is None:
            if plan.station in station_ids:
                changed += await store.add_session(
                    plan.slots(), key=plan.key, station_id=station_ids[plan.station], kind=plan.kind, day=plan.day,
                    starts_at=plan.starts_at, ends_at=plan.ends_at, slot_minutes=plan.slot_minutes,
                    capacity=plan.capacity, deputies=list(plan.deputies), closed=plan.closed,
                    close_reason=plan.reason, created_at=now, updated_at=now)
            continue
        if row.changed_by is not None or row.ends_at <= now:
            continue
        if plan.closed and not row.closed:
            changed += await _close(session, deployment, row, plan.reason, None, now)
        elif not plan.closed and row.closed:
            await store.update_session(row.id, closed=False, close_reason="", updated_at=now)
            changed += 1
        if tuple(row.deputies) != plan.deputies:
            await store.update_session(row.id, deputies=list(plan.deputies), updated_at=now)
            changed += 1
    await session.commit()
    return changed


async def open_slots(session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar,
                     now: dt.datetime) -> list[SlotView]:
    """Every slot of the coming weeks (closed and full ones too, flagged), soonest first."""
    await ensure_sessions(session, deployment, calendar, now)
    names = await directory(session, deployment)
    first = local_today(now)
    rows = await ReceptionStore(session).sessions_between(first, first + dt.timedelta(weeks=deployment.reception
                                                                                       .weeks_ahead))
    return [slot_view(slot, row, names) for row in rows for slot in row.slots if slot.starts_at > now]


# A citizen's bookings

async def book(session: AsyncSession, deployment: Deployment, party: Party, slot_id: int, topic: str,
               phone: str | None, now: dt.datetime, *, moving: str | None = None) -> tuple[Booking, SlotView]:
    """Book a place of a slot for the citizen (moving their booking `moving` there, when given).

    Raises Refused: slot_gone (closed or past), full (no place left: offer the waiting list),
    week_taken (one booking a week), too_late (the booking moved is within the cut-off), not_found.
    """
    now = utc(now)
    store = ReceptionStore(session)
    names = await directory(session, deployment)
    slot = await store.slot(slot_id)
    if slot is None or slot.session.closed or slot.starts_at <= now:
        raise Refused("slot_gone", "这个时段已经取消或已过，请另选时间。")
    week = rules.week_of(slot.starts_at)
    old = old_slot = None
    if moving is not None:
        old = await store.booking_by_number(moving)
        if old is None or old.citizen_id != party.citizen_id or old.status != ACTIVE:
            raise Refused("not_found", f"没有找到您的有效预约 {moving}。")
        old_slot = await store.slot(old.slot_id)
        assert old_slot is not None
        rules.check_change(old_slot.starts_at, now, deployment.reception)
        if old.slot_id == slot_id:
            raise Refused("same_slot", "新时间和原来的一样，不用改约。")
    taken = await store.weeks_booked(party.citizen_id) - ({old.week} if old else set())
    if week in taken:
        raise Refused("week_taken", "每位群众每周只能预约一次，您这一周已有预约。")
    if not await store.take_seat(slot.id):
        raise Refused("full", "这个时段刚刚约满了。")
    if old is not None and not await store.change_booking(old.id, ACTIVE, status="moved", cancelled_at=now,
                                                          updated_at=now, cancel_reason="改约"):
        await session.rollback()
        raise Refused("changed", "您的预约刚刚已有变动，请查看后再试。")
    day = local_today(now)
    number = rules.format_booking_number(deployment.reception.booking_prefix, day, await store.next_number(day))
    try:
        booking = await store.add_booking(number=number, slot_id=slot.id, session_id=slot.session_id,
                                          citizen_id=party.citizen_id, conversation_id=party.conversation_id,
                                          week=week, status=ACTIVE, topic=topic, phone=phone, created_at=now,
                                          updated_at=now)
    except BookingTaken:
        await session.rollback()
        raise Refused("week_taken", "每位群众每周只能预约一次，您这一周已有预约。") from None
    for wait in await store.waiting_of_citizen(party.citizen_id, ("waiting",)):
        if wait.slot_id == slot.id:
            await store.change_wait(wait.id, "waiting", status="withdrawn")
    refreshed = await store.slot(slot.id)
    assert refreshed is not None
    view = slot_view(refreshed, refreshed.session, names)
    facts = booking_facts(booking, view, refreshed.session, names)
    moved_from = None
    if old is not None and old_slot is not None:
        await store.change_booking(old.id, "moved", moved_to_id=booking.id)
        moved_from = slot_view(old_slot, old_slot.session, names)
        await _push(session, [rules.cancelled(booking_facts(old, moved_from, old_slot.session, names), "改约", view)],
                    now, deputies=_ids(names, old_slot.session.deputies))
        await _free_seat(session, deployment, names, old_slot, now)
    await _push(session, [rules.booked(facts, moved_from)], now, deputies=_ids(names, refreshed.session.deputies))
    await session.commit()
    return booking, view


async def cancel(session: AsyncSession, deployment: Deployment, party: Party, number: str, now: dt.datetime, *,
                 replying: bool = False) -> tuple[Booking, SlotView]:
    """The citizen cancels their booking: refused within the cut-off, unless `replying` to a reminder
    sent less than half an hour ago. The place goes to the waiting list, the deputies are told."""
    now = utc(now)
    store = ReceptionStore(session)
    booking = await store.booking_by_number(number)
    if booking is None or booking.citizen_id != party.citizen_id:
        raise Refused("not_found", f"没有找到您的预约 {number}。")
    if booking.status != ACTIVE:
        raise Refused("not_active", f"预约 {booking.number} 已经取消或改约。")
    slot = await store.slot(booking.slot_id)
    assert slot is not None
    if replying and rules.answers_reminder(await store.reminded_at(booking.id), slot.starts_at, now):
        reason = "群众回复提醒取消"
    else:
        rules.check_change(slot.starts_at, now, deployment.reception)
        reason = "群众取消"
    if not await store.change_booking(booking.id, ACTIVE, status="cancelled", cancelled_at=now, updated_at=now,
                                      cancel_reason=reason):
        raise Refused("not_active", f"预约 {booking.number} 已经取消或改约。")
    names = await directory(session, deployment)
    view = slot_view(slot, slot.session, names)
    await _push(session, [rules.cancelled(booking_facts(booking, view, slot.session, names), reason)], now,
                deputies=_ids(names, slot.session.deputies))
    await _free_seat(session, deployment, names, slot, now)
    await session.commit()
    return booking, view


async def join_waitlist(session: AsyncSession, deployment: Deployment, party: Party, slot_id: int, topic: str,
                        phone: str | None, now: dt.datetime) -> tuple[int, SlotView]:
    """Put the citizen on a full slot's waiting list; return their place in line (1 = next)."""
    now = utc(now)
    store = ReceptionStore(session)
    slot = await store.slot(slot_id)
    if slot is None or slot.session.closed or slot.starts_at <= now:
        raise Refused("slot_gone", "这个时段已经取消或已过，请另选时间。")
    if rules.week_of(slot.starts_at) in await store.weeks_booked(party.citizen_id):
        raise Refused("week_taken", "每位群众每周只能预约一次，您这一周已有预约。")
    view = slot_view(slot, slot.session, await directory(session, deployment))
    for wait in await store.waiting_of_citizen(party.citizen_id):
        if wait.slot_id == slot_id:
            return await store.place_in_line(wait), view
    if slot.booked < slot.capacity:
        raise Refused("has_room", "这个时段还有空位，可以直接预约。")
    _, place = await store.add_wait(slot_id=slot_id, citizen_id=party.citizen_id,
                                    conversation_id=party.conversation_id, topic=topic, phone=phone,
                                    status="waiting", created_at=now)
    await session.commit()
    return place, view


async def answer_offer(session: AsyncSession, deployment: Deployment, party: Party, accept: bool,
                       now: dt.datetime) -> tuple[Booking | None, SlotView]:
    """The citizen takes (or gives up) the place held for them; the booking, or None when given up."""
    now = utc(now)
    store = ReceptionStore(session)
    offers = await store.waiting_of_citizen(party.citizen_id, ("offered",))
    if not offers:
        for expired in await store.waiting_of_citizen(party.citizen_id, ("expired",)):
            lapsed = await store.slot(expired.slot_id)
            if lapsed is not None and lapsed.starts_at > now:
                raise Refused("offer_expired", "很抱歉，为您保留的名额已过确认时间，已让给下一位。")
        raise Refused("no_offer", "您目前没有待确认的候补名额。")
    wait = offers[0]
    slot = await store.slot(wait.slot_id)
    assert slot is not None and wait.offer_expires_at is not None
    names = await directory(session, deployment)
    view = slot_view(slot, slot.session, names)
    if wait.offer_expires_at <= now:
        await _expire(session, deployment, names, wait, now)
        await session.commit()
        raise Refused("offer_expired", "很抱歉，为您保留的名额已过确认时间，已让给下一位。")
    week = rules.week_of(slot.starts_at)
    if not accept or week in await store.weeks_booked(party.citizen_id):
        if await store.change_wait(wait.id, "offered", status="declined"):
            await _free_seat(session, deployment, names, slot, now)
        await session.commit()
        if accept:
            raise Refused("week_taken", "每位群众每周只能预约一次，您这一周已有预约，名额已让给下一位。")
        return None, view
    if not await store.change_wait(wait.id, "offered", status="booked"):
        raise Refused("offer_expired", "很抱歉，为您保留的名额已过确认时间，已让给下一位。")
    day = local_today(now)
    number = rules.format_booking_number(deployment.reception.booking_prefix, day, await store.next_number(day))
    try:
        booking = await store.add_booking(number=number, slot_id=slot.id, session_id=slot.session_id,
                                          citizen_id=party.citizen_id, conversation_id=wait.conversation_id,
                                          week=week, status=ACTIVE, topic=wait.topic, phone=wait.phone,
                                          created_at=now, updated_at=now)
    except BookingTaken:
        await session.rollback()
        raise Refused("week_taken", "每位群众每周只能预约一次，您这一周已有预约。") from None
    await store.change_wait(wait.id, "booked", booking_id=booking.id)
    await _push(session, [rules.booked(booking_facts(booking, view, slot.session, names))], now,
                deputies=_ids(names, slot.session.deputies))
    await session.commit()
    return booking, view


async def _free_seat(session: AsyncSession, deployment: Deployment, names: Directory, slot: ReceptionSlot,
                     now: dt.datetime) -> None:
    """A place of `slot` is free: hold it for the first on the waiting list who can take it, or give it back."""
    store = ReceptionStore(session)
    deadline = rules.offer_deadline(now, slot.starts_at, deployment.reception)
    if deadline is not None and not slot.session.closed:
        week = rules.week_of(slot.starts_at)
        for wait in await store.waiting_for(slot.id):
            if week in await store.weeks_booked(wait.citizen_id):
                await store.change_wait(wait.id, "waiting", status="withdrawn")
                continue
            if await store.change_wait(wait.id, "waiting", status="offered", offered_at=now,
                                       offer_expires_at=deadline):
                view = slot_view(slot, slot.session, names)
                await _push(session, [rules.offer(view, wait.id, deadline)], now,
                            conversation_id=wait.conversation_id, citizen_id=wait.citizen_id)
                return
    await store.release_seat(slot.id)


async def _expire(session: AsyncSession, deployment: Deployment, names: Directory, wait: BookingWait,
                  now: dt.datetime) -> bool:
    store = ReceptionStore(session)
    if not await store.change_wait(wait.id, "offered", status="expired"):
        return False
    slot = await store.slot(wait.slot_id)
    assert slot is not None
    await _push(session, [rules.offer_expired(slot_view(slot, slot.session, names), wait.id)], now,
                conversation_id=wait.conversation_id, citizen_id=wait.citizen_id)
    await _free_seat(session, deployment, names, slot, now)
    return True


async def expire_offers(session: AsyncSession, deployment: Deployment, now: dt.datetime) -> int:
    """Offers not taken in time go to the next on the waiting list (the worker's job). Commits each."""
    now = utc(now)
    store = ReceptionStore(session)
    names = await directory(session, deployment)
    expired = 0
    for wait_id in await store.offers_expired(now):
        wait = await store.wait(wait_id)
        if wait is not None and await _expire(session, deployment, names, wait, now):
            expired += 1
        await session.commit()
    return expired


# Staff and deputies

async def close_session(session: AsyncSession, deployment: Deployment, key: str, reason: str, actor: Actor,
                        now: dt.datetime) -> int:
    """Staff close a session: its bookings are cancelled and their citizens told why; return how many."""
    now = utc(now)
    _staff_only(actor)
    if not reason.strip():
        raise Refused("reason_required", "关闭接待需要说明原因。")
    row = await _session(session, key)
    if row.closed:
        raise Refused("already_closed", f"接待 {key} 已经关闭。")
    if row.ends_at <= now:
        raise Refused("ended", f"接待 {key} 已经结束。")
    count = await _close(session, deployment, row, reason.strip(), actor.name, now)
    await session.commit()
    return count


async def _close(session: AsyncSession, deployment: Deployment, row: ReceptionSession, reason: str,
                 actor: str | None, now: dt.datetime) -> int:
    """Close the session (once, whoever else tries at the same time) and tell everyone concerned."""
    store = ReceptionStore(session)
    if not await store.close_session(row.id, reason, actor, now):
        return 0
    names = await directory(session, deployment)
    fresh = await store.session_by_key(row.key)
    assert fresh is not None
    slots = {s.id: s for s in fresh.slots}
    told = 0
    for booking in await store.bookings_of_sessions([fresh.id]):
        if await store.change_booking(booking.id, ACTIVE, status="closed", cancelled_at=now, updated_at=now,
                                      cancel_reason=reason):
            view = slot_view(slots[booking.slot_id], fresh, names)
            await _push(session, [rules.session_closed(booking_facts(booking, view, fresh, names), reason)], now,
                        conversation_id=booking.conversation_id, citizen_id=booking.citizen_id)
            told += 1
    for wait in await store.waits_of_slots(list(slots)):
        if await store.change_wait(wait.id, wait.status, status="withdrawn"):
            view = slot_view(slots[wait.slot_id], fresh, names)
            await _push(session, [rules.wait_closed(view, wait.id, reason)], now,
                        conversation_id=wait.conversation_id, citizen_id=wait.citizen_id)
    await _push(session, [rules.duty_cancelled(session_facts(fresh, names), reason, told)], now,
                deputies=_ids(names, fresh.deputies))
    return told


async def set_deputies(session: AsyncSession, deployment: Deployment, key: str, codes: Sequence[str], actor: Actor,
                       now: dt.datetime) -> ReceptionSession:
    """Staff name the deputies of a session; the booked citizens and the deputies in and out are told."""
    now = utc(now)
    _staff_only(actor)
    known = {d.code for d in deployment.deputies}
    unknown = [c for c in codes if c not in known]
    if not codes or unknown:
        raise Refused("bad_deputy", f"没有这些代表：{'、'.join(unknown)}。" if unknown else "请至少指定一位代表。")
    row = await _session(session, key)
    if row.ends_at <= now:
        raise Refused("ended", f"接待 {key} 已经结束。")
    before = list(row.deputies)
    store = ReceptionStore(session)
    await store.update_session(row.id, deputies=list(codes), changed_by=actor.name, updated_at=now)
    fresh = await store.session_by_key(key)
    assert fresh is not None
    names = await directory(session, deployment)
    stamp = f"{now:%Y%m%d%H%M%S}"
    facts = session_facts(fresh, names)
    booked = await store.bookings_of_sessions([fresh.id])
    slots = {s.id: s for s in fresh.slots}
    if not fresh.closed:
        for booking in booked:
            view = slot_view(slots[booking.slot_id], fresh, names)
            await _push(session, [rules.deputies_changed(booking_facts(booking, view, fresh, names), stamp)], now,
                        conversation_id=booking.conversation_id, citizen_id=booking.citizen_id)
        await _push(session, [rules.duty_assigned(facts, len(booked), stamp)], now,
                    deputies=_ids(names, [c for c in codes if c not in before]))
        await _push(session, [rules.duty_released(facts, stamp)], now,
                    deputies=_ids(names, [c for c in before if c not in codes]))
    await session.commit()
    return fresh


async def record_outcome(session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, number: str,
                         outcome: str, actor: Actor, now: dt.datetime, *, deputy_code: str | None = None,
                         answer: str = "", topic: str = "其他") -> tuple[Booking, Case | None]:
    """After the session: record what came of a booking, once. A deputy records for their own sessions
    (as the one who received the citizen); staff for any, naming the deputy when several were on duty.
    "case" registers a case from the booking, followed by that deputy. Returns the booking and the case."""
    now = utc(now)
    if outcome not in rules.OUTCOMES:
        raise Refused("bad_outcome", f"结果只能是：{'、'.join(rules.OUTCOMES)}。")
    store = ReceptionStore(session)
    booking = await store.booking_by_number(number)
    if booking is None:
        raise Refused("not_found", f"没有预约 {number}。")
    slot = await store.slot(booking.slot_id)
    assert slot is not None
    row = slot.session
    if booking.status != ACTIVE:
        raise Refused("not_active", f"预约 {booking.number} 已取消或改约，无需记录结果。")
    if slot.starts_at > now:
        raise Refused("not_started", f"预约 {booking.number} 的接待时间还没到。")
    received_by = _receiver(actor, row, deputy_code, outcome)
    if outcome == "answered" and not answer.strip():
        raise Refused("answer_required", "当场解答请写明答复内容。")
    if not await store.record_outcome(booking.id, outcome=outcome, outcome_note=answer.strip(), outcome_by=actor.name,
                                      outcome_at=now, received_by=received_by, updated_at=now):
        raise Refused("outcome_recorded", f"预约 {booking.number} 的结果已经记录过了。")
    case = None
    if outcome == "case":
        assert received_by is not None
        case = await _open_case(session, deployment, calendar, booking, received_by, answer, topic, now)
        await store.change_booking(booking.id, ACTIVE, case_id=case.id)
        names = await directory(session, deployment)
        facts = booking_facts(booking, slot_view(slot, row, names), row, names)
        await _push(session, [rules.case_opened(facts, case.number, names.deputy_names.get(received_by, ""))], now,
                    conversation_id=booking.conversation_id, citizen_id=booking.citizen_id)
    await session.commit()
    fresh = await store.booking(booking.id)
    assert fresh is not None
    return fresh, case


def _receiver(actor: Actor, row: ReceptionSession, deputy_code: str | None, outcome: str) -> str | None:
    """The deputy who received the citizen: the deputy recording it, or the one staff name (or the only one)."""
    if actor.role is Role.DEPUTY:
        if actor.deputy_code is None or actor.deputy_code not in row.deputies:
            raise Refused("not_on_duty", "只有这场接待的值班代表或工作人员可以记录结果。")
        return actor.deputy_code
    _staff_only(actor)
    if deputy_code is not None:
        if deputy_code not in row.deputies:
            raise Refused("not_on_duty", f"代表 {deputy_code} 不在这场接待的值班名单中。")
        return deputy_code
    if outcome == "absent":
        return None
    if len(row.deputies) == 1:
        return row.deputies[0]
    raise Refused("deputy_required", f"这场接待有多位值班代表，请指明接待的代表：{'、'.join(row.deputies)}。")


async def _open_case(session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, booking: Booking,
                     deputy_code: str, note: str, topic: str, now: dt.datetime) -> Case:
    """Register the booking's matter as a case, followed by the deputy who received the citizen."""
    store = ReceptionStore(session)
    who = await store.party_of(booking.conversation_id) if booking.conversation_id else None
    if who is None:
        raise Refused("no_citizen", "找不到这位群众的会话，无法登记案件。")
    identity_id, citizen_id, channel, user_id = who
    party = Party(citizen_id=citizen_id, identity_id=identity_id, conversation_id=booking.conversation_id or 0,
                  channel=channel, user_id=user_id)
    description = booking.topic + (f"\n接待记录：{note.strip()}" if note.strip() else "")
    report = Report(description=description, place="", topic=topic, topic_confidence=1.0, anonymous=False,
                    contact_consent=booking.phone is not None, contact_phone=booking.phone,
                    deputy_code=deputy_code)
    cases, directory_store = CaseStore(session), DirectoryStore(session)
    case, _ = await register_case(cases, directory_store, deployment, calendar, party, report, now)
    similar = await link_similar(cases, case)
    if similar:
        department = (await directory_store.names(Department)).get(case.department_id or 0, "")
        await queue(PushStore(session), RecipientStore(session), case,
                    [similar_found(case_view(case, department), [c.number for c in similar])], now)
    return case


# Jobs

async def queue_reminders(session: AsyncSession, deployment: Deployment, now: dt.datetime) -> int:
    """The reminders due to citizens and the morning digests due to deputies (each once, by its key)."""
    now = utc(now)
    rules_ = deployment.reception
    store = ReceptionStore(session)
    names = await directory(session, deployment)
    queued = 0
    for booking in await store.booked_starting_between(now, now + dt.timedelta(days=2)):
        slot = await store.slot(booking.slot_id)
        assert slot is not None
        for kind in rules.reminders_due(booking.created_at, slot.starts_at, now, rules_):
            facts = booking_facts(booking, slot_view(slot, slot.session, names), slot.session, names)
            queued += await _push(session, [rules.reminder(facts, kind)], now,
                                  conversation_id=booking.conversation_id, citizen_id=booking.citizen_id)
    today = local_today(now)
    for row in await store.sessions_between(today, today):
        if row.closed or not rules.digest_due(row.starts_at, row.ends_at, now, rules_):
            continue
        slots = {s.id: s for s in row.slots}
        booked = [booking_facts(b, slot_view(slots[b.slot_id], row, names), row, names)
                  for b in await store.bookings_of_sessions([row.id])]
        for code in row.deputies:
            queued += await _push(session, [rules.digest(session_facts(row, names), code, booked)], now,
                                  deputies=_ids(names, [code]))
    await session.commit()
    return queued


async def reception_deeds(session: AsyncSession, deployment: Deployment, start: dt.datetime,
                          end: dt.datetime) -> list[Deed]:
    """Deeds for the deputies' points from the outcomes of sessions held in [start, end), dated when the session
    was held: an outcome recorded after New Year's Day for a session of late December counts in the old year."""
    codes = (await directory(session, deployment)).station_codes
    rows = [OutcomeRow(booking_id=b.id, number=b.number, session_id=s.id, session_day=s.day,
                       station=codes.get(s.station_id, ""), outcome=b.outcome or "", received_by=b.received_by,
                       at=s.starts_at)
            for b, s in await ReceptionStore(session).outcomes_between(start, end)]
    return rules.deeds_from_outcomes(rows)


# Helpers

def _staff_only(actor: Actor) -> None:
    if actor.role not in STAFF_ROLES:
        raise Refused("forbidden_role", "只有工作人员可以这样做。")


async def _session(session: AsyncSession, key: str) -> ReceptionSession:
    row = await ReceptionStore(session).session_by_key(key)
    if row is None:
        raise Refused("not_found", f"没有接待场次 {key}。")
    return row


def _ids(names: Directory, codes: Sequence[str]) -> list[int]:
    return [names.deputy_ids[c] for c in codes if c in names.deputy_ids]


async def _push(session: AsyncSession, notices: list[Notice], now: dt.datetime, *, conversation_id: int | None = None,
                citizen_id: int | None = None, deputies: Sequence[int] = ()) -> int:
    return await queue_direct(PushStore(session), RecipientStore(session), notices, now,
                              conversation_id=conversation_id, citizen_id=citizen_id, deputy_ids=deputies)
