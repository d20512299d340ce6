"""Counting the cases of a period for the figures in the database: one GROUP BY over the cases, whose rows
hold the facts their events settled, never a row per event in Python.

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

from sqlalchemy import ColumnElement, Date, String, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from storage.models import Case, Department, Deputy, Station, UTCDateTime

Grouping = Literal["department", "station", "deputy", "month"]
# The stations' clock: Beijing time, UTC+8 all year (China has kept no daylight saving time since 1991), as
# casework.deadlines.LOCAL says; a unit test holds the two together.
LOCAL_OFFSET_MINUTES = 480


class local_day(FunctionElement[str]):  # noqa: N801 - used like the SQL function it renders
    """The Beijing date of a stored moment, as text 'YYYY-MM-DD', on SQLite and PostgreSQL."""

    type = String()
    name = "local_day"
    inherit_cache = True


class local_date(FunctionElement[dt.date]):  # noqa: N801 - used like the SQL function it renders
    """The Beijing date of a stored moment, as a date, on SQLite and PostgreSQL: cheaper than `local_day`'s
    text on PostgreSQL (to_char took a third of the figures' statement)."""

    type = Date()
    name = "local_date"
    inherit_cache = True


@compiles(local_day, "sqlite")
@compiles(local_date, "sqlite")
def _local_day_sqlite(element: local_day | local_date, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite keeps UTC moments as text (storage.models.UTCDateTime); date() reads them, shifts them and gives
    # 'YYYY-MM-DD', which is the text local_day is and which SQLAlchemy's Date reads as local_date's date.
    return f"date({compiler.process(element.clauses, **kw)}, '+{LOCAL_OFFSET_MINUTES} minutes')"


@compiles(local_day, "postgresql")
def _local_day_postgresql(element: local_day, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.clauses, **kw)
    return f"to_char(({moment} AT TIME ZONE 'UTC') + interval '{LOCAL_OFFSET_MINUTES} minutes', 'YYYY-MM-DD')"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element: local_date, compiler: SQLCompiler, **kw: Any) -> str:
    moment = compiler.process(element.clauses, **kw)
    return f"(({moment} AT TIME ZONE 'UTC') + interval '{LOCAL_OFFSET_MINUTES} minutes')::date"


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

    `satisfied`: the ratings that count as satisfied. `closed`: the state of a case closed. `first_answer_due`:
    for each Beijing day of the period, the deadline of the first answer of a case received that day, used for
    a re-handled case (re-handling replaced the deadline stored on the case)."""

    satisfied: Collection[str]
    closed: str
    first_answer_due: Mapping[dt.date, dt.datetime]


def _moment(value: dt.datetime) -> ColumnElement[dt.datetime]:
    return literal(value, UTCDateTime())


def _flag(condition: ColumnElement[bool] | InstrumentedAttribute[bool]) -> ColumnElement[int]:
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

        One statement over the period's cases alone (by the index on cases.created_at): the facts the events
        settled are on each case's row (`Case.transferred_at` ..., casework.metrics.Milestones), as is its latest
        rating. The groups' names are read apart."""
        received_on = local_date(Case.created_at)
        now = _moment(as_of)
        # The first answer's deadline: the case's own, but for a re-handled case (re-handling replaced it)
        # the one registration set, by the day it was received.
        dues = {day: _moment(due) for day, due in sorted(rules.first_answer_due.items())}
        first_due = case(dues, value=received_on, else_=Case.reply_due_at) if dues else Case.reply_due_at
        reply_due = case((Case.rehandled, first_due), else_=Case.reply_due_at)
        answered_on = local_date(Case.answered_at)
        # By month: the days received say the month, so the days alone are grouped.
        keys = [] if by == "month" else [_KEYS[by].label("key")]
        counts = {  # in the order of TallyRow's fields, which are made from the rows in place
            "transfers_due": case(
                (Case.transferred_at.is_not(None), 1),
                (Case.transfer_due_at < func.coalesce(Case.left_received_at, now), 1),
                else_=0,
            ),
            "transferred_on_time": _flag(Case.transferred_at <= Case.transfer_due_at),
            "answers_due": case(
                (Case.answered_at.is_not(None), 1),
                (reply_due < func.coalesce(Case.closed_at, now), 1),
                else_=0,
            ),
            "answered_on_time": _flag(Case.answered_at <= reply_due),
            "closed": _flag(Case.state == rules.closed),
            "rated": _flag(Case.latest_rating.is_not(None)),
            "satisfied": _flag(Case.latest_rating.in_(rules.satisfied)),
            "unrated": _flag(Case.closed_unrated),
            "rehandled": _flag(Case.rehandled),
            "escalated": _flag(Case.escalated),
        }
        grouped = (
            select(
                *keys,
                received_on.label("received_on"),
                answered_on.label("answered_on"),
                func.count().label("cases"),
                *(func.sum(value).label(name) for name, value in counts.items()),
            )
            .where(Case.created_at >= _moment(start), Case.created_at < _moment(end), scope)
            .group_by(*keys, received_on, answered_on)
        )
        # Plain rows through the session's connection: the ORM's handling of each row is of no use here.
        rows = (await (await self.session.connection()).execute(grouped)).all()
        names = await self._names(by)
        tallies = []
        for row in rows:
            name: str | None
            if by == "month":
                received_on, answered_on, *counted = row
                key = name = f"{received_on:%Y-%m}"
            else:
                key, received_on, answered_on, *counted = row
                name = names.get(key)
            tallies.append(
                TallyRow(None if key is None else str(key), name, received_on, answered_on, *map(int, counted))
            )
        return tallies

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
_KEYS: dict[str, Any] = {"department": Case.department_id, "station": Case.station_id, "deputy": Case.deputy_id}
