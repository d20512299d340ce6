"""Reception bookings carried out: whoever asks (chat, API, CLI, a job), one function per use case.

Each use case checks with the rules of `casework.bookings`, changes the reception tables through
`storage.reception.ReceptionStore` and queues its pushes; or raises `Refused` having kept nothing. Seats
are taken and given back by conditional UPDATEs on the slot row, so a slot is never booked beyond its
capacity, whatever the number of citizens confirming at once; a second booking in a week is refused by a
unique index; a session is closed, a booking changed, an offer answered by UPDATEs that check the row's
status, so two people acting at once never both succeed.

    ensure_sessions ──► the rota's sessions and slots of the coming weeks, in the store
    open_slots / find_slot / citizen_bookings / citizen_waits / ... ──► what the chat shows a citizen
    book / change / cancel / join_waitlist / withdraw_wait / answer_offer ──► a citizen's bookings
    close_session / set_deputies / record_outcome (perform) ──► staff and deputies
    list_sessions / list_bookings ──► what the API and the CLI show staff and deputies
    expire_offers / queue_reminders ──► the worker's jobs

Transactions. A use case is one unit of work on the AsyncSession it is given: its writes are made in a
savepoint, so a `Refused` (or any error) undoes them all and leaves the caller's transaction as it was.
On success it commits, unless the caller owns the transaction and passes `commit=False`: a conversation
turn does (`handlers.dispatch` commits the turn once, with the replies). HTTP routes, CLI commands and
worker jobs let the service commit. `expire_offers` is the one job that commits once per offer, so an
offer expired is never held back by the next one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casework import bookings as rules
from casework.actors import Actor
from casework.bookings import BookingFacts, OutcomeRow, Refused, SessionFacts, SlotView, WaitFacts
from casework.cases import Report, Role, reception_intake
from casework.deadlines import LOCAL
from casework.notices import CITIZEN, DEPUTY, Notice
from casework.points import Deed
from casework.privacy import mask_phone
from casework.rota import plan_sessions
from casework.workdays import WorkingCalendar
from services import access
from services.cases import register_report
from services.pushes import queue_direct
from settings import TOPICS, Deployment
from storage.db import begin_for_savepoints
from storage.models import Booking, BookingWait, Case, Deputy, ReceptionSession, ReceptionSlot, Station, utc
from storage.reception import ACTIVE, BookingTaken, ReceptionStore
from storage.repositories import DirectoryStore, Party, PushStore, RecipientStore
from texts import citizen as citizen_texts
from texts import deputy as deputy_texts
from texts import staff as staff_texts

STAFF_ROLES = frozenset({Role.STAFF, Role.ADMIN})
RECEPTION_ROLES = frozenset({Role.STAFF, Role.ADMIN, Role.DEPUTY})
STATUSES = ("booked", "cancelled", "moved", "closed")
OTHER_TOPIC = TOPICS[-1]  # 其他, the catch-all


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
    return Directory(
        stations=stations,
        station_codes={v: k for k, v in ids.items()},
        deputy_ids=await store.ids(Deputy),
        deputy_names={d.code: d.name for d in deployment.deputies},
    )


def slot_view(slot: ReceptionSlot, session: ReceptionSession, names: Directory) -> SlotView:
    station, address, _ = names.stations.get(session.station_id, ("", "", ""))
    return SlotView(
        id=slot.id,
        session_key=session.key,
        station=station,
        kind=session.kind,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        capacity=slot.capacity,
        booked=slot.booked,
        deputies=names.names(session.deputies),
        closed=session.closed,
        address=address,
    )


def session_facts(session: ReceptionSession, names: Directory) -> SessionFacts:
    return SessionFacts(
        key=session.key,
        station=names.stations.get(session.station_id, ("",))[0],
        kind=session.kind,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        deputies=names.names(session.deputies),
    )


def booking_facts(booking: Booking, slot: SlotView, session: ReceptionSession, names: Directory) -> BookingFacts:
    """A booking as the pushes tell it. Its matter is read by the deputies on duty only (the citizen's pushes
    never repeat it), masked as a deputy reads texts; the call-back phone as the citizen left it, since they
    asked to be called back (services/access.py `booking_push_topic`, `sees_booking_contacts`)."""
    _, address, phone = names.stations.get(session.station_id, ("", "", ""))
    return BookingFacts(
        id=booking.id,
        number=booking.number,
        slot=slot,
        topic=access.booking_push_topic(booking.topic, names.deputy_names.values()),
        phone=booking.phone,
        address=address,
        station_phone=phone,
    )


def local_today(now: dt.datetime) -> dt.date:
    return now.astimezone(LOCAL).date()


@asynccontextmanager
async def _unit(session: AsyncSession, commit: bool) -> AsyncIterator[None]:
    """One use case's writes, all or none: an exception raised inside undoes them (to the savepoint taken
    here) and goes on; on success they are committed, or left to the caller's commit (`commit=False`)."""
    await begin_for_savepoints(session)
    async with session.begin_nested():
        yield
    if commit:
        await session.commit()


# The rota in the store


async def ensure_sessions(
    session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, now: dt.datetime, *, commit: bool = True
) -> int:
    """Make the sessions and slots of today and the coming `weeks_ahead` weeks from the rota; bring the
    sessions staff never changed in line with it (one the rota now closes is closed, its citizens told).
    Safe to run often and from several processes at once. Returns how many sessions changed."""
    now = utc(now)
    async with _unit(session, commit):
        return await _ensure_sessions(session, deployment, calendar, now)


async def _ensure_sessions(
    session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, now: dt.datetime
) -> int:
    store = ReceptionStore(session)
    first = local_today(now)
    last = first + dt.timedelta(weeks=deployment.reception.weeks_ahead)
    existing = {s.key: s for s in await store.sessions_between(first, last)}
    station_ids = await DirectoryStore(session).ids(Station)
    changed = 0
    for plan in plan_sessions(deployment, calendar, first, last):
        row = existing.get(plan.key)
        reason = citizen_texts.SESSION_CLOSED_REASONS.get(plan.reason, plan.reason)
        if row is None:
            if plan.station in station_ids:
                changed += await store.add_session(
                    plan.slots(),
                    key=plan.key,
                    station_id=station_ids[plan.station],
                    kind=plan.kind,
                    day=plan.day,
                    starts_at=plan.starts_at,
                    ends_at=plan.ends_at,
                    slot_minutes=plan.slot_minutes,
                    capacity=plan.capacity,
                    deputies=list(plan.deputies),
                    closed=plan.closed,
                    close_reason=reason,
                    created_at=now,
                    updated_at=now,
                )
            continue
        if row.changed_by is not None or row.ends_at <= now:
            continue
        if plan.closed and not row.closed:
            changed += await _close(session, deployment, row, reason, None, now)
        elif not plan.closed and row.closed:
            await store.update_session(row.id, closed=False, close_reason="", updated_at=now)
            changed += 1
        if tuple(row.deputies) != plan.deputies:
            await store.update_session(row.id, deputies=list(plan.deputies), updated_at=now)
            changed += 1
    return changed


# What the chat shows a citizen


async def open_slots(
    session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, now: dt.datetime, *, commit: bool = True
) -> list[SlotView]:
    """Every slot of the coming weeks (closed and full ones too, flagged), soonest first; the rota's
    sessions are made first when missing."""
    now = utc(now)
    async with _unit(session, commit):
        await _ensure_sessions(session, deployment, calendar, now)
    names = await directory(session, deployment)
    first = local_today(now)
    rows = await ReceptionStore(session).sessions_between(
        first, first + dt.timedelta(weeks=deployment.reception.weeks_ahead)
    )
    return [slot_view(slot, row, names) for row in rows for slot in row.slots if slot.starts_at > now]


async def find_slot(session: AsyncSession, deployment: Deployment, slot_id: int) -> SlotView | None:
    """One slot as the citizen sees it, or None when there is no such slot."""
    row = await ReceptionStore(session).slot(slot_id)
    if row is None:
        return None
    return slot_view(row, row.session, await directory(session, deployment))


async def weeks_taken(session: AsyncSession, party: Party) -> set[str]:
    """The weeks ("2026-W48") in which the citizen holds a booking."""
    return await ReceptionStore(session).weeks_booked(party.citizen_id)


async def citizen_bookings(
    session: AsyncSession, deployment: Deployment, party: Party, now: dt.datetime
) -> list[BookingFacts]:
    """The citizen's active bookings of slots still ahead, soonest first."""
    store = ReceptionStore(session)
    names = await directory(session, deployment)
    found = []
    for booking in await store.active_of_citizen(party.citizen_id, utc(now)):
        row = await store.slot(booking.slot_id)
        assert row is not None
        found.append(booking_facts(booking, slot_view(row, row.session, names), row.session, names))
    return found


async def citizen_booking(
    session: AsyncSession, deployment: Deployment, party: Party, number: str
) -> BookingFacts | None:
    """The citizen's booking numbered `number` (whatever its status), or None."""
    store = ReceptionStore(session)
    booking = await store.booking_by_number(number)
    if booking is None or booking.citizen_id != party.citizen_id:
        return None
    row = await store.slot(booking.slot_id)
    assert row is not None
    names = await directory(session, deployment)
    return booking_facts(booking, slot_view(row, row.session, names), row.session, names)


async def citizen_waits(session: AsyncSession, deployment: Deployment, party: Party) -> list[WaitFacts]:
    """The citizen's places on waiting lists (waiting, or offered a place), first joined first."""
    store = ReceptionStore(session)
    names = await directory(session, deployment)
    found = []
    for wait in await store.waiting_of_citizen(party.citizen_id):
        row = await store.slot(wait.slot_id)
        assert row is not None
        found.append(WaitFacts(id=wait.id, slot=slot_view(row, row.session, names), status=wait.status))
    return found


async def answers_reminder(session: AsyncSession, booking: BookingFacts, now: dt.datetime) -> bool:
    """Whether a 取消 now answers the booking's latest reminder (it then cancels even past the cut-off)."""
    reminded_at = await ReceptionStore(session).reminded_at(booking.id)
    return rules.answers_reminder(reminded_at, booking.slot.starts_at, utc(now))


def check_change(slot_start: dt.datetime, now: dt.datetime, deployment: Deployment) -> None:
    """Raise Refused ("started", "too_late") when a booking of a slot starting at `slot_start` can no longer
    be cancelled or changed."""
    code = rules.change_refused(slot_start, now, deployment.reception)
    if code == "started":
        raise Refused(code, citizen_texts.BOOKING_REFUSED_STARTED)
    if code is not None:
        raise Refused(code, citizen_texts.BOOKING_REFUSED_TOO_LATE.format(hours=deployment.reception.change_hours))


# A citizen's bookings


async def book(
    session: AsyncSession,
    deployment: Deployment,
    party: Party,
    slot_id: int,
    topic: str,
    phone: str | None,
    now: dt.datetime,
    *,
    commit: bool = True,
) -> tuple[Booking, SlotView]:
    """Book a place of a slot for the citizen; the deputies on duty are told.

    Raises Refused: slot_gone (closed or past), full (no place left: offer the waiting list),
    week_taken (one booking a week).
    """
    async with _unit(session, commit):
        return await _book(session, deployment, party, slot_id, topic, phone, utc(now), None)


async def change(
    session: AsyncSession,
    deployment: Deployment,
    party: Party,
    number: str,
    slot_id: int,
    now: dt.datetime,
    *,
    commit: bool = True,
) -> tuple[Booking, SlotView]:
    """Move the citizen's booking `number` to another slot (its topic and phone go with it): a new booking,
    the old one marked moved; the deputies of both sessions are told, the old place goes to its waiting list.

    Raises Refused: those of `book`, and not_found, same_slot, started, too_late (within the cut-off),
    changed (someone changed the booking meanwhile).
    """
    async with _unit(session, commit):
        return await _book(session, deployment, party, slot_id, "", None, utc(now), number)


async def _book(
    session: AsyncSession,
    deployment: Deployment,
    party: Party,
    slot_id: int,
    topic: str,
    phone: str | None,
    now: dt.datetime,
    moving: str | None,
) -> tuple[Booking, SlotView]:
    """Book, or move the booking `moving` (taking its topic and phone) to the slot."""
    store = ReceptionStore(session)
    names = await directory(session, deployment)
    slot = await store.slot(slot_id)
    if slot is None or slot.session.closed or slot.starts_at <= now:
        raise Refused("slot_gone", citizen_texts.BOOKING_REFUSED_SLOT_GONE)
    week = rules.week_of(slot.starts_at)
    old = old_slot = None
    if moving is not None:
        old = await store.booking_by_number(moving)
        if old is None or old.citizen_id != party.citizen_id or old.status != ACTIVE:
            raise Refused("not_found", citizen_texts.BOOKING_REFUSED_NO_ACTIVE.format(number=moving))
        topic, phone = old.topic, old.phone
        old_slot = await store.slot(old.slot_id)
        assert old_slot is not None
        check_change(old_slot.starts_at, now, deployment)
        if old.slot_id == slot_id:
            raise Refused("same_slot", citizen_texts.BOOKING_REFUSED_SAME_SLOT)
    taken = await store.weeks_booked(party.citizen_id) - ({old.week} if old else set())
    if week in taken:
        raise Refused("week_taken", citizen_texts.BOOKING_REFUSED_WEEK_TAKEN)
    if not await store.take_seat(slot.id):
        raise Refused("full", citizen_texts.BOOKING_REFUSED_FULL)
    if old is not None and not await store.change_booking(
        old.id,
        ACTIVE,
        status="moved",
        cancelled_at=now,
        updated_at=now,
        cancel_reason=citizen_texts.BOOKING_CHANGE_REASON,
    ):
        raise Refused("changed", citizen_texts.BOOKING_REFUSED_CHANGED)
    booking = await _add_booking(store, deployment, party.citizen_id, party.conversation_id, slot, topic, phone, now)
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
        old_facts = booking_facts(old, moved_from, old_slot.session, names)
        await _push(
            session,
            [_cancelled(old_facts, citizen_texts.BOOKING_CHANGE_REASON, view)],
            now,
            deputies=_ids(names, old_slot.session.deputies),
        )
        await _free_seat(session, deployment, names, old_slot, now)
    await _push(session, [_booked(facts, moved_from)], now, deputies=_ids(names, refreshed.session.deputies))
    return booking, view


async def _add_booking(
    store: ReceptionStore,
    deployment: Deployment,
    citizen_id: int,
    conversation_id: int | None,
    slot: ReceptionSlot,
    topic: str,
    phone: str | None,
    now: dt.datetime,
) -> Booking:
    """The booking row of a seat taken, with the day's next number; Refused when the week is taken."""
    day = local_today(now)
    number = rules.format_booking_number(deployment.reception.booking_prefix, day, await store.next_number(day))
    try:
        return await store.add_booking(
            number=number,
            slot_id=slot.id,
            session_id=slot.session_id,
            citizen_id=citizen_id,
            conversation_id=conversation_id,
            week=rules.week_of(slot.starts_at),
            status=ACTIVE,
            topic=topic,
            phone=phone,
            created_at=now,
            updated_at=now,
        )
    except BookingTaken:
        raise Refused("week_taken", citizen_texts.BOOKING_REFUSED_WEEK_TAKEN) from None


async def cancel(
    session: AsyncSession,
    deployment: Deployment,
    party: Party,
    number: str,
    now: dt.datetime,
    *,
    replying: bool = False,
    commit: bool = True,
) -> tuple[Booking, SlotView]:
    """The citizen cancels their booking: refused within the cut-off, unless `replying` to a reminder
    sent less than half an hour ago. The place goes to the waiting list, the deputies are told.

    Raises Refused: not_found, not_active (cancelled or moved already), started, too_late.
    """
    now = utc(now)
    async with _unit(session, commit):
        store = ReceptionStore(session)
        booking = await store.booking_by_number(number)
        if booking is None or booking.citizen_id != party.citizen_id:
            raise Refused("not_found", citizen_texts.BOOKING_REFUSED_NOT_FOUND.format(number=number))
        if booking.status != ACTIVE:
            raise Refused("not_active", citizen_texts.BOOKING_REFUSED_NOT_ACTIVE.format(number=booking.number))
        slot = await store.slot(booking.slot_id)
        assert slot is not None
        if replying and rules.answers_reminder(await store.reminded_at(booking.id), slot.starts_at, now):
            reason = citizen_texts.BOOKING_CANCEL_REASON_REMINDER
        else:
            check_change(slot.starts_at, now, deployment)
            reason = citizen_texts.BOOKING_CANCEL_REASON
        if not await store.change_booking(
            booking.id, ACTIVE, status="cancelled", cancelled_at=now, updated_at=now, cancel_reason=reason
        ):
            raise Refused("not_active", citizen_texts.BOOKING_REFUSED_NOT_ACTIVE.format(number=booking.number))
        names = await directory(session, deployment)
        view = slot_view(slot, slot.session, names)
        await _push(
            session,
            [_cancelled(booking_facts(booking, view, slot.session, names), reason)],
            now,
            deputies=_ids(names, slot.session.deputies),
        )
        await _free_seat(session, deployment, names, slot, now)
    return booking, view


async def join_waitlist(
    session: AsyncSession,
    deployment: Deployment,
    party: Party,
    slot_id: int,
    topic: str,
    phone: str | None,
    now: dt.datetime,
    *,
    commit: bool = True,
) -> tuple[int, SlotView]:
    """Put the citizen on a full slot's waiting list (once); return their place in line (1 = next).

    Raises Refused: slot_gone, week_taken, has_room (book it instead).
    """
    now = utc(now)
    async with _unit(session, commit):
        store = ReceptionStore(session)
        slot = await store.slot(slot_id)
        if slot is None or slot.session.closed or slot.starts_at <= now:
            raise Refused("slot_gone", citizen_texts.BOOKING_REFUSED_SLOT_GONE)
        if rules.week_of(slot.starts_at) in await store.weeks_booked(party.citizen_id):
            raise Refused("week_taken", citizen_texts.BOOKING_REFUSED_WEEK_TAKEN)
        view = slot_view(slot, slot.session, await directory(session, deployment))
        for wait in await store.waiting_of_citizen(party.citizen_id):
            if wait.slot_id == slot_id:
                return await store.place_in_line(wait), view
        if slot.booked < slot.capacity:
            raise Refused("has_room", citizen_texts.BOOKING_REFUSED_HAS_ROOM)
        _, place = await store.add_wait(
            slot_id=slot_id,
            citizen_id=party.citizen_id,
            conversation_id=party.conversation_id,
            topic=topic,
            phone=phone,
            status="waiting",
            created_at=now,
        )
    return place, view


async def withdraw_wait(
    session: AsyncSession, deployment: Deployment, party: Party, wait_id: int, now: dt.datetime, *, commit: bool = True
) -> SlotView | None:
    """The citizen leaves a waiting list; a place held for them goes to the next in line. Returns the slot,
    or None when the citizen has no such place in line. Leaving twice, or after the offer ran out, is no error."""
    now = utc(now)
    store = ReceptionStore(session)
    wait = await store.wait(wait_id)
    if wait is None or wait.citizen_id != party.citizen_id:
        return None
    view = await find_slot(session, deployment, wait.slot_id)
    try:
        async with _unit(session, commit):
            if wait.status == "offered":
                await _answer_offer(session, deployment, party, False, now)
            else:
                await store.change_wait(wait.id, "waiting", status="withdrawn")
    except Refused:
        pass  # the offer ran out meanwhile: nothing left to give up
    return view


async def answer_offer(
    session: AsyncSession, deployment: Deployment, party: Party, accept: bool, now: dt.datetime, *, commit: bool = True
) -> tuple[Booking | None, SlotView]:
    """The citizen takes (or gives up) the place held for them; the booking, or None when given up.

    Raises Refused: no_offer; offer_expired (the place went to the next in line, which is kept);
    week_taken (when taking it: the place goes to the next in line, which is kept).
    """
    now = utc(now)
    async with _unit(session, commit):
        booking, view, refusal = await _answer_offer(session, deployment, party, accept, now)
    if refusal is not None:
        raise refusal
    assert view is not None
    return booking, view


async def _answer_offer(
    session: AsyncSession, deployment: Deployment, party: Party, accept: bool, now: dt.datetime
) -> tuple[Booking | None, SlotView | None, Refused | None]:
    """What answering the offer did, and the refusal to raise once it is kept (an offer run out, or given
    up for a week taken, still passes the place on)."""
    store = ReceptionStore(session)
    offers = await store.waiting_of_citizen(party.citizen_id, ("offered",))
    expired = Refused("offer_expired", citizen_texts.BOOKING_REFUSED_OFFER_EXPIRED)
    if not offers:
        for lapsed_wait in await store.waiting_of_citizen(party.citizen_id, ("expired",)):
            lapsed = await store.slot(lapsed_wait.slot_id)
            if lapsed is not None and lapsed.starts_at > now:
                raise expired
        raise Refused("no_offer", citizen_texts.BOOKING_NO_OFFER)
    wait = offers[0]
    slot = await store.slot(wait.slot_id)
    assert slot is not None and wait.offer_expires_at is not None
    names = await directory(session, deployment)
    view = slot_view(slot, slot.session, names)
    if utc(wait.offer_expires_at) <= now:
        await _expire(session, deployment, names, wait, now)
        return None, view, expired
    if not accept or rules.week_of(slot.starts_at) in await store.weeks_booked(party.citizen_id):
        if await store.change_wait(wait.id, "offered", status="declined"):
            await _free_seat(session, deployment, names, slot, now)
        if accept:
            return None, view, Refused("week_taken", citizen_texts.BOOKING_REFUSED_WEEK_TAKEN_OFFER)
        return None, view, None
    if not await store.change_wait(wait.id, "offered", status="booked"):
        raise expired
    booking = await _add_booking(
        store, deployment, party.citizen_id, wait.conversation_id, slot, wait.topic, wait.phone, now
    )
    await store.change_wait(wait.id, "booked", booking_id=booking.id)
    await _push(
        session,
        [_booked(booking_facts(booking, view, slot.session, names))],
        now,
        deputies=_ids(names, slot.session.deputies),
    )
    return booking, view, None


async def _free_seat(
    session: AsyncSession, deployment: Deployment, names: Directory, slot: ReceptionSlot, now: dt.datetime
) -> None:
    """A place of `slot` is free: hold it for the first on the waiting list who can take it, or give it back."""
    store = ReceptionStore(session)
    deadline = rules.offer_deadline(now, slot.starts_at, deployment.reception)
    if deadline is not None and not slot.session.closed:
        week = rules.week_of(slot.starts_at)
        for wait in await store.waiting_for(slot.id):
            if week in await store.weeks_booked(wait.citizen_id):
                await store.change_wait(wait.id, "waiting", status="withdrawn")
                continue
            if await store.change_wait(wait.id, "waiting", status="offered", offered_at=now, offer_expires_at=deadline):
                view = slot_view(slot, slot.session, names)
                await _push(
                    session,
                    [_offer(view, wait.id, deadline)],
                    now,
                    conversation_id=wait.conversation_id,
                    citizen_id=wait.citizen_id,
                )
                return
    await store.release_seat(slot.id)


async def _expire(
    session: AsyncSession, deployment: Deployment, names: Directory, wait: BookingWait, now: dt.datetime
) -> bool:
    store = ReceptionStore(session)
    if not await store.change_wait(wait.id, "offered", status="expired"):
        return False
    slot = await store.slot(wait.slot_id)
    assert slot is not None
    await _push(
        session,
        [_offer_lapsed(slot_view(slot, slot.session, names), wait.id)],
        now,
        conversation_id=wait.conversation_id,
        citizen_id=wait.citizen_id,
    )
    await _free_seat(session, deployment, names, slot, now)
    return True


# Staff and deputies


async def close_session(
    session: AsyncSession,
    deployment: Deployment,
    key: str,
    reason: str,
    actor: Actor,
    now: dt.datetime,
    *,
    commit: bool = True,
) -> int:
    """Staff close a session: its bookings are cancelled and their citizens told why; return how many.

    Raises Refused: forbidden_role, reason_required, not_found, already_closed, ended.
    """
    now = utc(now)
    _staff_only(actor)
    if not reason.strip():
        raise Refused("reason_required", staff_texts.RECEPTION_REASON_REQUIRED)
    async with _unit(session, commit):
        row = await _session(session, key)
        if row.closed:
            raise Refused("already_closed", staff_texts.RECEPTION_ALREADY_CLOSED.format(key=key))
        if row.ends_at <= now:
            raise Refused("ended", staff_texts.RECEPTION_ENDED.format(key=key))
        return await _close(session, deployment, row, reason.strip(), actor.name, now)


async def _close(
    session: AsyncSession,
    deployment: Deployment,
    row: ReceptionSession,
    reason: str,
    actor: str | None,
    now: dt.datetime,
) -> int:
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
        if await store.change_booking(
            booking.id, ACTIVE, status="closed", cancelled_at=now, updated_at=now, cancel_reason=reason
        ):
            view = slot_view(slots[booking.slot_id], fresh, names)
            await _push(
                session,
                [_session_closed(booking_facts(booking, view, fresh, names), reason)],
                now,
                conversation_id=booking.conversation_id,
                citizen_id=booking.citizen_id,
            )
            told += 1
    for wait in await store.waits_of_slots(list(slots)):
        if await store.change_wait(wait.id, wait.status, status="withdrawn"):
            view = slot_view(slots[wait.slot_id], fresh, names)
            await _push(
                session,
                [_wait_closed(view, wait.id, reason)],
                now,
                conversation_id=wait.conversation_id,
                citizen_id=wait.citizen_id,
            )
    await _push(
        session, [_duty_cancelled(session_facts(fresh, names), reason, told)], now, deputies=_ids(names, fresh.deputies)
    )
    return told


async def set_deputies(
    session: AsyncSession,
    deployment: Deployment,
    key: str,
    codes: Sequence[str],
    actor: Actor,
    now: dt.datetime,
    *,
    commit: bool = True,
) -> ReceptionSession:
    """Staff name the deputies of a session; the booked citizens and the deputies in and out are told.

    Raises Refused: forbidden_role, bad_deputy, not_found, ended.
    """
    now = utc(now)
    _staff_only(actor)
    known = {d.code for d in deployment.deputies}
    unknown = [c for c in codes if c not in known]
    if not codes or unknown:
        raise Refused(
            "bad_deputy",
            staff_texts.RECEPTION_UNKNOWN_DEPUTIES.format(codes="、".join(unknown))
            if unknown
            else staff_texts.RECEPTION_NO_DEPUTY,
        )
    async with _unit(session, commit):
        row = await _session(session, key)
        if row.ends_at <= now:
            raise Refused("ended", staff_texts.RECEPTION_ENDED.format(key=key))
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
                await _push(
                    session,
                    [_deputies_changed(booking_facts(booking, view, fresh, names), stamp)],
                    now,
                    conversation_id=booking.conversation_id,
                    citizen_id=booking.citizen_id,
                )
            await _push(
                session,
                [_duty_assigned(facts, len(booked), stamp)],
                now,
                deputies=_ids(names, [c for c in codes if c not in before]),
            )
            await _push(
                session,
                [_duty_released(facts, stamp)],
                now,
                deputies=_ids(names, [c for c in before if c not in codes]),
            )
    return fresh


async def record_outcome(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    number: str,
    outcome: str,
    actor: Actor,
    now: dt.datetime,
    *,
    deputy_code: str | None = None,
    answer: str = "",
    topic: str | None = None,
    place: str | None = None,
    guess_topic: Callable[[str], str] | None = None,
    commit: bool = True,
) -> tuple[Booking, Case | None]:
    """After the session: record what came of a booking, once. A deputy records for their own sessions
    (as the one who received the citizen); staff for any, naming the deputy when several were on duty.
    "case" registers a case from the booking (through `services.cases.register_report`) as that deputy's act
    (source reception, the deputy its first event's actor), followed by them; its text is the booking's
    matter and the note, its contact the booking's call-back phone, its place `place` (default: the station
    where it was raised), its topic `topic`, or what `guess_topic` makes of the booking's topic and the
    answer, or 其他. Returns the booking and the case.

    Raises Refused: bad_outcome, not_found, not_active, not_started, forbidden_role, not_on_duty,
    deputy_required, answer_required, outcome_recorded, no_citizen.
    """
    now = utc(now)
    if outcome not in rules.OUTCOMES:
        raise Refused("bad_outcome", staff_texts.RECEPTION_BAD_OUTCOME.format(outcomes="、".join(rules.OUTCOMES)))
    store = ReceptionStore(session)
    async with _unit(session, commit):
        booking = await store.booking_by_number(number)
        if booking is None:
            raise Refused("not_found", staff_texts.RECEPTION_NO_BOOKING.format(number=number))
        slot = await store.slot(booking.slot_id)
        assert slot is not None
        row = slot.session
        if booking.status != ACTIVE:
            raise Refused("not_active", staff_texts.RECEPTION_NOT_ACTIVE.format(number=booking.number))
        if slot.starts_at > now:
            raise Refused("not_started", staff_texts.RECEPTION_NOT_STARTED.format(number=booking.number))
        received_by = _receiver(actor, row, deputy_code, outcome)
        if outcome == "answered" and not answer.strip():
            raise Refused("answer_required", staff_texts.RECEPTION_ANSWER_REQUIRED)
        if not await store.record_outcome(
            booking.id,
            outcome=outcome,
            outcome_note=answer.strip(),
            outcome_by=actor.name,
            outcome_at=now,
            received_by=received_by,
            updated_at=now,
        ):
            raise Refused("outcome_recorded", staff_texts.RECEPTION_OUTCOME_RECORDED.format(number=booking.number))
        case = None
        if outcome == "case":
            assert received_by is not None
            if not topic:
                topic = guess_topic(f"{booking.topic} {answer}") if guess_topic else OTHER_TOPIC
            names = await directory(session, deployment)
            station = names.stations.get(row.station_id, ("",))[0]
            place = (place or "").strip() or staff_texts.RECEPTION_CASE_PLACE.format(station=station)
            case = await _open_case(
                session, deployment, calendar, booking, actor, received_by, answer, topic, place, now
            )
            await store.change_booking(booking.id, ACTIVE, case_id=case.id)
            facts = booking_facts(booking, slot_view(slot, row, names), row, names)
            await _push(
                session,
                [_case_opened(facts, case.number, names.deputy_names.get(received_by, ""))],
                now,
                conversation_id=booking.conversation_id,
                citizen_id=booking.citizen_id,
            )
    fresh = await store.booking(booking.id)
    assert fresh is not None
    return fresh, case


def _receiver(actor: Actor, row: ReceptionSession, deputy_code: str | None, outcome: str) -> str | None:
    """The deputy who received the citizen: the deputy recording it, or the one staff name (or the only one)."""
    if actor.role is Role.DEPUTY:
        if actor.deputy_code is None or actor.deputy_code not in row.deputies:
            raise Refused("not_on_duty", staff_texts.RECEPTION_NOT_ON_DUTY)
        return actor.deputy_code
    _staff_only(actor)
    if deputy_code is not None:
        if deputy_code not in row.deputies:
            raise Refused("not_on_duty", staff_texts.RECEPTION_DEPUTY_NOT_ON_DUTY.format(code=deputy_code))
        return deputy_code
    if outcome == "absent":
        return None
    if len(row.deputies) == 1:
        return row.deputies[0]
    raise Refused("deputy_required", staff_texts.RECEPTION_DEPUTY_REQUIRED.format(codes="、".join(row.deputies)))


async def _open_case(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    booking: Booking,
    actor: Actor,
    deputy_code: str,
    note: str,
    topic: str,
    place: str,
    now: dt.datetime,
) -> Case:
    """Register the booking's matter as a case, the act of the deputy who received the citizen and followed by
    them (the one registration of every report, without its commit: this use case commits). The first event's
    actor is the deputy: the user recording it, or when staff record it for them, the deputy's own user (or
    their code, if they have none), with the staff member named in the reason."""
    who = await ReceptionStore(session).party_of(booking.conversation_id) if booking.conversation_id else None
    if who is None:
        raise Refused("no_citizen", staff_texts.RECEPTION_NO_CITIZEN)
    identity_id, citizen_id, channel, user_id = who
    party = Party(
        citizen_id=citizen_id,
        identity_id=identity_id,
        conversation_id=booking.conversation_id or 0,
        channel=channel,
        user_id=user_id,
    )
    description = booking.topic + (citizen_texts.BOOKING_CASE_NOTE.format(note=note.strip()) if note.strip() else "")
    report = Report(
        description=description,
        place=place,
        topic=topic,
        topic_confidence=1.0,
        anonymous=False,
        contact_consent=booking.phone is not None,
        contact_phone=booking.phone,
        deputy_code=deputy_code,
    )
    deputy = deployment.deputy(deputy_code)
    if actor.role is Role.DEPUTY:
        intake = reception_intake(actor.name, deputy_code, deputy.name if deputy else "", booking.number, topic)
    else:
        deputy_id = (await DirectoryStore(session).ids(Deputy)).get(deputy_code, -1)
        users = await RecipientStore(session).users([Role.DEPUTY.value], deputy_id=deputy_id)
        intake = reception_intake(
            users[0].name if users else deputy_code,
            deputy_code,
            deputy.name if deputy else "",
            booking.number,
            topic,
            recorded_by=actor.name,
        )
    case, _ = await register_report(session, deployment, calendar, party, report, now, intake=intake)
    return case


async def perform(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    actor: Actor,
    operation: str,
    now: dt.datetime,
    *,
    guess_topic: Callable[[str], str] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """One staff or deputy operation as `actor`, for the API and the CLI alike: "close" (key, reason),
    "deputies" (key, deputies) or "outcome" (number, outcome, answer, deputy, topic: guessed by `guess_topic`
    when not given). Commits; returns what was done, with "detail" the line to show. Raises Refused."""
    if operation == "close":
        told = await close_session(session, deployment, fields["key"], fields["reason"], actor, now)
        return {
            "session": fields["key"],
            "closed": True,
            "citizens_told": told,
            "detail": staff_texts.RECEPTION_CLOSED.format(key=fields["key"], count=told),
        }
    if operation == "deputies":
        row = await set_deputies(session, deployment, fields["key"], fields["deputies"], actor, now)
        return {
            "session": row.key,
            "deputies": list(row.deputies),
            "detail": staff_texts.RECEPTION_DEPUTIES_SET.format(key=row.key, deputies="、".join(row.deputies)),
        }
    booking, case = await record_outcome(
        session,
        deployment,
        calendar,
        fields["number"],
        fields["outcome"],
        actor,
        now,
        deputy_code=fields.get("deputy"),
        answer=fields.get("answer") or "",
        topic=fields.get("topic"),
        place=fields.get("place"),
        guess_topic=guess_topic,
    )
    done = staff_texts.RECEPTION_OUTCOME_DONE.format(
        number=booking.number, outcome=staff_texts.BOOKING_OUTCOME_LABELS[booking.outcome or ""]
    )
    if case is not None:
        done += staff_texts.RECEPTION_OUTCOME_CASE.format(case_number=case.number)
    return {
        "number": booking.number,
        "outcome": booking.outcome,
        "received_by": booking.received_by,
        "case_no": case.number if case else None,
        "detail": done + "。",
    }


# What staff and deputies see (the API and the CLI)


def session_record(row: ReceptionSession, names: Directory) -> dict[str, Any]:
    return {
        "key": row.key,
        "kind": row.kind,
        "kind_label": staff_texts.SESSION_KIND_LABELS.get(row.kind, row.kind),
        "station": names.stations.get(row.station_id, ("",))[0],
        "day": row.day.isoformat(),
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "deputies": [{"code": c, "name": names.deputy_names.get(c, c)} for c in row.deputies],
        "closed": row.closed,
        "close_reason": row.close_reason,
        "changed_by": row.changed_by,
        "slots": [
            {
                "id": s.id,
                "starts_at": s.starts_at.isoformat(),
                "ends_at": s.ends_at.isoformat(),
                "capacity": s.capacity,
                "booked": s.booked,
            }
            for s in row.slots
        ],
    }


def booking_record(booking: Booking, row: ReceptionSession, show_phone: bool) -> dict[str, Any]:
    slot = next(s for s in row.slots if s.id == booking.slot_id)
    return {
        "number": booking.number,
        "session": row.key,
        "slot": rules.slot_label(slot.starts_at, slot.ends_at),
        "starts_at": slot.starts_at.isoformat(),
        "status": booking.status,
        "status_label": staff_texts.BOOKING_STATUS_LABELS.get(booking.status, booking.status),
        "topic": booking.topic,
        "phone": booking.phone if show_phone else (mask_phone(booking.phone) if booking.phone else None),
        "created_at": booking.created_at.isoformat(),
        "cancel_reason": booking.cancel_reason,
        "outcome": booking.outcome,
        "outcome_label": staff_texts.BOOKING_OUTCOME_LABELS.get(booking.outcome or ""),
        "outcome_note": booking.outcome_note,
        "received_by": booking.received_by,
        "case_id": booking.case_id,
    }


async def list_sessions(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    first: dt.date,
    days: int,
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Sessions from `first` for `days` days with their slots (made from the rota first, if missing: commits)."""
    await ensure_sessions(session, deployment, calendar, now)
    names = await directory(session, deployment)
    rows = await ReceptionStore(session).sessions_between(first, first + dt.timedelta(days=days - 1))
    return [session_record(r, names) for r in rows]


async def list_bookings(
    session: AsyncSession,
    first: dt.date,
    days: int,
    *,
    key: str | None = None,
    viewer: Actor | None = None,
    all_statuses: bool = False,
) -> list[dict[str, Any]]:
    """Bookings of the sessions from `first` for `days` days (or of the session `key`). A deputy sees the
    sessions they are on duty for, with phone numbers; staff see all; the CLI (no viewer) sees masked phones."""
    store = ReceptionStore(session)
    if key is not None:
        one = await store.session_by_key(key)
        rows = [one] if one else []
    else:
        rows = list(await store.sessions_between(first, first + dt.timedelta(days=days - 1)))
    rows = [r for r in rows if access.may_see_session_bookings(viewer, r.deputies)]
    by_id = {r.id: r for r in rows}
    statuses = STATUSES if all_statuses else (ACTIVE,)
    show = access.sees_booking_contacts(viewer)
    return [
        booking_record(b, by_id[b.session_id], show) for b in await store.bookings_of_sessions(list(by_id), statuses)
    ]


# Jobs


async def expire_offers(session: AsyncSession, deployment: Deployment, now: dt.datetime) -> int:
    """Offers not taken in time go to the next on the waiting list (the worker's job). Commits each offer."""
    now = utc(now)
    store = ReceptionStore(session)
    names = await directory(session, deployment)
    expired = 0
    for wait_id in await store.offers_expired(now):
        async with _unit(session, commit=True):
            wait = await store.wait(wait_id)
            if wait is not None and await _expire(session, deployment, names, wait, now):
                expired += 1
    return expired


async def queue_reminders(
    session: AsyncSession, deployment: Deployment, now: dt.datetime, *, commit: bool = True
) -> int:
    """The reminders due to citizens and the morning digests due to deputies (each once, by its key)."""
    now = utc(now)
    due = deployment.reception
    store = ReceptionStore(session)
    names = await directory(session, deployment)
    queued = 0
    async with _unit(session, commit):
        for booking in await store.booked_starting_between(now, now + dt.timedelta(days=2)):
            slot = await store.slot(booking.slot_id)
            assert slot is not None
            for kind in rules.reminders_due(booking.created_at, slot.starts_at, now, due):
                facts = booking_facts(booking, slot_view(slot, slot.session, names), slot.session, names)
                queued += await _push(
                    session,
                    [_reminder(facts, kind)],
                    now,
                    conversation_id=booking.conversation_id,
                    citizen_id=booking.citizen_id,
                )
        today = local_today(now)
        for row in await store.sessions_between(today, today):
            if row.closed or not rules.digest_due(row.starts_at, row.ends_at, now, due):
                continue
            slots = {s.id: s for s in row.slots}
            booked = [
                booking_facts(b, slot_view(slots[b.slot_id], row, names), row, names)
                for b in await store.bookings_of_sessions([row.id])
            ]
            for code in row.deputies:
                queued += await _push(
                    session, [_digest(session_facts(row, names), code, booked)], now, deputies=_ids(names, [code])
                )
    return queued


async def reception_deeds(
    session: AsyncSession, deployment: Deployment, start: dt.datetime, end: dt.datetime
) -> list[Deed]:
    """Deeds for the deputies' points from the outcomes of sessions held in [start, end) (reads only), dated when
    the session was held: an outcome recorded after New Year's Day for a session of late December counts in the
    old year."""
    codes = (await directory(session, deployment)).station_codes
    rows = [
        OutcomeRow(
            booking_id=b.id,
            number=b.number,
            session_id=s.id,
            session_day=s.day,
            station=codes.get(s.station_id, ""),
            outcome=b.outcome or "",
            received_by=b.received_by,
            at=s.starts_at,
        )
        for b, s in await ReceptionStore(session).outcomes_between(start, end)
    ]
    return rules.deeds_from_outcomes(rows)


# Helpers


def _staff_only(actor: Actor) -> None:
    if actor.role not in STAFF_ROLES:
        raise Refused("forbidden_role", staff_texts.RECEPTION_STAFF_ONLY)


async def _session(session: AsyncSession, key: str) -> ReceptionSession:
    row = await ReceptionStore(session).session_by_key(key)
    if row is None:
        raise Refused("not_found", staff_texts.RECEPTION_NO_SESSION.format(key=key))
    return row


def _ids(names: Directory, codes: Sequence[str]) -> list[int]:
    return [names.deputy_ids[c] for c in codes if c in names.deputy_ids]


async def _push(
    session: AsyncSession,
    notices: list[Notice],
    now: dt.datetime,
    *,
    conversation_id: int | None = None,
    citizen_id: int | None = None,
    deputies: Sequence[int] = (),
) -> int:
    return await queue_direct(
        PushStore(session),
        RecipientStore(session),
        notices,
        now,
        conversation_id=conversation_id,
        citizen_id=citizen_id,
        deputy_ids=deputies,
    )


# The pushes: who is told what (`casework.bookings` says when), in the words of `texts`


def _brief(text: str, limit: int = 40) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "…"


def _names(slot: SlotView) -> str:
    return "、".join(slot.deputies) or citizen_texts.BOOKING_ON_DUTY


def _booked(facts: BookingFacts, moved_from: SlotView | None = None) -> Notice:
    """To the deputies on duty: a new booking (or one moved to their session)."""
    head = deputy_texts.BOOKING_MOVED_HERE.format(old=moved_from.label) if moved_from else deputy_texts.BOOKING_NEW
    call = deputy_texts.BOOKING_CALL_BACK.format(phone=facts.phone) if facts.phone else ""
    return Notice(
        "booking",
        DEPUTY,
        deputy_texts.BOOKING_BOOKED.format(
            head=head,
            slot=facts.slot.label,
            station=facts.slot.station,
            number=facts.number,
            topic=_brief(facts.topic, 100),
            call=call,
            booked=facts.slot.booked,
            capacity=facts.slot.capacity,
        ),
        f"booking:{facts.id}:booked",
    )


def _cancelled(facts: BookingFacts, reason: str, moved_to: SlotView | None = None) -> Notice:
    """To the deputies on duty: a booking of their session was cancelled or moved away."""
    if moved_to:
        head, what = (
            deputy_texts.BOOKING_MOVED_AWAY_HEAD,
            deputy_texts.BOOKING_MOVED_AWAY_WHAT.format(slot=moved_to.label),
        )
    else:
        head, what = deputy_texts.BOOKING_CANCELLED_HEAD, deputy_texts.BOOKING_CANCELLED_WHAT.format(reason=reason)
    return Notice(
        "booking",
        DEPUTY,
        deputy_texts.BOOKING_CANCELLED.format(
            head=head, slot=facts.slot.label, number=facts.number, topic=_brief(facts.topic, 30), what=what
        ),
        f"booking:{facts.id}:cancelled",
    )


def _reminder(facts: BookingFacts, kind: str) -> Notice:
    """To the citizen: the day before, or a couple of hours before."""
    if kind == "day_before":
        text = citizen_texts.BOOKING_REMIND_DAY_BEFORE.format(
            slot=facts.slot.label,
            station=facts.slot.station,
            deputies=_names(facts.slot),
            number=facts.number,
            address=facts.address,
        )
    else:
        text = citizen_texts.BOOKING_REMIND_HOURS_BEFORE.format(
            start=f"{facts.slot.starts_at.astimezone(LOCAL):%H:%M}", number=facts.number, address=facts.address
        )
    return Notice("booking", CITIZEN, text, f"booking:{facts.id}:remind:{kind}", citizen_texts.BOOKING_BUTTONS)


def _session_closed(facts: BookingFacts, reason: str) -> Notice:
    """To the citizen: the station closed the session of their booking."""
    return Notice(
        "booking",
        CITIZEN,
        citizen_texts.BOOKING_SESSION_CLOSED.format(slot=facts.slot.label, reason=reason, number=facts.number),
        f"booking:{facts.id}:closed",
    )


def _wait_closed(slot: SlotView, wait_id: int, reason: str) -> Notice:
    return Notice(
        "booking",
        CITIZEN,
        citizen_texts.BOOKING_WAIT_CLOSED.format(slot=slot.label, reason=reason),
        f"wait:{wait_id}:closed",
    )


def _deputies_changed(facts: BookingFacts, stamp: str) -> Notice:
    """To the citizen: other deputies will receive them."""
    return Notice(
        "booking",
        CITIZEN,
        citizen_texts.BOOKING_DEPUTIES_CHANGED.format(
            slot=facts.slot.label, number=facts.number, deputies=_names(facts.slot)
        ),
        f"booking:{facts.id}:deputies:{stamp}",
    )


def _offer(slot: SlotView, wait_id: int, expires_at: dt.datetime) -> Notice:
    """To the first on the waiting list: a place is held for them until `expires_at`."""
    until = expires_at.astimezone(LOCAL)
    return Notice(
        "booking",
        CITIZEN,
        citizen_texts.BOOKING_OFFER.format(
            slot=slot.label, station=slot.station, month=until.month, day=until.day, time=f"{until:%H:%M}"
        ),
        f"wait:{wait_id}:offer",
        citizen_texts.OFFER_BUTTONS,
    )


def _offer_lapsed(slot: SlotView, wait_id: int) -> Notice:
    return Notice(
        "booking", CITIZEN, citizen_texts.BOOKING_OFFER_LAPSED.format(slot=slot.label), f"wait:{wait_id}:expired"
    )


def _case_opened(facts: BookingFacts, case_number: str, deputy: str) -> Notice:
    return Notice(
        "booking",
        CITIZEN,
        citizen_texts.BOOKING_CASE_OPENED.format(slot=facts.slot.label, case_number=case_number, deputy=deputy),
        f"booking:{facts.id}:case",
    )


def _digest(session: SessionFacts, deputy_code: str, bookings: Sequence[BookingFacts]) -> Notice:
    """To one deputy on duty, the morning of the session: the day's bookings."""
    kind = deputy_texts.RECEPTION_DIGEST_COUNCIL if session.kind == "council" else ""
    if bookings:
        lines = "\n".join(
            deputy_texts.RECEPTION_DIGEST_LINE.format(
                n=i,
                start=f"{b.slot.starts_at.astimezone(LOCAL):%H:%M}",
                number=b.number,
                topic=_brief(b.topic, 40),
                call=deputy_texts.RECEPTION_DIGEST_CALL_BACK.format(phone=b.phone) if b.phone else "",
            )
            for i, b in enumerate(bookings, 1)
        )
        body = deputy_texts.RECEPTION_DIGEST_BOOKINGS.format(count=len(bookings), lines=lines)
    else:
        body = deputy_texts.RECEPTION_DIGEST_EMPTY
    return Notice(
        "booking",
        DEPUTY,
        deputy_texts.RECEPTION_DIGEST.format(slot=session.label, kind=kind, station=session.station, body=body),
        f"reception:{session.key}:digest:{deputy_code}",
    )


def _duty_assigned(session: SessionFacts, count: int, stamp: str) -> Notice:
    return Notice(
        "booking",
        DEPUTY,
        deputy_texts.RECEPTION_ASSIGNED.format(slot=session.label, station=session.station, count=count),
        f"reception:{session.key}:assigned:{stamp}",
    )


def _duty_released(session: SessionFacts, stamp: str) -> Notice:
    return Notice(
        "booking",
        DEPUTY,
        deputy_texts.RECEPTION_RELEASED.format(
            slot=session.label,
            station=session.station,
            deputies="、".join(session.deputies) or deputy_texts.RECEPTION_RELEASED_OTHERS,
        ),
        f"reception:{session.key}:released:{stamp}",
    )


def _duty_cancelled(session: SessionFacts, reason: str, count: int) -> Notice:
    return Notice(
        "booking",
        DEPUTY,
        deputy_texts.RECEPTION_CANCELLED.format(
            slot=session.label, station=session.station, reason=reason, count=count
        ),
        f"reception:{session.key}:closed",
    )
