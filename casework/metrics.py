"""The figures of the loop (办结率, 满意率, on-time rates...) per department, station, deputy or month.

Pure functions on plain rows, no I/O: `case_record` reduces a case's history to the facts the figures
need, `figures_by` groups the records and counts. How each figure is counted:

- received (受理): the cases of the period (the callers pick the cases received in a Beijing-time month).
- transferred within the limit (24小时转办率): of the cases that had to be transferred — transferred, or
  still 已受理 when their transfer deadline passed — those transferred by their `transfer_due_at`.
  A case answered on the spot, rejected or withdrawn before that deadline never had to be.
- handled on time (按期办理率): of the cases that had to be answered — answered, or still open and
  unanswered when the deadline of their first answer passed — those whose first answer (an approved
  reply or an on-the-spot answer) came by that deadline.
- closed (办结率): cases now 已办结, over the cases received.
- satisfied (满意率): cases whose latest rating is 满意 or 基本满意, over the cases rated at least once.
- unrated: cases closed as 逾期未评价. Re-handled, escalated: cases that went to 重新办理 / 已升级.
- median handling time: working days from the day received to the day of the first answer
  (`WorkingCalendar.working_days_between`, Beijing dates), over the answered cases.

Two roads lead to the same counts. `case_record` and `tally` reduce one case's history to a `Tally` of one
case; the console's figures instead ask the database for tallies of many cases at once (storage/figures.py
counts the same facts with GROUP BY, one tally per group, day received and day first answered). Either
way `combine` is the one place that adds tallies up into `Figures` and computes the rates and the median.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from casework.cases import CaseState
from casework.deadlines import LOCAL, end_of_day
from casework.history import CaseHistory, EventRow
from casework.lifecycle import SATISFIED, Action
from casework.workdays import WorkingCalendar
from texts import staff as texts

Grouping = Literal["department", "station", "deputy", "month"]
GROUPINGS: dict[str, str] = texts.GROUPINGS
NO_DEPARTMENT = texts.NO_DEPARTMENT
NO_DEPUTY = texts.NO_DEPUTY
ANSWERS = frozenset({Action.APPROVE_REPLY.value, Action.ANSWER_ON_SPOT.value})


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in Beijing time, written 2026-11."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """'2026-11' -> Month; ValueError with a Chinese message otherwise."""
        match = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(texts.BAD_MONTH.format(text=text))
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def of(cls, moment: dt.datetime) -> Month:
        """The Beijing-time month of an aware moment."""
        local = moment.astimezone(LOCAL)
        return cls(local.year, local.month)

    # Cached: the lists ask whether each of tens of thousands of moments is in the month.
    @functools.cached_property
    def start(self) -> dt.datetime:
        return dt.datetime(self.year, self.month, 1, tzinfo=LOCAL)

    @functools.cached_property
    def end(self) -> dt.datetime:
        """The start of the next month (periods are half-open)."""
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return dt.datetime(year, month, 1, tzinfo=LOCAL)

    @property
    def label(self) -> str:
        return texts.MONTH_LABEL.format(year=self.year, month=self.month)

    @functools.cached_property
    def _utc_bounds(self) -> tuple[dt.datetime, dt.datetime]:
        return self.start.astimezone(dt.UTC), self.end.astimezone(dt.UTC)

    def __contains__(self, moment: dt.datetime) -> bool:
        # The moments asked about are UTC (casework.history): against bounds in the same zone, Python compares them
        # without asking either for its offset (2.4 µs to 0.1).
        start, end = self._utc_bounds
        return start <= moment < end

    def plus(self, months: int) -> Month:
        """The month `months` later (earlier when negative): Month(2026, 1).plus(-1) is 2025-12."""
        index = self.year * 12 + self.month - 1 + months
        return Month(index // 12, index % 12 + 1)

    def days(self) -> list[dt.date]:
        """Every day of the month, in order."""
        first = self.start.date()
        return [first + dt.timedelta(days=n) for n in range((self.end.date() - first).days)]

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """[1 January, next 1 January) of a Beijing-time year."""
    return dt.datetime(year, 1, 1, tzinfo=LOCAL), dt.datetime(year + 1, 1, 1, tzinfo=LOCAL)


def local_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(LOCAL).date()


@dataclass(frozen=True)
class CaseRecord:
    """What the figures need to know about one case (aware datetimes).

    `reply_due_at` is the deadline of the first answer (re-handling sets a new one on the case, which
    does not count here). `left_received_at`: when the case first left 已受理, however it did.
    `ratings`: the citizen's ratings, oldest first.
    """

    number: str
    state: CaseState
    topic: str
    department: str | None
    station: str
    deputy: str | None
    received_at: dt.datetime
    transfer_due_at: dt.datetime
    reply_due_at: dt.datetime
    transferred_at: dt.datetime | None = None
    left_received_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    closed_at: dt.datetime | None = None
    ratings: tuple[str, ...] = ()
    closed_unrated: bool = False
    rehandled: bool = False
    escalated: bool = False

    @property
    def month(self) -> Month:
        return Month.of(self.received_at)

    def working_days_to_answer(self, calendar: WorkingCalendar) -> int | None:
        if self.answered_at is None:
            return None
        return calendar.working_days_between(local_date(self.received_at), local_date(self.answered_at))

    @property
    def answered_on_time(self) -> bool | None:
        return None if self.answered_at is None else self.answered_at <= self.reply_due_at


def first_answer_due(received_at: dt.datetime, calendar: WorkingCalendar, reply_working_days: int) -> dt.datetime:
    """The deadline of a case's first answer, as registration set it (casework.deadlines)."""
    return end_of_day(calendar.add_working_days(local_date(received_at), reply_working_days))


def first_answer_deadline(
    received_at: dt.datetime,
    reply_due_at: dt.datetime,
    rehandled: bool,
    calendar: WorkingCalendar,
    reply_working_days: int,
) -> dt.datetime:
    """The deadline of a case's first answer: the one stored on the case (`reply_due_at`), but for a re-handled
    case, whose deadline re-handling replaced, the one registration set, counted again from receipt."""
    return first_answer_due(received_at, calendar, reply_working_days) if rehandled else reply_due_at


@dataclass(frozen=True)
class EventKinds:
    """Which events of a case matter to a reader: those of one of `actions`, those into one of `into`, those out
    of one of `out_of`."""

    actions: frozenset[str]
    into: frozenset[str]
    out_of: frozenset[str]

    def __contains__(self, event: EventRow) -> bool:
        return event.action in self.actions or event.to_state in self.into or event.from_state in self.out_of


# The events `case_record` reads: a case's other events change none of its facts (tests/unit/casework).
RECORD_EVENTS = EventKinds(
    actions=frozenset({Action.TRANSFER.value, Action.CLOSE_UNRATED.value, *ANSWERS}),
    into=frozenset({CaseState.REHANDLING.value, CaseState.ESCALATED.value}),
    out_of=frozenset({CaseState.RECEIVED.value}),
)


@dataclass(frozen=True)
class Milestones:
    """The facts of a case that its events settle once and for all: when it was first transferred, first left
    已受理 (however it did), first answered (an approved reply or an answer on the spot), and whether it was ever
    closed unrated, re-handled or escalated.

    `after` is the one rule: `case_record` folds a history's events through it, and services/cases.py
    `record_event` applies it to each event as it is written and keeps the result on the case row, so that the
    figures count the cases alone (storage/figures.py). An event that settles nothing gives the same object."""

    transferred_at: dt.datetime | None = None
    left_received_at: dt.datetime | None = None
    answered_at: dt.datetime | None = None
    closed_unrated: bool = False
    rehandled: bool = False
    escalated: bool = False

    def after(self, action: str, from_state: str | None, to_state: str, at: dt.datetime) -> Milestones:
        """The milestones once an event of `action`, from `from_state` to `to_state`, happened at `at`."""
        changes: dict[str, dt.datetime | bool] = {}
        if self.transferred_at is None and action == Action.TRANSFER:
            changes["transferred_at"] = at
        if self.left_received_at is None and from_state == CaseState.RECEIVED and to_state != CaseState.RECEIVED:
            changes["left_received_at"] = at
        if self.answered_at is None and action in ANSWERS:
            changes["answered_at"] = at
        if not self.closed_unrated and action == Action.CLOSE_UNRATED:
            changes["closed_unrated"] = True
        if not self.rehandled and to_state == CaseState.REHANDLING:
            changes["rehandled"] = True
        if not self.escalated and to_state == CaseState.ESCALATED:
            changes["escalated"] = True
        return dataclasses.replace(self, **changes) if changes else self  # type: ignore[arg-type]

    @classmethod
    def of(cls, events: Iterable[EventRow]) -> Milestones:
        """The milestones of a case with these events, oldest first."""
        found = cls()
        for e in events:
            found = found.after(e.action, e.from_state, e.to_state, e.at)
        return found


def case_record(history: CaseHistory, calendar: WorkingCalendar, reply_working_days: int) -> CaseRecord:
    """The facts of one case, read from its events (the source of truth) and ratings."""
    settled = Milestones.of(history.events)
    reply_due_at = first_answer_deadline(
        history.created_at, history.reply_due_at, settled.rehandled, calendar, reply_working_days
    )
    return CaseRecord(
        number=history.number,
        state=CaseState(history.state),
        topic=history.topic,
        department=history.department,
        station=history.station,
        deputy=history.deputy_name,
        received_at=history.created_at,
        transfer_due_at=history.transfer_due_at,
        reply_due_at=reply_due_at,
        transferred_at=settled.transferred_at,
        left_received_at=settled.left_received_at,
        answered_at=settled.answered_at,
        closed_at=history.closed_at,
        ratings=tuple(r.rating for r in history.ratings),
        closed_unrated=settled.closed_unrated,
        rehandled=settled.rehandled,
        escalated=settled.escalated,
    )


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


@dataclass(frozen=True)
class Figures:
    """The counts of one group of cases; the rates are percentages (one decimal), None when nothing to count."""

    group: str
    received: int = 0
    transfers_due: int = 0
    transferred_on_time: int = 0
    answers_due: int = 0
    answered_on_time: int = 0
    closed: int = 0
    rated: int = 0
    satisfied: int = 0
    unrated: int = 0
    rehandled: int = 0
    escalated: int = 0
    median_working_days: float | None = None
    key: str = ""  # what names the group in a link to its cases (a department's id...); "" when unknown

    @property
    def transfer_rate(self) -> float | None:
        return _percent(self.transferred_on_time, self.transfers_due)

    @property
    def on_time_rate(self) -> float | None:
        return _percent(self.answered_on_time, self.answers_due)

    @property
    def closed_rate(self) -> float | None:
        """办结率."""
        return _percent(self.closed, self.received)

    @property
    def satisfaction_rate(self) -> float | None:
        """满意率."""
        return _percent(self.satisfied, self.rated)

    def as_dict(self) -> dict[str, str | int | float | None]:
        return {
            "group": self.group,
            "received": self.received,
            "transfers_due": self.transfers_due,
            "transferred_on_time": self.transferred_on_time,
            "transfer_rate": self.transfer_rate,
            "answers_due": self.answers_due,
            "answered_on_time": self.answered_on_time,
            "on_time_rate": self.on_time_rate,
            "closed": self.closed,
            "closed_rate": self.closed_rate,
            "rated": self.rated,
            "satisfied": self.satisfied,
            "satisfaction_rate": self.satisfaction_rate,
            "unrated": self.unrated,
            "rehandled": self.rehandled,
            "escalated": self.escalated,
            "median_working_days": self.median_working_days,
        }


@dataclass(frozen=True)
class Tally:
    """How many cases of one group, received on one day (Beijing) and first answered on another (None: not
    yet), count towards each figure. One case makes a tally of 1 (`tally`); the database sums many
    (storage/figures.py). `key` names the group for a link to its cases (a department's id...), if known."""

    group: str
    received_on: dt.date
    answered_on: dt.date | None = None
    cases: int = 1
    transfers_due: int = 0
    transferred_on_time: int = 0
    answers_due: int = 0
    answered_on_time: int = 0
    closed: int = 0
    rated: int = 0
    satisfied: int = 0
    unrated: int = 0
    rehandled: int = 0
    escalated: int = 0
    key: str = ""


# The counts a tally holds, in the order of `Figures`.
COUNTS = (
    "transfers_due",
    "transferred_on_time",
    "answers_due",
    "answered_on_time",
    "closed",
    "rated",
    "satisfied",
    "unrated",
    "rehandled",
    "escalated",
)


def tally(record: CaseRecord, group: str, as_of: dt.datetime) -> Tally:
    """What one case counts towards, as of `as_of` (what is still open is judged against that moment)."""
    r = record
    transfer_due = r.transferred_at is not None or r.transfer_due_at < (r.left_received_at or as_of)
    answer_due = r.answered_at is not None or r.reply_due_at < (r.closed_at or as_of)
    return Tally(
        group=group,
        received_on=local_date(r.received_at),
        answered_on=None if r.answered_at is None else local_date(r.answered_at),
        transfers_due=int(transfer_due),
        transferred_on_time=int(r.transferred_at is not None and r.transferred_at <= r.transfer_due_at),
        answers_due=int(answer_due),
        answered_on_time=int(bool(r.answered_on_time)),
        closed=int(r.state is CaseState.CLOSED),
        rated=int(bool(r.ratings)),
        satisfied=int(bool(r.ratings) and r.ratings[-1] in SATISFIED),
        unrated=int(r.closed_unrated),
        rehandled=int(r.rehandled),
        escalated=int(r.escalated),
    )


def weighted_median(values: Iterable[tuple[int, int]]) -> float | None:
    """The median of values given as (value, how many times): what `statistics.median` gives of the list
    with each value repeated, the mean of the two middle ones when the count is even."""
    ordered = sorted((value, count) for value, count in values if count > 0)
    total = sum(count for _, count in ordered)
    if not total:
        return None
    middle = ((total - 1) // 2, total // 2)  # the positions of the middle values, from 0
    found: list[int] = []
    seen = 0
    for value, count in ordered:
        found += [value for position in middle if seen <= position < seen + count]
        seen += count
    return float(statistics.mean(found))


def combine(
    group: str,
    tallies: Iterable[Tally],
    calendar: WorkingCalendar,
    key: str = "",
    spans: dict[tuple[dt.date, dt.date], int] | None = None,
) -> Figures:
    """The figures of some tallies added up: the counts summed, the median of the working days from receipt
    to the first answer over the answered cases. `spans`: the working days of each (received, answered) pair
    counted so far, shared by the callers that combine the same days (each group of a report and its total)."""
    counts: dict[str, int] = defaultdict(int)
    days: dict[int, int] = defaultdict(int)
    spans = {} if spans is None else spans
    for t in tallies:
        counts["received"] += t.cases
        for name in COUNTS:
            counts[name] += getattr(t, name)
        if t.answered_on is not None:
            span = (t.received_on, t.answered_on)
            if span not in spans:
                spans[span] = calendar.working_days_between(*span)
            days[spans[span]] += t.cases
    return Figures(group=group, median_working_days=weighted_median(days.items()), key=key, **counts)


def figures(group: str, records: Iterable[CaseRecord], calendar: WorkingCalendar, as_of: dt.datetime) -> Figures:
    """The figures of `records` as of `as_of` (what is still open is judged against that moment)."""
    return combine(group, (tally(r, group, as_of) for r in records), calendar)


def group_of(record: CaseRecord, by: Grouping) -> str:
    match by:
        case "department":
            return record.department or NO_DEPARTMENT
        case "station":
            return record.station
        case "deputy":
            return record.deputy or NO_DEPUTY
        case "month":
            return str(record.month)
    raise ValueError(f"unknown grouping {by!r}")


@dataclass(frozen=True)
class FiguresReport:
    by: Grouping
    as_of: dt.datetime
    groups: tuple[Figures, ...]
    total: Figures


def figures_by(
    records: Iterable[CaseRecord], by: Grouping, calendar: WorkingCalendar, as_of: dt.datetime
) -> FiguresReport:
    """The figures of each group (sorted by name) and of all the records together."""
    return report_of([tally(r, group_of(r, by), as_of) for r in records], by, calendar, as_of)


def report_of(tallies: Iterable[Tally], by: Grouping, calendar: WorkingCalendar, as_of: dt.datetime) -> FiguresReport:
    """The figures of each group of tallies (sorted by name, then key) and of them all."""
    tallies = list(tallies)
    groups: dict[tuple[str, str], list[Tally]] = defaultdict(list)
    for t in tallies:
        groups[(t.group, t.key)].append(t)
    spans: dict[tuple[dt.date, dt.date], int] = {}
    return FiguresReport(
        by=by,
        as_of=as_of,
        groups=tuple(combine(name, members, calendar, key, spans) for (name, key), members in sorted(groups.items())),
        total=combine(texts.TOTAL, tallies, calendar, spans=spans),
    )


def on_the_spot_answer(event: EventRow) -> str:
    """The answer given on the spot, from its event's reason ("人大代表当场答复：…")."""
    return answer_in_reason(event.reason)


def answer_in_reason(reason: str) -> str:
    """The answer an answer-on-the-spot event's reason holds: "人大代表当场答复：已解决" -> "已解决"."""
    _, found, answer = reason.partition(texts.EVENT_ANSWERED_ON_SPOT_MARK)
    return answer.strip() if found else reason
