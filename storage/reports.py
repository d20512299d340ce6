"""Reading the case store for figures, the three public lists and deputies' yearly records.

`ReportStore` selects the cases of a period (or of a deputy) and returns their stored rows — the case with
the names it refers to, its events, approved replies and ratings — as `HistoryRows`; `services.reports`
turns them into the plain rows the rules of `casework` read. For a month's three lists, `listed_between` returns
instead one row a case with what the lists read of its history, worked out in SQL. Read-only: nothing here writes
or commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Row, Select, Text, bindparam, case, cast, exists, func, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Case, CaseEvent, CaseReply, Citizen, Department, Deputy, Rating, Station, User, utc


@dataclass(frozen=True)
class CaseRow:
    """A case (the columns of `CASE_COLUMNS`) with the names it refers to: its citizen's display name, station,
    department and deputy."""

    case: Row[*tuple[Any, ...]]
    citizen_name: str | None
    station: str
    department: str | None
    deputy_code: str | None
    deputy_name: str | None


@dataclass(frozen=True)
class ListRules:
    """What the three lists read of a case's events, as plain values (casework decides them): the action of a
    transfer, the actions that answer a case (an approved reply, an answer on the spot), the answer on the spot's
    own, the closing unrated's, and the state re-handling puts a case in."""

    transfer: str
    answers: Collection[str]
    on_the_spot: str
    close_unrated: str
    rehandling: str


@dataclass(frozen=True)
class HistoryRows:
    """Cases (oldest first) with their events (in order), approved replies and ratings, as stored: plain rows of
    the columns the rules read (`CASE_COLUMNS`, `EVENT_COLUMNS`, ...), not ORM objects, for lists of many
    thousand cases.

    `deputy_users` maps the name of each user linked to a deputy to that deputy's code."""

    cases: Sequence[CaseRow]
    events: Sequence[Row[*tuple[Any, ...]]]
    replies: Sequence[Row[*tuple[Any, ...]]]
    ratings: Sequence[Row[*tuple[Any, ...]]]
    deputy_users: dict[str, str]


CASE_COLUMNS = (
    Case.id,
    Case.number,
    Case.state,
    Case.topic,
    Case.description,
    Case.place,
    Case.anonymous,
    Case.contact_phone,
    Case.created_at,
    Case.transfer_due_at,
    Case.reply_due_at,
    Case.closed_at,
    Case.merged_into,
    Case.escalation_level,
    Case.named_people,
)
EVENT_COLUMNS = (
    CaseEvent.id,
    CaseEvent.case_id,
    CaseEvent.action,
    CaseEvent.actor,
    CaseEvent.actor_role,
    CaseEvent.from_state,
    CaseEvent.to_state,
    CaseEvent.reason,
    CaseEvent.at,
)
# The case's own columns the lists read. The names the NLU found as their JSON text, for the caller to decode:
# psycopg's decoding of a JSON column took ten times as long as reading it as text (1.5 s for a month's cases).
LISTED_CASE_COLUMNS = (
    Case.number,
    Case.state,
    Case.topic,
    Case.description,
    Case.place,
    Case.anonymous,
    Case.contact_phone,
    cast(Case.named_people, Text).label("named_people"),
    Case.merged_into,
    Case.escalation_level,
    Case.created_at,
    Case.reply_due_at,
    Case.closed_at,
)
REPLY_COLUMNS = (CaseReply.case_id, CaseReply.number, CaseReply.text, CaseReply.reviewed_at, CaseReply.created_at)
RATING_COLUMNS = (Rating.case_id, Rating.reply_number, Rating.rating, Rating.comment, Rating.at)
# Ids a statement lists (written into its text, `literal_execute`): a batch keeps each statement short.
BATCH = 10_000


class ReportStore:
    """Cases received, transferred or ended in a period, and the cases a deputy took part in.

    Periods are half-open, [start, end), in any timezone: they are compared in UTC on both databases.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def received_between(self, start: dt.datetime, end: dt.datetime) -> HistoryRows:
        """Cases registered in the period (the 代表建议清单 and the figures)."""
        return await self._histories(await self._ids(_received(start, end)))

    async def transferred_between(self, start: dt.datetime, end: dt.datetime) -> HistoryRows:
        """Cases transferred to a department in the period (the 交办清单)."""
        return await self._histories(await self._ids(_transferred(start, end)))

    async def ended_between(self, start: dt.datetime, end: dt.datetime, states: tuple[str, ...]) -> HistoryRows:
        """Cases that reached one of `states` in the period and are still in it (the 办理效果清单)."""
        return await self._histories(await self._ids(_ended(start, end, states)))

    async def listed_between(
        self, start: dt.datetime, end: dt.datetime, ended: tuple[str, ...], rules: ListRules
    ) -> list[Row[*tuple[Any, ...]]]:
        """The cases of the three lists of the period, each read once though it may be in all three: received,
        transferred, or ended in one of `ended`. One row a case (`_listed_of`): its columns, the names it
        refers to, and what its events, replies and ratings say that the lists read, in no order.

        The ids first, then the rows in batches, as `_histories` reads them and for the same reasons."""
        found = union(_received(start, end), _transferred(start, end), _ended(start, end, ended))
        ordered = sorted(await self._ids(select(found.subquery().c[0])))
        connection = await self.session.connection()
        rows: list[Row[*tuple[Any, ...]]] = []
        for first in range(0, len(ordered), BATCH):
            rows += (await connection.execute(_listed_of(ordered[first : first + BATCH], rules))).all()
        return rows

    async def deputy(self, code: str) -> tuple[str, str, str, str, str] | None:
        """The deputy's code, name, level, constituency and station name."""
        row = (
            await self.session.execute(
                select(Deputy.code, Deputy.name, Deputy.level, Deputy.constituency, Station.name)
                .join(Station, Station.id == Deputy.station_id)
                .where(Deputy.code == code)
            )
        ).first()
        return None if row is None else (row[0], row[1], row[2], row[3], row[4])

    async def deputy_cases(self, code: str, start: dt.datetime, end: dt.datetime) -> HistoryRows:
        """Cases the deputy follows or acted on (through a user linked to them) with an event in the period, with
        their events (a deputy's record reads no replies or ratings: none are read)."""
        deputy_id = select(Deputy.id).where(Deputy.code == code).scalar_subquery()
        their_users = select(User.name).where(User.deputy_id == deputy_id)
        acted_on = select(CaseEvent.case_id).where(CaseEvent.actor_role == "deputy", CaseEvent.actor.in_(their_users))
        active = exists().where(CaseEvent.case_id == Case.id, CaseEvent.at >= utc(start), CaseEvent.at < utc(end))
        # A union of two indexed reads, not an OR that only a scan of every case could answer.
        theirs = union(select(Case.id).where(Case.deputy_id == deputy_id), acted_on)
        # Found once (a few hundred), rather than again in each of the four statements that read them.
        found = await self._ids(select(Case.id).where(Case.id.in_(theirs), active))
        return await self._histories(found, children=False)

    async def of_cases(self, case_ids: Sequence[int]) -> HistoryRows:
        """The cases with these ids (a page of a list), oldest first."""
        return await self._histories(case_ids)

    async def _ids(self, query: Select[int]) -> list[int]:
        return list((await self.session.execute(query)).scalars())

    async def _histories(self, case_ids: Sequence[int], *, children: bool = True) -> HistoryRows:
        """The cases with these ids, oldest first, each with its events and unless `children` is False its
        replies and ratings.

        The ids are read first and handed back in batches: given a subquery of tens of thousands of cases,
        PostgreSQL hashed it and scanned every event (1.7 s on a million cases); given the ids, it reads
        their events by the index on case_id."""
        cases: list[Row[*tuple[Any, ...]]] = []
        events: list[Row[*tuple[Any, ...]]] = []
        replies: list[Row[*tuple[Any, ...]]] = []
        ratings: list[Row[*tuple[Any, ...]]] = []
        ordered = sorted(set(case_ids))
        # Plain rows through the session's connection: the ORM's handling of each row is of no use here.
        connection = await self.session.connection()
        for first in range(0, len(ordered), BATCH):
            batch = ordered[first : first + BATCH]
            cases += (await connection.execute(_cases_of(batch))).all()
            events += (await connection.execute(_events_of(batch))).all()
            if children:
                replies += (await connection.execute(_replies_of(batch))).all()
                ratings += (await connection.execute(_ratings_of(batch))).all()
        cases.sort(key=lambda row: (utc(row.created_at), row.id))
        deputy_users = {
            name: code
            for name, code in (
                await self.session.execute(select(User.name, Deputy.code).join(Deputy, Deputy.id == User.deputy_id))
            ).all()
        }
        return HistoryRows(
            cases=[
                CaseRow(row, row.citizen_name, row.station_name, row.department_name, row.deputy_code, row.deputy_name)
                for row in cases
            ],
            events=events,
            replies=replies,
            ratings=ratings,
            deputy_users=deputy_users,
        )


def _cases_of(ids: Sequence[int]) -> Select[*tuple[Any, ...]]:
    return (
        select(
            *CASE_COLUMNS,
            Citizen.display_name.label("citizen_name"),
            Station.name.label("station_name"),
            Department.name.label("department_name"),
            Deputy.code.label("deputy_code"),
            Deputy.name.label("deputy_name"),
        )
        .join(Citizen, Citizen.id == Case.citizen_id)
        .join(Station, Station.id == Case.station_id)
        .outerjoin(Department, Department.id == Case.department_id)
        .outerjoin(Deputy, Deputy.id == Case.deputy_id)
        .where(Case.id.in_(_listed(ids)))
    )


def _events_of(ids: Sequence[int]) -> Select[*tuple[Any, ...]]:
    return select(*EVENT_COLUMNS).where(CaseEvent.case_id.in_(_listed(ids))).order_by(CaseEvent.id)


def _listed_of(ids: Sequence[int], rules: ListRules) -> Select[*tuple[Any, ...]]:
    """The cases with these ids as the lists read them, one row each: what
    `casework.lists.listed_case` reads of a case's history, here read in one statement instead of every event,
    reply and rating in Python (tests/integration/test_figures.py holds the two equal).

    A case's events of the kinds the lists read are grouped by case: the ids of its first transfer, its first
    answer and its latest answer on the spot (first and latest in the order of events, by id), whether it was
    re-handled or closed unrated; those three events are then joined by id for their time, role and reason. The
    latest approved reply and rating are each one lookup of the case's own by its index."""
    listed = _listed(ids)
    e = CaseEvent
    found = (
        select(
            e.case_id,
            func.min(case((e.action == rules.transfer, e.id))).label("transfer_id"),
            func.min(case((e.action.in_(sorted(rules.answers)), e.id))).label("answer_id"),
            func.max(case((e.action == rules.on_the_spot, e.id))).label("spot_id"),
            func.max(case((e.to_state == rules.rehandling, 1), else_=0)).label("rehandled"),
            func.max(case((e.action == rules.close_unrated, 1), else_=0)).label("closed_unrated"),
        )
        .where(
            e.case_id.in_(listed),
            e.case_id.between(ids[0], ids[-1]),
            or_(
                e.action.in_(sorted({rules.transfer, rules.close_unrated, *rules.answers})),
                e.to_state == rules.rehandling,
            ),
        )
        .group_by(e.case_id)
        .subquery("found")
    )
    transfer, answer, spot = (aliased(CaseEvent, name=name) for name in ("transfer", "answer", "spot"))
    reply = (
        select(CaseReply.text)
        .where(CaseReply.case_id == Case.id, CaseReply.status == "approved")
        .order_by(CaseReply.number.desc(), CaseReply.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    # Looked up by case: joined, PostgreSQL hashed every citizen for each batch (0.3 s of the batch's 0.7).
    citizen_name = select(Citizen.display_name).where(Citizen.id == Case.citizen_id).scalar_subquery()
    rating = (
        select(Rating.rating)
        .where(Rating.case_id == Case.id)
        .order_by(Rating.reply_number.desc(), Rating.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(
            *LISTED_CASE_COLUMNS,
            citizen_name.label("citizen_name"),
            Department.name.label("department_name"),
            Deputy.name.label("deputy_name"),
            transfer.at.label("transferred_at"),
            answer.at.label("answered_at"),
            found.c.rehandled,
            found.c.closed_unrated,
            rating.label("rating"),
            reply.label("reply"),
            spot.actor_role.label("spot_role"),
            spot.reason.label("spot_reason"),
        )
        .outerjoin(Department, Department.id == Case.department_id)
        .outerjoin(Deputy, Deputy.id == Case.deputy_id)
        .outerjoin(found, found.c.case_id == Case.id)
        .outerjoin(transfer, transfer.id == found.c.transfer_id)
        .outerjoin(answer, answer.id == found.c.answer_id)
        .outerjoin(spot, spot.id == found.c.spot_id)
        .where(Case.id.in_(listed))
    )


def _replies_of(ids: Sequence[int]) -> Select[*tuple[Any, ...]]:
    return (
        select(*REPLY_COLUMNS)
        .where(CaseReply.case_id.in_(_listed(ids)), CaseReply.status == "approved")
        .order_by(CaseReply.number, CaseReply.id)
    )


def _ratings_of(ids: Sequence[int]) -> Select[*tuple[Any, ...]]:
    return select(*RATING_COLUMNS).where(Rating.case_id.in_(_listed(ids))).order_by(Rating.reply_number, Rating.id)


def _listed(ids: Sequence[int]) -> BindParameter[Sequence[int]]:
    """The ids written into the statement: bound one by one, ten thousand of them took longer to pass through
    the driver than PostgreSQL took to read their rows."""
    return bindparam("ids", ids, expanding=True, literal_execute=True)


def _received(start: dt.datetime, end: dt.datetime) -> Select[int]:
    return select(Case.id).where(Case.created_at >= utc(start), Case.created_at < utc(end))


def _transferred(start: dt.datetime, end: dt.datetime) -> Select[int]:
    return select(CaseEvent.case_id).where(
        CaseEvent.action == "transfer", CaseEvent.at >= utc(start), CaseEvent.at < utc(end)
    )


def _ended(start: dt.datetime, end: dt.datetime, states: tuple[str, ...]) -> Select[int]:
    return select(Case.id).where(Case.state.in_(states), Case.closed_at >= utc(start), Case.closed_at < utc(end))
