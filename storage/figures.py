"""Counting the cases of a period for the figures in the database: one GROUP BY over the cases and their
events, never a row per event in Python.

`FigureStore.tallies` returns, for each group (a department, a station, a deputy or a month), each day a case
was received and each day it was first answered, how many cases count towards each figure: the facts
`casework.metrics.tally` reads of one case's history, here computed for all cases at once. The rules are the
same (tests/integration/test_figures.py compares both on the same cases); what they mean is written in
casework/metrics.py. Read-only: nothing here writes or commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, String, and_, case, func, literal, literal_column, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import aliased
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from storage.models import Case, CaseEvent, Department, Deputy, Rating, Station, UTCDateTime

Grouping = Literal["department", "station", "deputy", "month"]
# The stations' clock: Beijing time, UTC+8 all year (China has kept no daylight saving time since 1991), as
# casework.deadlines.LOCAL says; a unit test holds the two together.
LOCAL_OFFSET_MINUTES = 480


class local_day(FunctionElement[str]):  # noqa: N801 - used like the SQL function it renders
    """The Beijing date of a stored moment, as text 'YYYY-MM-DD', on SQLite and PostgreSQL."""

    type = String()
    name = "local_day"
    inherit_cache = True


@compiles(local_day, "sqlite")
def _local_day_sqlite(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC moments as text (storage.models.UTCDateTime); date() reads them and shifts them.
    return f"date({compiler.process(element.clauses, **kw)}, '+{LOCAL_OFFSET_MINUTES} minutes')"


@compiles(local_day, "postgresql")
def _local_day_postgresql(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.clauses, **kw)
    return f"to_char(({moment} AT TIME ZONE 'UTC') + interval '{LOCAL_OFFSET_MINUTES} minutes', 'YYYY-MM-DD')"


@dataclass(frozen=True)
class TallyRow:
    """The counts of the cases of one group received on `received_on` and first answered on `answered_on`
    (None: not yet). `key` is the group's id (a department's, a station's, a deputy's) or its month; None for
    the cases with no department or no deputy."""

    key: str | None
    name: str | None
    received_on: dt.date
    answered_on: dt.date | None
    cases: int
    transfers_due: int
    transferred_on_time: int
    answers_due: int
    answered_on_time: int
    closed: int
    rated: int
    satisfied: int
    unrated: int
    rehandled: int
    escalated: int


@dataclass(frozen=True)
class Rules:
    """What the counting needs to know of the loop's rules, as plain values (casework decides them).

    `answers`: the actions that answer a case (an approved reply, an answer on the spot). `satisfied`: the
    ratings that count as satisfied. `first_answer_due`: for each Beijing day of the period, the deadline of the
    first answer of a case received that day, used for a re-handled case (re-handling replaced the deadline
    stored on the case). The others name a state or an action."""

    answers: Collection[str]
    satisfied: Collection[str]
    first_answer_due: Mapping[dt.date, dt.datetime]
    received: str
    transfer: str
    close_unrated: str
    rehandling: str
    escalated: str
    closed: str


def _moment(value: dt.datetime) -> ColumnElement[dt.datetime]:
    return literal(value, UTCDateTime())


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


class FigureStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def tallies(
        self,
        start: dt.datetime,
        end: dt.datetime,
        by: Grouping,
        rules: Rules,
        as_of: dt.datetime,
        scope: ColumnElement[bool],
    ) -> list[TallyRow]:
        """The tallies of the cases received in [start, end) that `scope` (a where-clause on `Case`, from
        services/access.py) keeps, grouped `by`, with what is still open judged as of `as_of`.

        The lowest and highest id of the period's cases first (`_case_facts` says why); then two steps in one
        query: the facts of each case (its events grouped by the case alone, found by the indexes on
        cases.created_at and case_events.case_id), then the counts of those facts grouped by the group, the day
        received and the day first answered. The groups' names are read apart."""
        received = (Case.created_at >= _moment(start), Case.created_at < _moment(end))
        # With a count beside them, PostgreSQL reads the period's cases by date; asked for min and max alone it
        # walks the primary key from one end past every case of other periods (1.1 s on a million).
        ends = select(func.min(Case.id), func.max(Case.id), func.count()).where(*received)
        first, last, _ = (await self.session.execute(ends)).one()
        facts = _case_facts(received, (first, last), by, rules, scope).subquery("facts")
        f = facts.c
        now = _moment(as_of)
        # The first answer's deadline: the case's own, but for a re-handled case (re-handling replaced it)
        # the one registration set, by the day it was received.
        dues = [(day.isoformat(), _moment(due)) for day, due in sorted(rules.first_answer_due.items())]
        first_due = case(dict(dues), value=f.received_on, else_=f.reply_due_at) if dues else f.reply_due_at
        reply_due = case((f.rehandled == 1, first_due), else_=f.reply_due_at)
        # Literal positions: PostgreSQL must see the grouped expression written as selected, without parameters.
        key = func.substr(f.received_on, literal_column("1"), literal_column("7")) if by == "month" else f.key
        answered_on = local_day(f.answered_at)
        counts = {
            "transfers_due": case(
                (f.transferred_at.is_not(None), 1),
                (f.transfer_due_at < func.coalesce(f.left_received_at, now), 1),
                else_=0,
            ),
            "transferred_on_time": _flag(f.transferred_at <= f.transfer_due_at),
            "answers_due": case(
                (f.answered_at.is_not(None), 1),
                (reply_due < func.coalesce(f.closed_at, now), 1),
                else_=0,
            ),
            "answered_on_time": _flag(f.answered_at <= reply_due),
            "closed": _flag(f.state == rules.closed),
            "rated": _flag(f.rating.is_not(None)),
            "satisfied": _flag(f.rating.in_(rules.satisfied)),
            "unrated": f.unrated,
            "rehandled": f.rehandled,
            "escalated": f.escalated,
        }
        grouped = select(
            key.label("key"),
            f.received_on,
            answered_on.label("answered_on"),
            func.count().label("cases"),
            *(func.sum(value).label(name) for name, value in counts.items()),
        ).group_by(key, f.received_on, answered_on)
        rows = (await self.session.execute(grouped)).all()
        names = await self._names(by)
        return [
            TallyRow(
                key=None if row.key is None else str(row.key),
                name=row.key if by == "month" else names.get(row.key),
                received_on=dt.date.fromisoformat(row.received_on),
                answered_on=None if row.answered_on is None else dt.date.fromisoformat(row.answered_on),
                **{field: int(getattr(row, field)) for field in _COUNTS},
            )
            for row in rows
        ]

    async def _names(self, by: Grouping) -> dict[Any, str]:
        """The names of the departments, stations or deputies, by id."""
        table = _TABLES.get(by)
        if table is None:
            return {}
        return {id_: name for id_, name in (await self.session.execute(select(table.id, table.name))).all()}

    async def received_count(self, start: dt.datetime, end: dt.datetime, scope: ColumnElement[bool]) -> int:
        """How many cases `scope` keeps were received in [start, end)."""
        query = select(func.count()).where(Case.created_at >= _moment(start), Case.created_at < _moment(end), scope)
        return int((await self.session.execute(query)).scalar_one())


_TABLES: dict[str, type[Department] | type[Station] | type[Deputy]] = {
    "department": Department,
    "station": Station,
    "deputy": Deputy,
}
_KEYS = {"department": Case.department_id, "station": Case.station_id, "deputy": Case.deputy_id}


def _case_facts(
    received: tuple[ColumnElement[bool], ...],
    ids: tuple[int | None, int | None],
    by: Grouping,
    rules: Rules,
    scope: ColumnElement[bool],
) -> Select[Any]:
    """One row per case `received` selects that `scope` keeps: its group's key, the day received, its
    deadlines, state and latest rating, and from its events when it was first transferred, first left
    已受理 (however), first answered, and whether it was ever closed unrated, re-handled or escalated.

    `ids`: the lowest and highest id of the cases `received` selects. Said of the events too (it changes none
    joined), it lets PostgreSQL read the period's events as one range of the index on case_id, merged with the
    cases in order of id, instead of looking up each case's (about a fifth less time on a month of a million
    cases)."""
    # An alias: `scope` may ask about a case's events itself (a department's cases are those transferred to
    # it), in a subquery that must not correlate to the events joined here.
    e = aliased(CaseEvent, name="event")
    latest_rating = (
        select(Rating.rating)
        .where(Rating.case_id == Case.id)
        .order_by(Rating.reply_number.desc())  # one rating per reply: the latest is the highest reply's
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            _KEYS.get(by, Case.station_id).label("key"),
            local_day(Case.created_at).label("received_on"),
            Case.transfer_due_at,
            Case.reply_due_at,
            Case.closed_at,
            Case.state,
            latest_rating.label("rating"),
            func.min(case((e.action == rules.transfer, e.at))).label("transferred_at"),
            func.min(case((and_(e.from_state == rules.received, e.to_state != rules.received), e.at))).label(
                "left_received_at"
            ),
            func.min(case((e.action.in_(rules.answers), e.at))).label("answered_at"),
            func.max(_flag(e.action == rules.close_unrated)).label("unrated"),
            func.max(_flag(e.to_state == rules.rehandling)).label("rehandled"),
            func.max(_flag(e.to_state == rules.escalated)).label("escalated"),
        )
        .select_from(Case)
        .outerjoin(e, and_(e.case_id == Case.id, e.case_id.between(*ids), _counted(e, rules)))
        .where(*received, scope)
        .group_by(Case.id)
    )


def _counted(e: type[CaseEvent], rules: Rules) -> ColumnElement[bool]:
    """The events any of the facts above reads (about two in five): the others would count for nothing, and
    joined they took most of the time of grouping the events by case."""
    return or_(
        e.action.in_([rules.transfer, rules.close_unrated, *sorted(rules.answers)]),
        e.to_state.in_([rules.rehandling, rules.escalated]),
        e.from_state == rules.received,
    )


_COUNTS = (
    "cases",
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
