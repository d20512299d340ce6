"""The rules of reception bookings. Pure: plain data in, decisions out; no I/O, no clock (now is passed in).

- A citizen holds at most one active booking per week (the ISO week of the slot, Beijing time).
- A booking may be cancelled or changed up to `change_hours` (2) before its slot. A citizen who
  answers 取消 to a reminder cancels at once, even past the cut-off if they answer within half an
  hour of it (the two-hour reminder comes at the cut-off; better a late word than an empty chair).
- A full slot offers its waiting list. A freed place is held for the first in line for
  `offer_minutes`, never past a quarter of an hour before the slot; unanswered, it goes to the next.
- Reminders: the day before (at `reminder_day_before_at`) and `reminder_hours_before` (2) hours
  before; a reminder whose time passed before the booking was made is not sent.
- The deputies on duty get every booking, change and cancellation of their sessions, and a
  digest of the day's bookings at `digest_at` on the day.
- Who is told of what (the wording is in `texts`, the pushes are queued by `services.reception`):
  the deputies on duty of every booking, change and cancellation, and the day's digest; the citizen of
  reminders, a closed session, other deputies, a held place and its lapse, a case opened from the booking.
- Outcomes after the session: attended, absent, answered (with the answer), case (a case is
  registered, followed by the deputy). The deputy who received citizens in a session earns the
  duty ("attended") once for it; each outcome is a deed of its own ("booking_answered"...).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from casework.dates import When
from casework.deadlines import LOCAL
from casework.errors import Refusal
from casework.points import Deed
from settings.deployment import WEEKDAYS, Reception
from texts import citizen as texts

OUTCOMES = ("attended", "absent", "answered", "case")
RECEIVED = frozenset({"attended", "answered", "case"})
RECEPTION = "reception"
# A place freed so close to its slot is not offered to the waiting list: nobody could come in time.
OFFER_MIN_LEAD = dt.timedelta(minutes=15)
# A 取消 answering a reminder this soon after it cancels even past the cut-off, until the slot starts.
REMINDER_REPLY_GRACE = dt.timedelta(minutes=30)


class Refused(Refusal):
    """A booking operation the rules do not allow; `code` for programs, `message` (Chinese, from `texts`,
    set by `services.reception`) for people."""


@dataclass(frozen=True)
class SlotView:
    """What a citizen or a rule needs to know of a slot: when, where, who, how full."""

    id: int
    session_key: str
    station: str  # the station's name
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    capacity: int
    booked: int
    deputies: tuple[str, ...]  # names
    closed: bool = False
    address: str = ""

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked)

    @property
    def week(self) -> str:
        return week_of(self.starts_at)

    @property
    def label(self) -> str:
        return slot_label(self.starts_at, self.ends_at)


@dataclass(frozen=True)
class Proposal:
    """The slots to offer a citizen for what they asked.

    `slots`: open slots to choose from, best first. `matched`: they answer the question (otherwise
    they are the nearest open slots instead). `full`: the slot at the time asked for (or, when no
    slot answers, the first that would) when it is full: its waiting list can be offered.
    `week_taken`: what was asked falls in a week the citizen already has a booking in. `past`: every
    day asked for has passed.
    """

    slots: tuple[SlotView, ...]
    matched: bool
    full: SlotView | None = None
    week_taken: bool = False
    past: bool = False


def week_of(moment: dt.datetime) -> str:
    year, week, _ = moment.astimezone(LOCAL).isocalendar()
    return f"{year}-W{week:02d}"


def slot_label(start: dt.datetime, end: dt.datetime) -> str:
    """11月26日（周四）14:30-15:00, in Beijing time."""
    local, until = start.astimezone(LOCAL), end.astimezone(LOCAL)
    return texts.SLOT_LABEL.format(
        month=local.month,
        day=local.day,
        weekday=WEEKDAYS[local.weekday()],
        start=f"{local:%H:%M}",
        end=f"{until:%H:%M}",
    )


def format_booking_number(prefix: str, day: dt.date, sequence: int) -> str:
    """YY20261124001: prefix, the local day it was made, the day's sequence."""
    return f"{prefix}{day:%Y%m%d}{sequence:03d}"


def propose(
    slots: Sequence[SlotView], asked: When, now: dt.datetime, weeks_taken: Iterable[str] = (), limit: int = 5
) -> Proposal:
    """The nearest open slots answering `asked` (all open slots when nothing was asked), soonest first,
    or by closeness to the time asked; when none answers, the nearest open ones after it."""
    taken = set(weeks_taken)
    today = now.astimezone(LOCAL).date()
    future = sorted((s for s in slots if not s.closed and s.starts_at > now), key=lambda s: s.starts_at)
    bookable = [s for s in future if s.week not in taken]
    matching = [s for s in future if asked.admits(s.starts_at.astimezone(LOCAL))]
    open_matching = [s for s in matching if s.free > 0 and s.week not in taken]
    if asked.at is not None:
        open_matching.sort(
            key=lambda s: (s.starts_at.astimezone(LOCAL).date(), asked.distance(s.starts_at.astimezone(LOCAL)))
        )
    week_taken = bool(matching) and all(s.week in taken for s in matching)
    candidates = [s for s in matching if s.week not in taken]
    full = next((s for s in candidates if s.free == 0), None)
    if asked.at is not None and candidates:
        # The slot at the time asked for, when it is full, is offered with its waiting list beside the others.
        closest = min(
            candidates,
            key=lambda s: (s.starts_at.astimezone(LOCAL).date(), asked.distance(s.starts_at.astimezone(LOCAL))),
        )
        full = closest if closest.free == 0 else None
    if open_matching:
        return Proposal(tuple(open_matching[:limit]), matched=True, full=full)
    after = asked.first or today
    alternatives = [s for s in bookable if s.free > 0 and s.starts_at.astimezone(LOCAL).date() >= after]
    alternatives = alternatives or [s for s in bookable if s.free > 0]
    return Proposal(
        tuple(alternatives[:limit]), matched=False, full=full, week_taken=week_taken, past=asked.is_past(today)
    )


def change_refused(slot_start: dt.datetime, now: dt.datetime, rules: Reception) -> str | None:
    """Why a booking of a slot starting at `slot_start` can no longer be cancelled or changed: "started",
    "too_late" (within `change_hours` of it); None while it still can."""
    if now >= slot_start:
        return "started"
    if now > slot_start - dt.timedelta(hours=rules.change_hours):
        return "too_late"
    return None


def answers_reminder(reminded_at: dt.datetime | None, slot_start: dt.datetime, now: dt.datetime) -> bool:
    """A 取消 sent within REMINDER_REPLY_GRACE of a reminder, before the slot starts, answers that reminder."""
    return reminded_at is not None and reminded_at <= now <= reminded_at + REMINDER_REPLY_GRACE and now < slot_start


def offer_deadline(now: dt.datetime, slot_start: dt.datetime, rules: Reception) -> dt.datetime | None:
    """Until when a freed place is held for the first on the waiting list; None: too late to offer it."""
    latest = slot_start - OFFER_MIN_LEAD
    if now >= latest:
        return None
    return min(now + dt.timedelta(minutes=rules.offer_minutes), latest)


def reminders_due(created_at: dt.datetime, slot_start: dt.datetime, now: dt.datetime, rules: Reception) -> list[str]:
    """The reminders of a booking due at `now`: "day_before" or "hours_before" (only the latest one)."""
    if now >= slot_start:
        return []
    hours_before = slot_start - dt.timedelta(hours=rules.reminder_hours_before)
    if now >= hours_before:
        return ["hours_before"] if created_at < hours_before else []
    local_start = slot_start.astimezone(LOCAL)
    day_before = dt.datetime.combine(
        local_start.date() - dt.timedelta(days=1), rules.reminder_day_before_at, tzinfo=LOCAL
    )
    if now >= day_before and created_at < day_before:
        return ["day_before"]
    return []


def digest_due(session_start: dt.datetime, session_end: dt.datetime, now: dt.datetime, rules: Reception) -> bool:
    """The deputies' digest of a session is due from `digest_at` on its day until the session ends."""
    day = session_start.astimezone(LOCAL).date()
    return dt.datetime.combine(day, rules.digest_at, tzinfo=LOCAL) <= now < session_end


# What bookings, waits and sessions look like to the pushes and the chat


@dataclass(frozen=True)
class BookingFacts:
    """A booking as the pushes tell it."""

    id: int
    number: str
    slot: SlotView
    topic: str
    phone: str | None
    address: str
    station_phone: str


@dataclass(frozen=True)
class WaitFacts:
    """A citizen's place on a slot's waiting list ("waiting", or "offered": a place is held for them)."""

    id: int
    slot: SlotView
    status: str


@dataclass(frozen=True)
class SessionFacts:
    key: str
    station: str
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    deputies: tuple[str, ...]  # names

    @property
    def label(self) -> str:
        return slot_label(self.starts_at, self.ends_at)


# Points


@dataclass(frozen=True)
class OutcomeRow:
    """A booking's recorded outcome with its session, for the deputies' points."""

    booking_id: int
    number: str
    session_id: int
    session_day: dt.date
    station: str  # code
    outcome: str
    received_by: str | None  # deputy code
    at: dt.datetime


def deeds_from_outcomes(rows: Iterable[OutcomeRow]) -> list[Deed]:
    """One "attended" deed per session and deputy who received citizens in it (the duty, source
    reception, ref reception:<day>:<station>); one "booking_<outcome>" deed per booking."""
    deeds: list[Deed] = []
    duty: set[tuple[int, str]] = set()
    for row in sorted(rows, key=lambda r: (r.at, r.booking_id)):
        if row.received_by is None:
            continue
        if (row.session_id, row.received_by) not in duty:
            duty.add((row.session_id, row.received_by))
            deeds.append(
                Deed(
                    source=RECEPTION,
                    kind="attended",
                    at=row.at,
                    ref=f"reception:{row.session_day.isoformat()}:{row.station}",
                    record_id=row.session_id,
                    actor=row.received_by,
                )
            )
        deeds.append(
            Deed(
                source=RECEPTION,
                kind=f"booking_{row.outcome}",
                at=row.at,
                ref=row.number,
                record_id=row.booking_id,
                actor=row.received_by,
            )
        )
    return deeds
