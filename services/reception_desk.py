"""The reception desk: a week of reception sessions as the console shows them, each with its deputies, its slots,
its bookings and its waiting list; and one booking line as a deputy reads it (services/deputy_page.py).

Reads only (but for making the rota's sessions of the coming weeks, `services.reception.ensure_sessions`). The
changes the desk makes (`act`) are the reception use cases themselves (`services.reception.perform`: close a
session, name its deputies, record a booking's outcome), once the desk's own rule (staff only) is checked.
Who reads which citizen's name, phone and words as written is `services.access`: staff as written, anyone else
masked (a deputy on duty reads the call-back phone).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.bookings import OUTCOMES
from casework.deadlines import LOCAL
from casework.errors import Forbidden, InvalidInput
from casework.workdays import WorkingCalendar
from services import access
from services.reception import Directory, directory, ensure_sessions, local_today, perform
from settings import TOPICS, Deployment
from settings.deployment import WEEKDAYS
from storage.models import Booking, BookingWait, Case, Citizen, ReceptionSession, ReceptionSlot
from storage.reception import ACTIVE, ReceptionStore
from texts import staff as texts

# The bookings a session lists: all but those moved to another slot (the new one is listed there).
LISTED = ("booked", "cancelled", "closed")


@dataclass(frozen=True)
class BookingLine:
    number: str
    time: str  # 14:30-15:00
    status: str
    status_label: str
    citizen: str
    phone: str | None
    topic: str
    cancel_reason: str
    outcome: str | None
    outcome_label: str | None
    outcome_note: str
    received_by: str | None  # the deputy's name
    case_number: str | None
    # The outcome may be recorded now: booked, its slot begun, none recorded yet.
    open_for_outcome: bool


@dataclass(frozen=True)
class WaitLine:
    time: str
    place: int  # 1 = next in line; 0 for a place already held for them
    status: str
    status_label: str
    citizen: str
    phone: str | None
    topic: str
    offer_expires_at: dt.datetime | None


@dataclass(frozen=True)
class SlotLine:
    time: str
    capacity: int
    booked: int

    @property
    def full(self) -> bool:
        return self.booked >= self.capacity


@dataclass(frozen=True)
class SessionCard:
    key: str
    kind: str
    kind_label: str
    station: str
    day: dt.date
    weekday: str
    time: str
    deputies: tuple[tuple[str, str], ...]  # (code, name) in rota order
    closed: bool
    close_reason: str
    changed_by: str | None
    started: bool
    ended: bool
    slots: tuple[SlotLine, ...]
    bookings: tuple[BookingLine, ...]
    waits: tuple[WaitLine, ...]

    @property
    def active_bookings(self) -> int:
        return sum(1 for b in self.bookings if b.status == ACTIVE)


@dataclass(frozen=True)
class Choices:
    """What the desk's forms offer."""

    deputies: tuple[tuple[str, str], ...]  # every deputy of config.yml: (code, name)
    topics: tuple[str, ...]
    outcomes: tuple[tuple[str, str], ...]  # (code, label)


@dataclass(frozen=True)
class Week:
    monday: dt.date
    today: dt.date
    days: tuple[tuple[dt.date, str, tuple[SessionCard, ...]], ...]  # Monday to Sunday: (day, weekday, sessions)
    choices: Choices

    @property
    def previous(self) -> dt.date:
        return self.monday - dt.timedelta(weeks=1)

    @property
    def next(self) -> dt.date:
        return self.monday + dt.timedelta(weeks=1)

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    @property
    def sessions(self) -> int:
        return sum(len(cards) for _, _, cards in self.days)


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def parse_week(text: str, today: dt.date) -> dt.date:
    """The Monday of the week holding the day `text` (2026-11-25), or of `today` when empty."""
    if not text:
        return monday_of(today)
    try:
        return monday_of(dt.date.fromisoformat(text))
    except ValueError:
        raise InvalidInput(texts.RECEPTION_DESK_BAD_WEEK) from None


async def reception_week(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    actor: Actor,
    week: str,
    now: dt.datetime,
) -> Week:
    """The week holding the day `week` (ISO date; empty: this week) at the desk: every session with its deputies,
    slots, bookings and waiting list. Staff only. Makes the rota's sessions of the coming weeks first (commits)."""
    _require_desk(actor)
    today = local_today(now)
    monday = parse_week(week, today)
    await ensure_sessions(session, deployment, calendar, now)
    rows = await ReceptionStore(session).sessions_between(monday, monday + dt.timedelta(days=6))
    cards = await session_cards(session, deployment, actor, rows, now)
    days = tuple(
        (
            monday + dt.timedelta(days=n),
            WEEKDAYS[n],
            tuple(c for c in cards if c.day == monday + dt.timedelta(days=n)),
        )
        for n in range(7)
    )
    return Week(monday=monday, today=today, days=days, choices=choices(deployment))


def choices(deployment: Deployment) -> Choices:
    return Choices(
        deputies=tuple((d.code, d.name) for d in deployment.deputies),
        topics=TOPICS,
        outcomes=tuple((code, texts.BOOKING_OUTCOME_LABELS[code]) for code in OUTCOMES),
    )


async def act(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    actor: Actor,
    key: str,
    operation: str,
    now: dt.datetime,
    **fields: Any,
) -> tuple[str, SessionCard | None]:
    """One of the desk's changes to the session `key`: "close" (reason), "deputies" (deputies) or a booking's
    "outcome" (number, outcome, answer, deputy, topic), carried out by the reception use case
    (`services.reception.perform`, which commits); returns the line saying what was done and the session as it now
    is. Staff only, checked before anything changes. Raises Refused."""
    _require_desk(actor)
    done = await perform(session, deployment, calendar, actor, operation, now, key=key, **fields)
    return str(done["detail"]), await session_card(session, deployment, actor, key, now)


async def session_card(
    session: AsyncSession, deployment: Deployment, actor: Actor, key: str, now: dt.datetime
) -> SessionCard | None:
    """One session at the desk (after a change), or None when there is no such session. Staff only."""
    _require_desk(actor)
    row = await ReceptionStore(session).session_by_key(key)
    if row is None:
        return None
    [card] = await session_cards(session, deployment, actor, [row], now)
    return card


async def session_cards(
    session: AsyncSession,
    deployment: Deployment,
    actor: Actor,
    rows: Sequence[ReceptionSession],
    now: dt.datetime,
    *,
    statuses: Sequence[str] = LISTED,
) -> list[SessionCard]:
    """The sessions as `actor` reads them; the bookings of the sessions the actor may see, masked as access says."""
    store = ReceptionStore(session)
    names = await directory(session, deployment)
    seen = [r for r in rows if access.may_see_session_bookings(actor, r.deputies)]
    bookings = await store.bookings_of_sessions([r.id for r in seen], statuses)
    waits = await store.waits_of_slots([s.id for r in seen for s in r.slots])
    people = await _citizens(session, {b.citizen_id for b in bookings} | {w.citizen_id for w in waits})
    cases = await _case_numbers(session, {b.case_id for b in bookings if b.case_id is not None})
    public = await access.public_names(session)
    reader = _Reader(actor, people, public)
    cards = []
    for row in rows:
        slots = {s.id: s for s in row.slots}
        mine = [b for b in bookings if b.session_id == row.id]
        queue = [w for w in waits if w.slot_id in slots]
        cards.append(
            SessionCard(
                key=row.key,
                kind=row.kind,
                kind_label=texts.SESSION_KIND_LABELS.get(row.kind, row.kind),
                station=names.stations.get(row.station_id, ("",))[0],
                day=row.day,
                weekday=WEEKDAYS[row.day.weekday()],
                time=_time(row.starts_at, row.ends_at),
                deputies=tuple((code, names.deputy_names.get(code, code)) for code in row.deputies),
                closed=row.closed,
                close_reason=row.close_reason,
                changed_by=row.changed_by,
                started=row.starts_at <= now,
                ended=row.ends_at <= now,
                slots=tuple(SlotLine(_time(s.starts_at, s.ends_at), s.capacity, s.booked) for s in row.slots),
                bookings=tuple(reader.booking(b, slots[b.slot_id], names, cases, now) for b in mine),
                waits=_waits(reader, queue, slots),
            )
        )
    return cards


async def today_of_deputy(
    session: AsyncSession, deployment: Deployment, actor: Actor, now: dt.datetime
) -> list[SessionCard]:
    """Today's sessions the deputy is on duty for, with their bookings as the deputy reads them (active ones
    and those whose outcome they may record)."""
    rows = await ReceptionStore(session).sessions_between(local_today(now), local_today(now))
    mine = [r for r in rows if actor.deputy_code is not None and actor.deputy_code in r.deputies]
    return await session_cards(session, deployment, actor, mine, now, statuses=(ACTIVE,))


# Helpers


def _require_desk(actor: Actor) -> None:
    if not access.may_run_reception_desk(actor):
        raise Forbidden(texts.RECEPTION_DESK_STAFF_ONLY, code="forbidden_role")


def _time(start: dt.datetime, end: dt.datetime) -> str:
    return f"{start.astimezone(LOCAL):%H:%M}-{end.astimezone(LOCAL):%H:%M}"


class _Reader:
    """The booking citizens as the actor may read them (services.access)."""

    def __init__(self, actor: Actor, people: dict[int, tuple[str | None, str | None]], public: Collection[str]):
        self.actor = actor
        self.people = people
        self.public = public

    def citizen(self, citizen_id: int) -> str:
        name, _ = self.people.get(citizen_id, (None, None))
        return access.name_for(self.actor, name) or texts.CITIZEN_UNNAMED

    def phone(self, phone: str | None) -> str | None:
        return access.booking_phone_for(self.actor, phone)

    def words(self, citizen_id: int, text: str) -> str:
        name, _ = self.people.get(citizen_id, (None, None))
        return access.masked_for(self.actor, text, [name], self.public)

    def booking(
        self, b: Booking, slot: ReceptionSlot, names: Directory, cases: dict[int, str], now: dt.datetime
    ) -> BookingLine:
        return BookingLine(
            number=b.number,
            time=_time(slot.starts_at, slot.ends_at),
            status=b.status,
            status_label=texts.BOOKING_STATUS_LABELS.get(b.status, b.status),
            citizen=self.citizen(b.citizen_id),
            phone=self.phone(b.phone),
            topic=self.words(b.citizen_id, b.topic),
            cancel_reason=b.cancel_reason,
            outcome=b.outcome,
            outcome_label=texts.BOOKING_OUTCOME_LABELS.get(b.outcome or ""),
            outcome_note=self.words(b.citizen_id, b.outcome_note),
            received_by=names.deputy_names.get(b.received_by, b.received_by) if b.received_by else None,
            case_number=cases.get(b.case_id) if b.case_id is not None else None,
            open_for_outcome=b.status == ACTIVE and b.outcome is None and slot.starts_at <= now,
        )


def _waits(reader: _Reader, queue: Sequence[BookingWait], slots: dict[int, ReceptionSlot]) -> tuple[WaitLine, ...]:
    """The waiting lists of a session's slots, slot by slot, first in line first."""
    lines = []
    for slot_id, slot in slots.items():
        place = 0
        for w in (w for w in queue if w.slot_id == slot_id):
            place += w.status == "waiting"
            lines.append(
                WaitLine(
                    time=_time(slot.starts_at, slot.ends_at),
                    place=place if w.status == "waiting" else 0,
                    status=w.status,
                    status_label=texts.WAIT_STATUS_LABELS.get(w.status, w.status),
                    citizen=reader.citizen(w.citizen_id),
                    phone=reader.phone(w.phone),
                    topic=reader.words(w.citizen_id, w.topic),
                    offer_expires_at=w.offer_expires_at,
                )
            )
    return tuple(lines)


async def _citizens(session: AsyncSession, ids: set[int]) -> dict[int, tuple[str | None, str | None]]:
    if not ids:
        return {}
    rows = await session.execute(select(Citizen.id, Citizen.display_name, Citizen.phone).where(Citizen.id.in_(ids)))
    return {i: (name, phone) for i, name, phone in rows.all()}


async def _case_numbers(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(Case.id, Case.number).where(Case.id.in_(ids)))
    return {i: number for i, number in rows.all()}
