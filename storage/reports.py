"""Reading the case store for figures, the three public lists and deputies' yearly records.

`ReportStore` selects the cases of a period (or of a deputy) and returns their stored rows — the case with
the names it refers to, its events, approved replies and ratings — as `HistoryRows`; `services.reports`
turns them into the plain rows the rules of `casework` read. Read-only: nothing here writes or commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, CaseEvent, CaseReply, Citizen, Department, Deputy, Rating, Station, User


@dataclass(frozen=True)
class CaseRow:
    """A case with the names it refers to: its citizen's display name, station, department and deputy."""

    case: Case
    citizen_name: str | None
    station: str
    department: str | None
    deputy_code: str | None
    deputy_name: str | None


@dataclass(frozen=True)
class HistoryRows:
    """Cases (oldest first) with their events (in order), approved replies and ratings, as stored.

    `deputy_users` maps the name of each user linked to a deputy to that deputy's code."""

    cases: Sequence[CaseRow]
    events: Sequence[CaseEvent]
    replies: Sequence[CaseReply]
    ratings: Sequence[Rating]
    deputy_users: dict[str, str]


def _utc(moment: dt.datetime) -> dt.datetime:
    """Aware UTC; a naive value (SQLite) was stored in UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


class ReportStore:
    """Cases received, transferred or ended in a period, and the cases a deputy took part in.

    Periods are half-open, [start, end), in any timezone: they are compared in UTC on both databases.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def received_between(self, start: dt.datetime, end: dt.datetime) -> HistoryRows:
        """Cases registered in the period (the 代表建议清单 and the figures)."""
        ids = select(Case.id).where(Case.created_at >= _utc(start), Case.created_at < _utc(end))
        return await self._histories(ids)

    async def transferred_between(self, start: dt.datetime, end: dt.datetime) -> HistoryRows:
        """Cases transferred to a department in the period (the 交办清单)."""
        ids = select(CaseEvent.case_id).where(
            CaseEvent.action == "transfer", CaseEvent.at >= _utc(start), CaseEvent.at < _utc(end)
        )
        return await self._histories(ids)

    async def ended_between(self, start: dt.datetime, end: dt.datetime, states: tuple[str, ...]) -> HistoryRows:
        """Cases that reached one of `states` in the period and are still in it (the 办理效果清单)."""
        ids = select(Case.id).where(Case.state.in_(states), Case.closed_at >= _utc(start), Case.closed_at < _utc(end))
        return await self._histories(ids)

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
        """Cases the deputy follows or acted on (through a user linked to them) with an event in the period."""
        deputy_id = select(Deputy.id).where(Deputy.code == code).scalar_subquery()
        their_users = select(User.name).where(User.deputy_id == deputy_id)
        acted_on = select(CaseEvent.case_id).where(CaseEvent.actor_role == "deputy", CaseEvent.actor.in_(their_users))
        active = exists().where(CaseEvent.case_id == Case.id, CaseEvent.at >= _utc(start), CaseEvent.at < _utc(end))
        ids = select(Case.id).where(or_(Case.deputy_id == deputy_id, Case.id.in_(acted_on)), active)
        return await self._histories(ids)

    async def _histories(self, case_ids: Select[int]) -> HistoryRows:
        """The cases whose ids `case_ids` selects, oldest first, each with its events, replies and ratings."""
        ids = case_ids.scalar_subquery()
        cases = (
            await self.session.execute(
                select(Case, Citizen.display_name, Station.name, Department.name, Deputy.code, Deputy.name)
                .join(Citizen, Citizen.id == Case.citizen_id)
                .join(Station, Station.id == Case.station_id)
                .outerjoin(Department, Department.id == Case.department_id)
                .outerjoin(Deputy, Deputy.id == Case.deputy_id)
                .where(Case.id.in_(ids))
                .order_by(Case.created_at, Case.id)
            )
        ).all()
        deputy_users = {
            name: code
            for name, code in (
                await self.session.execute(select(User.name, Deputy.code).join(Deputy, Deputy.id == User.deputy_id))
            ).all()
        }
        events = (
            (await self.session.execute(select(CaseEvent).where(CaseEvent.case_id.in_(ids)).order_by(CaseEvent.id)))
            .scalars()
            .all()
        )
        replies = (
            (
                await self.session.execute(
                    select(CaseReply)
                    .where(CaseReply.case_id.in_(ids), CaseReply.status == "approved")
                    .order_by(CaseReply.number, CaseReply.id)
                )
            )
            .scalars()
            .all()
        )
        ratings = (
            (
                await self.session.execute(
                    select(Rating).where(Rating.case_id.in_(ids)).order_by(Rating.reply_number, Rating.id)
                )
            )
            .scalars()
            .all()
        )
        return HistoryRows(
            cases=[CaseRow(*row) for row in cases],
            events=events,
            replies=replies,
            ratings=ratings,
            deputy_users=deputy_users,
        )
