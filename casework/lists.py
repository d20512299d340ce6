"""The three public lists of a month (三张清单) and the masking that makes them fit to publish.

- 代表建议清单 (suggestions): the cases received in the month.
- 交办清单 (assignments): the cases transferred to a department in the month.
- 办理效果清单 (results): the cases that reached 已办结 or 已升级 in the month, with the answer and rating.

Lists are published, so identities are always masked, whoever reads them (DESIGN.md, Privacy): the
citizen's name and phone, and inside every text the names of people, phone numbers in every form,
ID-card numbers and the numbers of an address below the street (house, building, unit, room); the place
column is cut to the street (`casework.privacy`). The names of the deployment's deputies (`public`) stay.
Pure functions; no I/O but jieba's dictionary (see casework.privacy).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from casework.cases import CaseState
from casework.history import CaseHistory
from casework.lifecycle import Action
from casework.metrics import (
    ANSWERS,
    EventKinds,
    Milestones,
    Month,
    answer_in_reason,
    first_answer_deadline,
    local_date,
)
from casework.privacy import mask_name, mask_phone, mask_text, public_line, street_level
from casework.workdays import WorkingCalendar
from texts import public as texts

ListKind = Literal["suggestions", "assignments", "results"]
LIST_TITLES: dict[str, str] = texts.LIST_TITLES
RESULT_STATES = (CaseState.CLOSED.value, CaseState.ESCALATED.value)
# The events `listed_case` reads: a case's other events change nothing the lists show (tests/unit/casework).
LISTED_EVENTS = EventKinds(
    actions=frozenset({Action.TRANSFER.value, Action.CLOSE_UNRATED.value, *ANSWERS}),
    into=frozenset({CaseState.REHANDLING.value}),
    out_of=frozenset(),
)


def _column(header: str) -> Any:
    return field(metadata={"header": header})


@dataclass(frozen=True)
class SuggestionRow:
    """代表建议清单: one case received."""

    number: str = _column(texts.SUGGESTION_COLUMNS["number"])
    received_on: str = _column(texts.SUGGESTION_COLUMNS["received_on"])
    topic: str = _column(texts.SUGGESTION_COLUMNS["topic"])
    citizen: str = _column(texts.SUGGESTION_COLUMNS["citizen"])
    phone: str = _column(texts.SUGGESTION_COLUMNS["phone"])
    summary: str = _column(texts.SUGGESTION_COLUMNS["summary"])
    place: str = _column(texts.SUGGESTION_COLUMNS["place"])
    deputy: str = _column(texts.SUGGESTION_COLUMNS["deputy"])
    state: str = _column(texts.SUGGESTION_COLUMNS["state"])


@dataclass(frozen=True)
class AssignmentRow:
    """交办清单: one case transferred to a department."""

    number: str = _column(texts.ASSIGNMENT_COLUMNS["number"])
    transferred_on: str = _column(texts.ASSIGNMENT_COLUMNS["transferred_on"])
    topic: str = _column(texts.ASSIGNMENT_COLUMNS["topic"])
    summary: str = _column(texts.ASSIGNMENT_COLUMNS["summary"])
    place: str = _column(texts.ASSIGNMENT_COLUMNS["place"])
    department: str = _column(texts.ASSIGNMENT_COLUMNS["department"])
    reply_due: str = _column(texts.ASSIGNMENT_COLUMNS["reply_due"])
    state: str = _column(texts.ASSIGNMENT_COLUMNS["state"])


@dataclass(frozen=True)
class ResultRow:
    """办理效果清单: one case that reached a result."""

    number: str = _column(texts.RESULT_COLUMNS["number"])
    received_on: str = _column(texts.RESULT_COLUMNS["received_on"])
    ended_on: str = _column(texts.RESULT_COLUMNS["ended_on"])
    topic: str = _column(texts.RESULT_COLUMNS["topic"])
    summary: str = _column(texts.RESULT_COLUMNS["summary"])
    handled_by: str = _column(texts.RESULT_COLUMNS["handled_by"])
    answer: str = _column(texts.RESULT_COLUMNS["answer"])
    working_days: int | None = _column(texts.RESULT_COLUMNS["working_days"])
    on_time: str = _column(texts.RESULT_COLUMNS["on_time"])
    rating: str = _column(texts.RESULT_COLUMNS["rating"])
    result: str = _column(texts.RESULT_COLUMNS["result"])


Row = SuggestionRow | AssignmentRow | ResultRow


@dataclass(frozen=True)
class PublicList:
    """One of the three lists of a month: its rows, and the Chinese header of each column."""

    kind: ListKind
    month: Month
    row_type: type
    rows: tuple[Row, ...]

    @property
    def title(self) -> str:
        return LIST_TITLES[self.kind]

    @property
    def columns(self) -> tuple[tuple[str, str], ...]:
        """(field name, Chinese header) in order."""
        return tuple((f.name, f.metadata["header"]) for f in fields(self.row_type))

    def records(self) -> list[dict[str, Any]]:
        return [asdict(row) for row in self.rows]

    def table(self) -> list[list[Any]]:
        """The header row, then one row of values per case: what a sheet or CSV file holds."""
        names = [name for name, _ in self.columns]
        return [[header for _, header in self.columns]] + [[getattr(row, n) for n in names] for row in self.rows]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "title": self.title,
            "month": str(self.month),
            "columns": [{"key": key, "header": header} for key, header in self.columns],
            "rows": self.records(),
        }


@dataclass(frozen=True, slots=True)
class ListedCase:
    """What the lists read of one case: its own columns, with identities (masked when shown), and what its history
    says. Made of a `CaseHistory` by `listed_case`, or read so from the case store for a month's lists
    (storage/reports.py; tests/integration/test_figures.py holds the two equal).

    `reply_due_at` is the deadline stored on the case (re-handling replaces it; see `first_answer_deadline`).
    `transferred_at` and `answered_at`: its first transfer and first answer. `rating`: the citizen's latest.
    `reply`: the text of the latest approved reply. `spot_role` and `spot_reason`: who gave the latest answer
    on the spot (a role) and its event's reason, which holds the answer."""

    number: str
    state: str
    topic: str
    description: str
    place: str
    anonymous: bool
    citizen_name: str | None
    citizen_phone: str | None
    department: str | None
    deputy_name: str | None
    named_people: tuple[str, ...]
    merged_into: str | None
    escalation_level: str | None
    received_at: dt.datetime
    reply_due_at: dt.datetime
    closed_at: dt.datetime | None
    transferred_at: dt.datetime | None
    answered_at: dt.datetime | None
    rehandled: bool
    closed_unrated: bool
    rating: str | None
    reply: str | None
    spot_role: str | None
    spot_reason: str | None


def listed_case(history: CaseHistory) -> ListedCase:
    """What the lists read of a case, from its history (the events of `LISTED_EVENTS` are enough)."""
    events = history.events
    settled = Milestones.of(events)
    spot = next((e for e in reversed(events) if e.action == Action.ANSWER_ON_SPOT), None)
    return ListedCase(
        number=history.number,
        state=history.state,
        topic=history.topic,
        description=history.description,
        place=history.place,
        anonymous=history.anonymous,
        citizen_name=history.citizen_name,
        citizen_phone=history.citizen_phone,
        department=history.department,
        deputy_name=history.deputy_name,
        named_people=history.named_people,
        merged_into=history.merged_into,
        escalation_level=history.escalation_level,
        received_at=history.created_at,
        reply_due_at=history.reply_due_at,
        closed_at=history.closed_at,
        transferred_at=settled.transferred_at,
        answered_at=settled.answered_at,
        rehandled=settled.rehandled,
        closed_unrated=settled.closed_unrated,
        rating=history.ratings[-1].rating if history.ratings else None,
        reply=history.replies[-1].text if history.replies else None,
        spot_role=None if spot is None else spot.actor_role,
        spot_reason=None if spot is None else spot.reason,
    )


def _day(moment: dt.datetime | None) -> str:
    return local_date(moment).isoformat() if moment else ""


def _state_label(case: ListedCase) -> str:
    return CaseState(case.state).label


def _names(case: ListedCase) -> tuple[str | None, ...]:
    """The names a case's texts are known to hold: its citizen's and those the NLU found."""
    return (case.citizen_name, *case.named_people)


class _Shown:
    """What the lists show of the cases, worked out once per case however many of the three lists show it: its
    summary and its place, masked."""

    def __init__(self, public: Collection[str]) -> None:
        self.public = public
        self._summaries: dict[str, str] = {}
        self._places: dict[str, str] = {}

    def summary(self, case: ListedCase) -> str:
        found = self._summaries.get(case.number)
        if found is None:
            found = self._summaries[case.number] = public_line(case.description, _names(case), self.public)
        return found

    def place(self, case: ListedCase) -> str:
        """The place at street level, names masked: 阳光小区3栋2单元501室 -> 阳光小区."""
        found = self._places.get(case.number)
        if found is None:
            masked = mask_text(case.place, _names(case), self.public)
            found = self._places[case.number] = street_level(masked)
        return found


class _Deadlines:
    """The deadline of a case's first answer, and the working days it took, each pair of days counted once."""

    def __init__(self, calendar: WorkingCalendar, reply_working_days: int) -> None:
        self.calendar = calendar
        self.reply_working_days = reply_working_days
        self._working_days: dict[tuple[dt.date, dt.date], int] = {}

    def answer_due(self, case: ListedCase) -> dt.datetime:
        """The deadline of the case's first answer."""
        return first_answer_deadline(
            case.received_at, case.reply_due_at, case.rehandled, self.calendar, self.reply_working_days
        )

    def working_days_to_answer(self, case: ListedCase) -> int | None:
        if case.answered_at is None:
            return None
        span = (local_date(case.received_at), local_date(case.answered_at))
        found = self._working_days.get(span)
        if found is None:
            found = self._working_days[span] = self.calendar.working_days_between(*span)
        return found


def month_lists(
    month: Month,
    histories: Sequence[CaseHistory],
    calendar: WorkingCalendar,
    reply_working_days: int,
    public: Collection[str] = (),
) -> tuple[PublicList, PublicList, PublicList]:
    """代表建议清单, 交办清单 and 办理效果清单 of `month`, from the cases of any of them (each list keeps its own):
    the same lists as `suggestion_list`, `assignment_list` and `result_list`, each case masked once."""
    return lists_of(month, [listed_case(h) for h in histories], calendar, reply_working_days, public)


def lists_of(
    month: Month,
    cases: Sequence[ListedCase],
    calendar: WorkingCalendar,
    reply_working_days: int,
    public: Collection[str] = (),
) -> tuple[PublicList, PublicList, PublicList]:
    """`month_lists` of cases already read as `ListedCase`."""
    shown, deadlines = _Shown(public), _Deadlines(calendar, reply_working_days)
    return (
        _suggestions(month, cases, shown),
        _assignments(month, cases, shown, deadlines),
        _results(month, cases, shown, deadlines),
    )


def suggestion_list(month: Month, histories: Sequence[CaseHistory], public: Collection[str] = ()) -> PublicList:
    return _suggestions(month, [listed_case(h) for h in histories], _Shown(public))


def _suggestions(month: Month, cases: Sequence[ListedCase], shown: _Shown) -> PublicList:
    rows = tuple(
        SuggestionRow(
            number=c.number,
            received_on=_day(c.received_at),
            topic=c.topic,
            citizen=texts.ANONYMOUS if c.anonymous else mask_name(c.citizen_name),
            phone="" if c.anonymous else mask_phone(c.citizen_phone),
            summary=shown.summary(c),
            place=shown.place(c),
            deputy=c.deputy_name or "",
            state=_state_label(c),
        )
        for c in sorted(cases, key=lambda c: (c.received_at, c.number))
        if c.received_at in month
    )
    return PublicList("suggestions", month, SuggestionRow, rows)


def assignment_list(
    month: Month,
    histories: Sequence[CaseHistory],
    calendar: WorkingCalendar,
    reply_working_days: int,
    public: Collection[str] = (),
) -> PublicList:
    deadlines = _Deadlines(calendar, reply_working_days)
    return _assignments(month, [listed_case(h) for h in histories], _Shown(public), deadlines)


def _assignments(month: Month, cases: Sequence[ListedCase], shown: _Shown, deadlines: _Deadlines) -> PublicList:
    transferred = [c for c in cases if c.transferred_at is not None and c.transferred_at in month]
    rows = tuple(
        AssignmentRow(
            number=c.number,
            transferred_on=_day(c.transferred_at),
            topic=c.topic,
            summary=shown.summary(c),
            place=shown.place(c),
            department=c.department or "",
            reply_due=_day(deadlines.answer_due(c)),
            state=_state_label(c),
        )
        for c in sorted(transferred, key=lambda c: (c.transferred_at, c.number))
    )
    return PublicList("assignments", month, AssignmentRow, rows)


def _answer(case: ListedCase) -> tuple[str, str]:
    """(who answered, the latest answer): the department's approved reply, or the answer on the spot."""
    if case.reply is not None:
        return case.department or "", case.reply
    if case.spot_reason is not None:
        who = texts.ANSWERED_BY_DEPUTY if case.spot_role == "deputy" else texts.ANSWERED_BY_STAFF
        return who, answer_in_reason(case.spot_reason)
    return case.department or "", ""


def _result(case: ListedCase) -> str:
    if case.merged_into:
        return texts.MERGED_INTO.format(number=case.merged_into)
    if case.state == CaseState.ESCALATED and case.escalation_level:
        return texts.ESCALATED_TO.format(level=case.escalation_level)
    return _state_label(case)


def result_list(
    month: Month,
    histories: Sequence[CaseHistory],
    calendar: WorkingCalendar,
    reply_working_days: int,
    public: Collection[str] = (),
) -> PublicList:
    deadlines = _Deadlines(calendar, reply_working_days)
    return _results(month, [listed_case(h) for h in histories], _Shown(public), deadlines)


def _results(month: Month, cases: Sequence[ListedCase], shown: _Shown, deadlines: _Deadlines) -> PublicList:
    ended = [c for c in cases if c.state in RESULT_STATES and c.closed_at is not None and c.closed_at in month]
    rows = []
    for c in sorted(ended, key=lambda c: (c.closed_at, c.number)):
        handled_by, answer = _answer(c)
        on_time = None if c.answered_at is None else c.answered_at <= deadlines.answer_due(c)
        unrated = texts.UNRATED_CLOSED if c.closed_unrated else texts.NOT_RATED
        rows.append(
            ResultRow(
                number=c.number,
                received_on=_day(c.received_at),
                ended_on=_day(c.closed_at),
                topic=c.topic,
                summary=shown.summary(c),
                handled_by=handled_by,
                answer=public_line(answer, _names(c), shown.public),
                working_days=deadlines.working_days_to_answer(c),
                on_time=texts.NONE if on_time is None else texts.YES if on_time else texts.NO,
                rating=c.rating if c.rating is not None else unrated,
                result=_result(c),
            )
        )
    return PublicList("results", month, ResultRow, tuple(rows))
