"""The months published at /public/, and the cases of each of the three lists of a month a page at a time.

`PublicationStore` keeps which months staff published (one row a month; withdrawing deletes it).
`ListPages` selects one page of a list's cases, in the list's order, and counts them, so that a public page
of a month with thousands of cases reads (and masks) only the rows it shows; their stored rows come from
`storage.reports.ReportStore`, as for the whole lists. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import Select, delete, func, literal_column, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.figures import local_day
from storage.models import Case, CaseEvent, PublishedMonth
from storage.reports import HistoryRows, ReportStore

ListKind = Literal["suggestions", "assignments", "results"]


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


class PublicationStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def months(self) -> Sequence[PublishedMonth]:
        """Every published month, the latest month first."""
        return (
            (await self.session.execute(select(PublishedMonth).order_by(PublishedMonth.month.desc()))).scalars().all()
        )

    async def get(self, month: str) -> PublishedMonth | None:
        return (
            await self.session.execute(select(PublishedMonth).where(PublishedMonth.month == month))
        ).scalar_one_or_none()

    async def publish(self, month: str, by: str, at: dt.datetime) -> bool:
        """Publish `month` unless it is; False when it already was (by anyone, even at this very moment)."""
        if await self.get(month) is not None:
            return False
        try:
            async with self.session.begin_nested():
                self.session.add(PublishedMonth(month=month, published_by=by, published_at=at))
        except IntegrityError:  # published by someone else in the meantime
            return False
        return True

    async def withdraw(self, month: str) -> bool:
        """Withdraw `month`; False when it was not published."""
        result = await self.session.execute(delete(PublishedMonth).where(PublishedMonth.month == month))
        return bool(getattr(result, "rowcount", 0))

    async def received_per_month(self, start: dt.datetime) -> dict[str, int]:
        """How many cases were received in each Beijing month since `start`: {'2026-11': 120}."""
        month = func.substr(local_day(Case.created_at), literal_column("1"), literal_column("7")).label("month")
        query = select(month, func.count()).where(Case.created_at >= _utc(start)).group_by(month)
        return {m: n for m, n in (await self.session.execute(query)).all()}


class ListPages:
    """One page of a month's list: its cases in the list's order, and how many the list holds.

    - suggestions (代表建议清单): the cases received in the month, by time received;
    - assignments (交办清单): the cases first transferred in the month, by time of that transfer;
    - results (办理效果清单): the cases that reached one of `result_states` in the month and are still in
      it, by the time they got there.
    Case numbers break ties, as in casework.lists.
    """

    def __init__(self, session: AsyncSession, transfer: str, result_states: Sequence[str]) -> None:
        self.session = session
        self.transfer = transfer
        self.result_states = tuple(result_states)

    def _ordered(self, kind: ListKind, start: dt.datetime, end: dt.datetime) -> Select[Any]:
        """The ids of the list's cases, in the list's order."""
        start, end = _utc(start), _utc(end)
        match kind:
            case "suggestions":
                return (
                    select(Case.id)
                    .where(Case.created_at >= start, Case.created_at < end)
                    .order_by(Case.created_at, Case.number)
                )
            case "assignments":
                in_month = select(CaseEvent.case_id).where(
                    CaseEvent.action == self.transfer, CaseEvent.at >= start, CaseEvent.at < end
                )
                first = (
                    select(CaseEvent.case_id, func.min(CaseEvent.at).label("at"))
                    .where(CaseEvent.action == self.transfer, CaseEvent.case_id.in_(in_month))
                    .group_by(CaseEvent.case_id)
                    .subquery("first_transfer")
                )
                return (
                    select(Case.id)
                    .join(first, first.c.case_id == Case.id)
                    .where(first.c.at >= start, first.c.at < end)
                    .order_by(first.c.at, Case.number)
                )
            case "results":
                return (
                    select(Case.id)
                    .where(Case.state.in_(self.result_states), Case.closed_at >= start, Case.closed_at < end)
                    .order_by(Case.closed_at, Case.number)
                )
        raise ValueError(f"unknown list {kind!r}")

    async def count(self, kind: ListKind, start: dt.datetime, end: dt.datetime) -> int:
        ids = self._ordered(kind, start, end).order_by(None).subquery()
        return int((await self.session.execute(select(func.count()).select_from(ids))).scalar_one())

    async def page(self, kind: ListKind, start: dt.datetime, end: dt.datetime, offset: int, limit: int) -> HistoryRows:
        """The stored rows of the cases on one page of the list (their order is the list's to make)."""
        ids = self._ordered(kind, start, end).offset(offset).limit(limit)
        wanted = [row[0] for row in (await self.session.execute(ids)).all()]
        return await ReportStore(self.session).of_cases(wanted)
