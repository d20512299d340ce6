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
from casework.metrics import RECORD_EVENTS, CaseRecord, Month, case_record, local_date, on_the_spot_answer
from casework.privacy import mask_name, mask_phone, mask_text, public_line, street_level
from casework.workdays import WorkingCalendar
from texts import public as texts

ListKind = Literal["suggestions", "assignments", "results"]
LIST_TITLES: dict[str, str] = texts.LIST_TITLES
RESULT_STATES = (CaseState.CLOSED.value, CaseState.ESCALATED.value)
# The events the lists read: a case's record's and its answer on the spot (`_answer`), which is one of ANSWERS.
LISTED_EVENTS = RECORD_EVENTS


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


def _day(moment: dt.datetime | None) -> str:
    return local_date(moment).isoformat() if moment else ""


def _state_label(history: CaseHistory) -> str:
    return CaseState(history.state).label


def _names(history: CaseHistory) -> tuple[str | None, ...]:
    """The names a case's texts are known to hold: its citizen's and those the NLU found."""
    return (history.citizen_name, *history.named_people)


class _Shown:
    """What the lists show of the cases, worked out once per case however many of the three lists show it:
    its record (`case_record`), its summary and its place, masked."""

    def __init__(self, reply_working_days: int, public: Collection[str]) -> None:
        self.reply_working_days = reply_working_days
        self.public = public
        self._records: dict[str, CaseRecord] = {}
        self._summaries: dict[str, str] = {}
        self._places: dict[str, str] = {}

    def record(self, history: CaseHistory, calendar: WorkingCalendar) -> CaseRecord:
        found = self._records.get(history.number)
        if found is None:
            found = self._records[history.number] = case_record(history, calendar, self.reply_working_days)
        return found

    def summary(self, history: CaseHistory) -> str:
        found = self._summaries.get(history.number)
        if found is None:
            found = self._summaries[history.number] = public_line(history.description, _names(history), self.public)
        return found

    def place(self, history: CaseHistory) -> str:
        """The place at street level, names masked: 阳光小区3栋2单元501室 -> 阳光小区."""
        found = self._places.get(history.number)
        if found is None:
            masked = mask_text(history.place, _names(history), self.public)
            found = self._places[history.number] = street_level(masked)
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
    shown = _Shown(reply_working_days, public)
    return (
        _suggestions(month, histories, shown),
        _assignments(month, histories, calendar, shown),
        _results(month, histories, calendar, shown),
    )


def suggestion_list(month: Month, histories: Sequence[CaseHistory], public: Collection[str] = ()) -> PublicList:
    return _suggestions(month, histories, _Shown(0, public))  # no record: the working days are never read


def _suggestions(month: Month, histories: Sequence[CaseHistory], shown: _Shown) -> PublicList:
    rows = tuple(
        SuggestionRow(
            number=h.number,
            received_on=_day(h.created_at),
            topic=h.topic,
            citizen=texts.ANONYMOUS if h.anonymous else mask_name(h.citizen_name),
            phone="" if h.anonymous else mask_phone(h.citizen_phone),
            summary=shown.summary(h),
            place=shown.place(h),
            deputy=h.deputy_name or "",
            state=_state_label(h),
        )
        for h in sorted(histories, key=lambda h: (h.created_at, h.number))
        if h.created_at in month
    )
    return PublicList("suggestions", month, SuggestionRow, rows)


def assignment_list(
    month: Month,
    histories: Sequence[CaseHistory],
    calendar: WorkingCalendar,
    reply_working_days: int,
    public: Collection[str] = (),
) -> PublicList:
    return _assignments(month, histories, calendar, _Shown(reply_working_days, public))


def _assignments(
    month: Month, histories: Sequence[CaseHistory], calendar: WorkingCalendar, shown: _Shown
) -> PublicList:
    records = [(shown.record(h, calendar), h) for h in histories]
    transferred = [(r, h) for r, h in records if r.transferred_at is not None and r.transferred_at in month]
    rows = []
    for record, h in sorted(transferred, key=lambda pair: (pair[0].transferred_at, pair[1].number)):
        rows.append(
            AssignmentRow(
                number=h.number,
                transferred_on=_day(record.transferred_at),
                topic=h.topic,
                summary=shown.summary(h),
                place=shown.place(h),
                department=h.department or "",
                reply_due=_day(record.reply_due_at),
                state=_state_label(h),
            )
        )
    return PublicList("assignments", month, AssignmentRow, tuple(rows))


def _answer(history: CaseHistory) -> tuple[str, str]:
    """(who answered, the latest answer): the department's approved reply, or the answer on the spot."""
    if history.replies:
        return history.department or "", history.replies[-1].text
    spot = next((e for e in reversed(history.events) if e.action == Action.ANSWER_ON_SPOT), None)
    if spot is not None:
        who = texts.ANSWERED_BY_DEPUTY if spot.actor_role == "deputy" else texts.ANSWERED_BY_STAFF
        return who, on_the_spot_answer(spot)
    return history.department or "", ""


def _result(history: CaseHistory) -> str:
    if history.merged_into:
        return texts.MERGED_INTO.format(number=history.merged_into)
    if history.state == CaseState.ESCALATED and history.escalation_level:
        return texts.ESCALATED_TO.format(level=history.escalation_level)
    return _state_label(history)


def result_list(
    month: Month,
    histories: Sequence[CaseHistory],
    calendar: WorkingCalendar,
    reply_working_days: int,
    public: Collection[str] = (),
) -> PublicList:
    return _results(month, histories, calendar, _Shown(reply_working_days, public))


def _results(month: Month, histories: Sequence[CaseHistory], calendar: WorkingCalendar, shown: _Shown) -> PublicList:
    ended = [h for h in histories if h.state in RESULT_STATES and h.closed_at is not None and h.closed_at in month]
    rows = []
    for h in sorted(ended, key=lambda h: (h.closed_at, h.number)):
        record = shown.record(h, calendar)
        handled_by, answer = _answer(h)
        on_time = record.answered_on_time
        unrated = texts.UNRATED_CLOSED if record.closed_unrated else texts.NOT_RATED
        rating = record.ratings[-1] if record.ratings else unrated
        rows.append(
            ResultRow(
                number=h.number,
                received_on=_day(h.created_at),
                ended_on=_day(h.closed_at),
                topic=h.topic,
                summary=shown.summary(h),
                handled_by=handled_by,
                answer=public_line(answer, _names(h), shown.public),
                working_days=record.working_days_to_answer(calendar),
                on_time=texts.NONE if on_time is None else texts.YES if on_time else texts.NO,
                rating=rating,
                result=_result(h),
            )
        )
    return PublicList("results", month, ResultRow, tuple(rows))
