"""Reading the case store for figures, the three public lists and deputies' yearly records.

`ReportStore` returns plain frozen rows (`CaseHistory` with its events, approved replies and
ratings), never ORM objects, so the rules that turn them into figures and lists stay pure.
Times come back timezone-aware in UTC on both databases (SQLite keeps them naive, in UTC).
Read-only: nothing here writes or commits.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Case, CaseEvent, CaseReply, Citizen, Department, Deputy, Rating, Station, User


@dataclass(frozen=True)
class EventRow:
    """One event of a case. `actor_deputy` is the deputy's code when a deputy's user acted."""

    id: int
    action: str
    actor: str
    actor_role: str
    actor_deputy: str | None
    from_state: str | None
    to_state: str
    reason: str
    at: dt.datetime


@dataclass(frozen=True)
class ReplyRow:
    """An approved reply: `number` 1 for the first, 2 after re-handling."""

    number: int
    text: str
    approved_at: dt.datetime


@dataclass(frozen=True)
class RatingRow:
    reply_number: int
    rating: str
    comment: str
    at: dt.datetime


@dataclass(frozen=True)
class CaseHistory:
    """A case with the names it refers to and everything that happened to it, oldest event first.

    `citizen_name` and `citizen_phone` are identities: whoever shows them outside the staff masks them.
    `citizen_phone` is the contact number the citizen left on the case; both are None for an anonymous case.
    """

    number: str
    state: str
    topic: str
    description: str
    place: str
    anonymous: bool
    citizen_name: str | None
    citizen_phone: str | None
    station: str
    department: str | None
    deputy_code: str | None
    deputy_name: str | None
    created_at: dt.datetime
    transfer_due_at: dt.datetime
    reply_due_at: dt.datetime
    closed_at: dt.datetime | None
    merged_into: str | None
    escalation_level: str | None
    events: tuple[EventRow, ...]
    replies: tuple[ReplyRow, ...]
    ratings: tuple[RatingRow, ...]


@dataclass(frozen=True)
class DeputyRow:
    code: str
    name: str
    level: str
    constituency: str
    station: str


def _utc(moment: dt.datetime) -> dt.datetime:
    """Aware UTC; a naive value (SQLite) was stored in UTC."""
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def _maybe_utc(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else _utc(moment)


class ReportStore:
    """Cases received, transferred or ended in a period, and the cases a deputy took part in.

    Periods are half-open, [start, end), in any timezone: they are compared in UTC on both databases.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def received_between(self, start: dt.datetime, end: dt.datetime) -> list[CaseHistory]:
        """Cases registered in the period (the 代表建议清单 and the figures)."""
        ids = select(Case.id).where(Case.created_at >= _utc(start), Case.created_at < _utc(end))
        return await self._histories(ids)

    async def transferred_between(self, start: dt.datetime, end: dt.datetime) -> list[CaseHistory]:
        """Cases transferred to a department in the period (the 交办清单)."""
        ids = select(CaseEvent.case_id).where(CaseEvent.action == "transfer", CaseEvent.at >= _utc(start),
                                              CaseEvent.at < _utc(end))
        return await self._histories(ids)

    async def ended_between(self, start: dt.datetime, end: dt.datetime, states: tuple[str, ...]) -> list[CaseHistory]:
        """Cases that reached one of `states` in the period and are still in it (the 办理效果清单)."""
        ids = select(Case.id).where(Case.state.in_(states), Case.closed_at >= _utc(start),
                                    Case.closed_at < _utc(end))
        return await self._histories(ids)

    async def deputy(self, code: str) -> DeputyRow | None:
        row = (await self.session.execute(
            select(Deputy.code, Deputy.name, Deputy.level, Deputy.constituency, Station.name)
            .join(Station, Station.id == Deputy.station_id).where(Deputy.code == code))).first()
        return DeputyRow(*row) if row else None

    async def deputy_cases(self, code: str, start: dt.datetime, end: dt.datetime) -> list[CaseHistory]:
        """Cases the deputy follows or acted on (through a user linked to them) with an event in the period."""
        deputy_id = select(Deputy.id).where(Deputy.code == code).scalar_subquery()
        their_users = select(User.name).where(User.deputy_id == deputy_id)
        acted_on = select(CaseEvent.case_id).where(CaseEvent.actor_role == "deputy",
                                                   CaseEvent.actor.in_(their_users))
        active = exists().where(CaseEvent.case_id == Case.id, CaseEvent.at >= _utc(start), CaseEvent.at < _utc(end))
        ids = select(Case.id).where(or_(Case.deputy_id == deputy_id, Case.id.in_(acted_on)), active)
        return await self._histories(ids)

    async def _histories(self, case_ids: Select) -> list[CaseHistory]:
        """The cases whose ids `case_ids` selects, oldest first, each with its events, replies and ratings."""
        ids = case_ids.scalar_subquery()
        cases = (await self.session.execute(
            select(Case, Citizen.display_name, Station.name, Department.name, Deputy.code, Deputy.name)
            .join(Citizen, Citizen.id == Case.citizen_id)
            .join(Station, Station.id == Case.station_id)
            .outerjoin(Department, Department.id == Case.department_id)
            .outerjoin(Deputy, Deputy.id == Case.deputy_id)
            .where(Case.id.in_(ids)).order_by(Case.created_at, Case.id))).all()
        deputy_users = dict((await self.session.execute(
            select(User.name, Deputy.code).join(Deputy, Deputy.id == User.deputy_id))).all())

        events: dict[int, list[EventRow]] = defaultdict(list)
        for e in (await self.session.execute(
                select(CaseEvent).where(CaseEvent.case_id.in_(ids)).order_by(CaseEvent.id))).scalars():
            events[e.case_id].append(EventRow(
                id=e.id, action=e.action, actor=e.actor, actor_role=e.actor_role,
                actor_deputy=deputy_users.get(e.actor) if e.actor_role == "deputy" else None,
                from_state=e.from_state, to_state=e.to_state, reason=e.reason, at=_utc(e.at)))
        replies: dict[int, list[ReplyRow]] = defaultdict(list)
        for r in (await self.session.execute(
                select(CaseReply).where(CaseReply.case_id.in_(ids), CaseReply.status == "approved")
                .order_by(CaseReply.number, CaseReply.id))).scalars():
            replies[r.case_id].append(ReplyRow(number=r.number or 0, text=r.text,
                                               approved_at=_utc(r.reviewed_at or r.created_at)))
        ratings: dict[int, list[RatingRow]] = defaultdict(list)
        for g in (await self.session.execute(
                select(Rating).where(Rating.case_id.in_(ids)).order_by(Rating.reply_number, Rating.id))).scalars():
            ratings[g.case_id].append(RatingRow(reply_number=g.reply_number, rating=g.rating, comment=g.comment,
                                                at=_utc(g.at)))

        return [
            CaseHistory(
                number=case.number, state=case.state, topic=case.topic, description=case.description,
                place=case.place, anonymous=case.anonymous,
                citizen_name=None if case.anonymous else citizen_name,
                citizen_phone=None if case.anonymous else case.contact_phone, station=station, department=department,
                deputy_code=deputy_code, deputy_name=deputy_name, created_at=_utc(case.created_at),
                transfer_due_at=_utc(case.transfer_due_at), reply_due_at=_utc(case.reply_due_at),
                closed_at=_maybe_utc(case.closed_at), merged_into=case.merged_into,
                escalation_level=case.escalation_level, events=tuple(events[case.id]),
                replies=tuple(replies[case.id]), ratings=tuple(ratings[case.id]),
            )
            for case, citizen_name, station, department, deputy_code, deputy_name in cases
        ]
