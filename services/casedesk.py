"""The case desk: the worklist (what needs action first, filtered, counted, paged and sorted in SQL) and one
case's page (its timeline and what the user may do), for the console.

Everything is read through the access policy (`services.access`): the worklist's query carries
`access.case_filter`, and texts are masked for anyone but authorised staff. The actions themselves are
`services.cases.perform`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    text,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from casework.actors import Actor
from casework.cases import CaseState
from casework.errors import InvalidInput
from casework.lifecycle import COMMITTEE_KINDS, RULES, Action, Command, Transition
from casework.metrics import Month
from casework.routing import route
from casework.workdays import WorkingCalendar
from casework.worklist import OWING_REPLY, TRANSFER_SOON, Need, WorkItem, due_at, need
from services import access, cases
from settings import TOPICS, Deployment
from storage.models import (
    Case,
    CaseEvent,
    CaseFollower,
    CaseLink,
    CaseReply,
    Department,
    Deputy,
    DeskCount,
    Message,
    Push,
    Rating,
    Station,
)
from storage.repositories import DirectoryStore
from texts import staff as texts

PAGE_SIZE = 50
# Below this the topic router was unsure: the case page says so, and staff check the topic and department. On the
# real messages 0.6 flags 23 % of them and catches 37 of the 61 misrouted (nlu/topics.py's calibration).
LOW_TOPIC_CONFIDENCE = 0.6
# The states in which a case may still be split.
SPLITTABLE = frozenset(state.value for state in RULES[Action.SPLIT].from_states)
SUMMARY_LENGTH = 60
# Sorts a user may pick: the key, and the columns after it (the case id keeps the order total).
SORTS = ("need", "newest", "oldest", "due")
FACETS = ("state", "department", "topic", "station", "deputy", "need")
# The states in which the desk is done with a case (an escalated one still waits for the committee's follow-up).
# The desk opens without them: three years of them are most of the table, and counting them on every page would
# read it all. A state filter, a search or a month reaches them.
CONCLUDED = (CaseState.CLOSED.value, CaseState.REJECTED.value, CaseState.WITHDRAWN.value)
# On the desk's opening view a concluded state's count stops here (shown as "1000+").
COUNT_CAP = 1000
# PostgreSQL's memory for the sorts and hashes of the desk's one counting pass over the cases (SET LOCAL: that
# transaction only); the pass over the kept counts needs a few hundred kB.
COUNT_WORK_MEM = "64MB"


@dataclass(frozen=True)
class WorklistFilters:
    """The worklist's filters, each empty when not used; `q` is a case number or words of its text."""

    state: str = ""
    department: int | None = None
    topic: str = ""
    station: int | None = None
    deputy: int | None = None
    month: Month | None = None
    q: str = ""
    need: Need | None = None

    @classmethod
    def parse(cls, query: dict[str, str]) -> WorklistFilters:
        """From a page's query string; InvalidInput naming the bad filter."""

        def number(name: str) -> int | None:
            value = query.get(name, "").strip()
            if not value:
                return None
            if not value.isdigit():
                raise InvalidInput(texts.DESK_BAD_FILTER.format(name=name), code="bad_filter")
            return int(value)

        state = query.get("state", "").strip()
        if state and state not in {s.value for s in CaseState}:
            raise InvalidInput(texts.DESK_BAD_FILTER.format(name="state"), code="bad_filter")
        topic = query.get("topic", "").strip()
        if topic and topic not in TOPICS:
            raise InvalidInput(texts.DESK_BAD_FILTER.format(name="topic"), code="bad_filter")
        month = None
        if query.get("month", "").strip():
            try:
                month = Month.parse(query["month"])
            except ValueError:
                raise InvalidInput(texts.DESK_BAD_FILTER.format(name="month"), code="bad_filter") from None
        wanted_need = None
        if query.get("need", "").strip():
            try:
                wanted_need = Need[query["need"].strip().upper()]
            except KeyError:
                raise InvalidInput(texts.DESK_BAD_FILTER.format(name="need"), code="bad_filter") from None
        return cls(
            state=state,
            department=number("department"),
            topic=topic,
            station=number("station"),
            deputy=number("deputy"),
            month=month,
            q=" ".join(query.get("q", "").split())[:100],
            need=wanted_need,
        )

    @property
    def at_desk(self) -> bool:
        """Whether these filters show the desk's own view, the cases not yet concluded: no state picked, no
        search, no month."""
        return not self.state and not self.q and self.month is None

    def without(self, facet: str) -> WorklistFilters:
        """These filters but `facet`'s: a facet counts its values under the other filters."""
        if facet == "state":
            return replace(self, state="")
        if facet == "topic":
            return replace(self, topic="")
        if facet == "department":
            return replace(self, department=None)
        if facet == "station":
            return replace(self, station=None)
        if facet == "deputy":
            return replace(self, deputy=None)
        return replace(self, need=None)

    def query(self, **changes: Any) -> dict[str, str]:
        """These filters (with `changes`) as query parameters, empty ones left out."""
        values: dict[str, Any] = {
            "state": self.state,
            "department": self.department,
            "topic": self.topic,
            "station": self.station,
            "deputy": self.deputy,
            "month": f"{self.month.year:04d}-{self.month.month:02d}" if self.month else "",
            "q": self.q,
            "need": self.need.name.lower() if self.need is not None else "",
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in (None, "")}


def reply_pending_column() -> ColumnElement[bool]:
    return exists().where(CaseReply.case_id == Case.id, CaseReply.status == "pending")


def _need_branches(now: dt.datetime) -> list[tuple[ColumnElement[bool], Need]]:
    """`casework.worklist.need` as SQL conditions over `Case`, in its order: the first that holds decides."""
    owing = [s.value for s in OWING_REPLY]
    received = CaseState.RECEIVED.value
    return [
        (and_(Case.state == received, Case.transfer_due_at <= now), Need.OVERDUE),
        (and_(Case.state.in_(owing), Case.reply_due_at <= now), Need.OVERDUE),
        (and_(Case.state == received, Case.transfer_due_at <= now + TRANSFER_SOON), Need.TRANSFER_SOON),
        (reply_pending_column(), Need.REVIEW),
        (Case.state == CaseState.REHANDLING.value, Need.UNSATISFIED),
        (Case.state == CaseState.ESCALATED.value, Need.ESCALATED),
    ]


def need_column(now: dt.datetime) -> ColumnElement[int]:
    """`casework.worklist.need` as a SQL expression over `Case`, so the database sorts and counts by it."""
    return case(*((condition, int(value)) for condition, value in _need_branches(now)), else_=int(Need.NONE))


def at_need(wanted: Need, now: dt.datetime) -> ColumnElement[bool]:
    """`need_column(now) == wanted` written as the conditions themselves (each with the earlier ones not holding),
    so that PostgreSQL estimates how many cases a level has and reads a large one in order from an index."""
    branches = _need_branches(now)
    if wanted is Need.NONE:
        return and_(*(not_(condition) for condition, _ in branches))
    return or_(
        *(
            and_(condition, *(not_(earlier) for earlier, _ in branches[:i]))
            for i, (condition, value) in enumerate(branches)
            if value is wanted
        )
    )


# The states in which `need_column` may be other than Need.NONE without a reply waiting for review.
ATTENTION_STATES = (*(s.value for s in OWING_REPLY), CaseState.RECEIVED.value, CaseState.ESCALATED.value)


def attention_column(pending: Sequence[int]) -> ColumnElement[bool]:
    """A superset of the cases whose need is not Need.NONE: those in `ATTENTION_STATES` and those with a reply
    waiting for review (`pending`, their ids: `pending_cases`). Two indexed conditions (the state's, the ids'),
    so that the desk's first pages and its need counts read the cases that may need work, not the million
    closed ones."""
    return or_(Case.state.in_(ATTENTION_STATES), Case.id.in_(pending))


async def pending_cases(session: AsyncSession) -> list[int]:
    """The ids of the cases with a reply waiting for review (a partial index holds them)."""
    query = select(CaseReply.case_id).where(CaseReply.status == "pending").distinct()
    return list((await session.execute(query)).scalars())


def _words(q: str) -> ColumnElement[bool]:
    number = q.upper()
    if re.fullmatch(r"[A-Z]{1,4}\d{8,}", number):
        return Case.number == number
    conditions = []
    for word in q.split():
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        conditions.append(
            or_(
                Case.number.ilike(pattern, escape="\\"),
                Case.description.ilike(pattern, escape="\\"),
                Case.place.ilike(pattern, escape="\\"),
            )
        )
    return and_(*conditions)


def _conditions(actor: Actor, filters: WorklistFilters, now: dt.datetime) -> list[ColumnElement[bool]]:
    """The cases `actor` may see that `filters` select; on the desk's opening view, those not concluded (a reply
    left pending on a concluded case can no longer be reviewed: it is not the desk's work)."""
    return list(_clauses(actor, filters, now).values())


def unconcluded_column() -> ColumnElement[bool]:
    """The cases not concluded, the predicate of the partial index ix_cases_at_desk. The states are written as
    literals: a prepared statement's generic plan cannot match bound parameters to the index's predicate."""
    return Case.state.not_in([literal_column(f"'{state}'") for state in CONCLUDED])


def _clauses(actor: Actor, filters: WorklistFilters, now: dt.datetime) -> dict[str, ColumnElement[bool]]:
    """`_conditions` by what each comes from: the access policy, a filter, or the desk's opening view."""
    where: dict[str, ColumnElement[bool]] = {"access": access.case_filter(actor)}
    if filters.state:
        where["state"] = Case.state == filters.state
    if filters.department is not None:
        where["department"] = Case.department_id == filters.department
    if filters.topic:
        where["topic"] = Case.topic == filters.topic
    if filters.station is not None:
        where["station"] = Case.station_id == filters.station
    if filters.deputy is not None:
        where["deputy"] = Case.deputy_id == filters.deputy
    if filters.month is not None:
        where["month"] = and_(Case.created_at >= filters.month.start, Case.created_at < filters.month.end)
    if filters.q:
        where["q"] = _words(filters.q) if filters.q.strip() else false()
    if filters.need is not None:
        where["need"] = at_need(filters.need, now)
    if filters.at_desk:
        where["at_desk"] = unconcluded_column()
    return where


@dataclass(frozen=True)
class WorklistRow:
    number: str
    state: str
    state_label: str
    need: Need
    due_at: dt.datetime | None
    created_at: dt.datetime
    topic: str
    low_topic_confidence: bool
    department: str
    station: str
    deputy: str
    summary: str
    # The bot found problems for several departments in the report: staff are asked to split it.
    split_suggested: bool = False


@dataclass(frozen=True)
class FacetCount:
    value: str  # as it goes in the query string
    label: str
    count: int
    capped: bool = False  # there are more than `count` (COUNT_CAP)


@dataclass
class Worklist:
    filters: WorklistFilters
    sort: str
    page: int
    pages: int
    total: int
    rows: list[WorklistRow]
    facets: dict[str, list[FacetCount]] = field(default_factory=dict)


def _ordered(query: Select[int], sort: str, now: dt.datetime) -> Select[int]:
    if sort == "need":
        return query.order_by(need_column(now), Case.reply_due_at, Case.id)
    if sort == "newest":
        return query.order_by(Case.created_at.desc(), Case.id.desc())
    if sort == "oldest":
        return query.order_by(Case.created_at, Case.id)
    due = case((Case.state == CaseState.RECEIVED.value, Case.transfer_due_at), else_=Case.reply_due_at)
    return query.order_by(due, Case.id)


async def worklist(
    session: AsyncSession,
    actor: Actor,
    filters: WorklistFilters,
    now: dt.datetime,
    *,
    sort: str = "need",
    page: int = 1,
) -> Worklist:
    """One page of the cases `actor` may see that match `filters`, most pressing first (or as `sort` says), with
    the count of each filter's values under the other filters."""
    if sort not in SORTS:
        raise InvalidInput(texts.DESK_BAD_SORT.format(sort=sort), code="bad_sort")
    where = _conditions(actor, filters, now)
    departments, stations, deputies = await DirectoryStore(session).all_names()
    names = {"department": departments, "station": stations, "deputy": deputies}
    if _kept_answers(actor, filters):
        total, counted = await _counted_from_kept(session, actor, filters, now)
    elif _postgresql(session):
        wanted = {facet: _clauses(actor, filters.without(facet), now) for facet in FACETS}
        # The pass hashes every open case by each facet: in PostgreSQL's default 4 MB it sorts on disk instead.
        await session.execute(text(f"SET LOCAL work_mem = '{COUNT_WORK_MEM}'"))
        totals, counted = await _counted_in_one_pass(
            session, {**wanted, "total": _clauses(actor, filters, now)}, _facet_columns(now), literal_column("1")
        )
        total = totals["total"]
    else:
        pending = await pending_cases(session)
        total = (await session.execute(select(func.count()).select_from(Case).where(*where))).scalar_one()
        counted = {facet: await _counted(session, actor, filters, facet, now, pending) for facet in FACETS}
    facets = {facet: _facet_counts(facet, counted[facet], names) for facet in FACETS}
    if filters.without("state").at_desk:  # the concluded states, left out of the view, counted apart
        beyond = [c for key, c in _clauses(actor, filters.without("state"), now).items() if key != "at_desk"]
        concluded = await _concluded_counts(session, beyond)
        facets["state"] = sorted(facets["state"] + concluded, key=lambda f: (-f.count, f.label))
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    offset = (page - 1) * PAGE_SIZE
    if sort == "need":
        found = await _rows_by_need(session, where, _levels(facets["need"], total, filters), offset, now)
    else:
        found = await _rows(session, _ordered(_listed(where), sort, now), offset, PAGE_SIZE)
    # Staff read the summaries as written: the public names only spare words from masking.
    public = frozenset() if access.unmasked(actor) else await access.public_names(session)
    to_split = await _split_suggested(session, [c.id for c, _ in found if c.state in SPLITTABLE])
    rows = []
    for c, pending in found:
        item = WorkItem(c.state, c.transfer_due_at, c.reply_due_at, bool(pending))
        summary = access.masked_for(actor, " ".join(c.description.split()), c.named_people, public)
        rows.append(
            WorklistRow(
                number=c.number,
                state=c.state,
                state_label=CaseState(c.state).label,
                need=need(item, now),
                due_at=due_at(item),
                created_at=c.created_at,
                topic=c.topic,
                low_topic_confidence=c.topic_confidence < LOW_TOPIC_CONFIDENCE,
                department=departments.get(c.department_id or 0, ""),
                station=stations.get(c.station_id, ""),
                deputy=deputies.get(c.deputy_id or 0, ""),
                summary=summary[:SUMMARY_LENGTH] + ("…" if len(summary) > SUMMARY_LENGTH else ""),
                split_suggested=c.id in to_split,
            )
        )
    return Worklist(filters, sort, page, pages, total, rows, facets)


async def _split_suggested(session: AsyncSession, case_ids: list[int]) -> set[int]:
    """Of these cases, those whose registration noted problems for several departments."""
    if not case_ids:
        return set()
    registered = await session.execute(
        select(CaseEvent.case_id, CaseEvent.detail).where(
            CaseEvent.case_id.in_(case_ids), CaseEvent.action == "register"
        )
    )
    return {case_id for case_id, detail in registered if (detail or {}).get("problems")}


def _listed(where: list[ColumnElement[bool]]) -> Select[int]:
    return select(Case.id).where(*where)


async def _rows(session: AsyncSession, query: Select[int], offset: int, limit: int) -> list[Any]:
    """The page of cases whose ids `query` orders: the ids first (on the desk's opening view, from the index
    ix_cases_at_desk alone), then those cases, each with whether a reply waits for review."""
    ids = list((await session.execute(query.offset(offset).limit(limit))).scalars())
    if not ids:
        return []
    found = {
        c.id: (c, pending)
        for c, pending in await session.execute(select(Case, reply_pending_column()).where(Case.id.in_(ids)))
    }
    return [found[i] for i in ids]


def _levels(counts: list[FacetCount], total: int, filters: WorklistFilters) -> list[tuple[Need, int]]:
    """How many of the filtered cases each need has, in the desk's order: the need facet's counts (of the cases
    under the other filters; only the wanted need's when the filters name one), and Need.NONE the rest."""
    counted = {Need[c.value.upper()]: c.count for c in counts if filters.need in (None, Need[c.value.upper()])}
    levels = [(level, counted.get(level, 0)) for level in Need if level is not Need.NONE]
    return [*levels, (Need.NONE, total - sum(n for _, n in levels))]


async def _rows_by_need(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    levels: list[tuple[Need, int]],
    offset: int,
    now: dt.datetime,
) -> list[Any]:
    """The page at `offset` in the order of work: need by need (`levels`: how many cases each has), each read by
    deadline from an index (ix_cases_desk_due on the desk's opening view) up to the page's end, where sorting
    every case by its need would compute the need of every one."""
    found: list[Any] = []
    start = 0
    for level, count in levels:
        if len(found) == PAGE_SIZE:
            break
        if count > 0 and offset + len(found) < start + count:
            query = _listed([*where, at_need(level, now)]).order_by(Case.reply_due_at, Case.id)
            # Never below 0: the counts were taken a statement earlier, and a case may have moved since.
            skip = max(0, offset + len(found) - start)
            found += await _rows(session, query, skip, PAGE_SIZE - len(found))
        start += count
    return found


def _facet_columns(now: dt.datetime) -> dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]]:
    return {
        "state": Case.state,
        "department": Case.department_id,
        "topic": Case.topic,
        "station": Case.station_id,
        "deputy": Case.deputy_id,
        "need": need_column(now),
    }


async def _counted(
    session: AsyncSession, actor: Actor, filters: WorklistFilters, facet: str, now: dt.datetime, pending: Sequence[int]
) -> list[tuple[Any, int]]:
    """How many cases each value of `facet` has under the other filters, one statement a facet."""
    column = _facet_columns(now)[facet].label("value")
    others = filters.without(facet)
    where = _conditions(actor, others, now)
    if facet == "need" and not others.at_desk:  # Need.NONE is not counted: only cases that may need work are read
        where.append(attention_column(pending))
    return [(v, c) for v, c in await session.execute(select(column, func.count()).where(*where).group_by(column))]


def _postgresql(session: AsyncSession) -> bool:
    return session.bind is not None and session.bind.dialect.name == "postgresql"


async def _counted_in_one_pass(
    session: AsyncSession,
    wanted: dict[str, dict[str, ColumnElement[bool]]],
    columns: dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]],
    cases: ColumnElement[int] | InstrumentedAttribute[int],
) -> tuple[dict[str, int], dict[str, list[tuple[Any, int]]]]:
    """PostgreSQL: every facet's counts in one pass over the rows (`cases`: how many cases a row stands for, 1 for a
    case, `DeskCount.cases` for a kept count), where `_counted` takes one statement a facet. `wanted` has each
    facet's conditions by what they come from, and those of the totals (every other name, "total" among them). The
    pass reads the rows that every name's conditions have in common (GROUPING SETS, a set a facet, and the grand
    total); each name counts those of them under its own conditions (FILTER). Returns the totals by name and each
    facet's (value, count), those of 0 left out."""
    common = [key for key in wanted["total"] if all(key in clauses for clauses in wanted.values())]
    flags = {
        name: and_(*extra).label(f"in_{name}")
        for name, clauses in wanted.items()
        if (extra := [clause for key, clause in clauses.items() if key not in common])
    }
    rows = (
        select(*(column.label(facet) for facet, column in columns.items()), *flags.values(), cases.label("cases"))
        .where(*(wanted["total"][key] for key in common))
        .subquery()
    )
    facets = list(columns)
    grouped = [rows.c[facet] for facet in facets]
    summed = func.sum(rows.c.cases)
    counts = [summed.filter(rows.c[f"in_{name}"]) if name in flags else summed for name in wanted]
    query = select(*(func.grouping(c) for c in grouped), *grouped, *counts).group_by(
        func.grouping_sets(*(tuple_(c) for c in grouped), tuple_())
    )
    totals: dict[str, int] = {}
    counted: dict[str, list[tuple[Any, int]]] = {facet: [] for facet in facets}
    n = len(facets)
    for row in await session.execute(query):
        by_set, values, numbers = row[:n], row[n : 2 * n], dict(zip(wanted, row[2 * n :], strict=True))
        if all(by_set):
            totals = {name: int(numbers[name] or 0) for name in wanted if name not in counted}
            continue
        i = by_set.index(0)
        if numbers[facets[i]]:
            counted[facets[i]].append((values[i], int(numbers[facets[i]])))
    return totals, counted


def _kept_answers(actor: Actor, filters: WorklistFilters) -> bool:
    """Whether the kept counts (`DeskCount`, the cases not concluded) answer these filters' facets: an actor whose
    `access.case_filter` keeps every case, the filters only the kept columns' (and a state not concluded), no need
    picked (the need's levels are counted apart, under the other filters)."""
    return (
        actor.role in access.ALL_SEEING
        and not filters.q
        and filters.month is None
        and filters.need is None
        and filters.state not in CONCLUDED
    )


def _kept_columns() -> dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]]:
    """The facets of `DeskCount`, valued as `_facet_columns` values them (no department or deputy: None)."""
    return {
        "state": DeskCount.state,
        "department": func.nullif(DeskCount.department_id, 0),
        "topic": DeskCount.topic,
        "station": DeskCount.station_id,
        "deputy": func.nullif(DeskCount.deputy_id, 0),
    }


def _kept_clauses(filters: WorklistFilters) -> dict[str, ColumnElement[bool]]:
    """`_clauses` over the kept counts, for the filters `_kept_answers` allows; the kept rows are the desk's opening
    view. A department or deputy filter of 0 keeps nothing, as `Case.department_id == 0` does."""
    where: dict[str, ColumnElement[bool]] = {"at_desk": true()}
    if filters.state:
        where["state"] = DeskCount.state == filters.state
    if filters.department is not None:
        where["department"] = DeskCount.department_id == filters.department if filters.department else false()
    if filters.topic:
        where["topic"] = DeskCount.topic == filters.topic
    if filters.station is not None:
        where["station"] = DeskCount.station_id == filters.station
    if filters.deputy is not None:
        where["deputy"] = DeskCount.deputy_id == filters.deputy if filters.deputy else false()
    return where


async def _counted_from_kept(
    session: AsyncSession, actor: Actor, filters: WorklistFilters, now: dt.datetime
) -> tuple[int, dict[str, list[tuple[Any, int]]]]:
    """The total and every facet's counts from the kept counts (a few thousand rows, where the cases not concluded
    are tens of thousands), and the need's levels from the few cases that can have one (`_need_counted`)."""
    wanted = {facet: _kept_clauses(filters.without(facet)) for facet in _kept_columns()}
    total_clauses = _kept_clauses(filters)
    escalated = {**total_clauses, "escalated": DeskCount.state == CaseState.ESCALATED.value}
    wanted |= {"total": total_clauses, "escalated": escalated}
    if _postgresql(session):
        totals, counted = await _counted_in_one_pass(session, wanted, _kept_columns(), DeskCount.cases)
    else:
        totals, counted = {}, {}
        for name, clauses in wanted.items():
            summed = func.coalesce(func.sum(DeskCount.cases), 0)
            if name in ("total", "escalated"):
                totals[name] = (await session.execute(select(summed).where(*clauses.values()))).scalar_one()
                continue
            column = _kept_columns()[name]
            query = select(column, summed).where(*clauses.values()).group_by(column)
            counted[name] = [(value, count) for value, count in await session.execute(query) if count]
    levels, escalated_pending = await _need_counted(session, list(_clauses(actor, filters, now).values()), now)
    # An escalated case needs the committee's follow-up unless a reply of it waits for review first.
    # Two statements, two snapshots on PostgreSQL: a case escalated between them must not make the count negative.
    levels[int(Need.ESCALATED)] = max(0, totals["escalated"] - escalated_pending)
    counted["need"] = [(level, count) for level, count in levels.items() if count]
    return totals["total"], counted


async def _need_counted(
    session: AsyncSession, where: list[ColumnElement[bool]], now: dt.datetime
) -> tuple[dict[int, int], int]:
    """How many of the cases matching `where` have each need but Need.ESCALATED, read from the cases that can have
    one but the escalated without a reply pending (most of the desk's open cases, counted from the kept counts
    instead): those received or owing a reply, by the need's rule (`need_column`), and the others with a reply
    pending, all Need.REVIEW (no deadline of theirs is running); and how many of those are escalated. The pending
    replies' cases are read first: by their ids PostgreSQL reads those few cases, where with a subquery it read
    every open case."""
    running = [CaseState.RECEIVED.value, *(s.value for s in OWING_REPLY)]
    level = need_column(now)
    escalated = Case.state == CaseState.ESCALATED.value
    queries = [select(level, false(), func.count()).where(*where, Case.state.in_(running)).group_by(level)]
    if pending := await pending_cases(session):
        queries.append(
            select(literal(int(Need.REVIEW)), escalated, func.count())
            .where(*where, Case.state.not_in(running), Case.id.in_(pending))
            .group_by(escalated)
        )
    levels: dict[int, int] = {}
    escalated_pending = 0
    for value, is_escalated, count in await session.execute(union_all(*queries)):
        levels[value] = levels.get(value, 0) + count
        if is_escalated:
            escalated_pending = count
    return levels, escalated_pending


def _facet_counts(facet: str, counted: list[tuple[Any, int]], names: dict[str, dict[int, str]]) -> list[FacetCount]:
    """A facet's counts as the desk shows them, largest first (needs in their order, Need.NONE left out)."""
    result = []
    for value, count in counted:
        if value is None:
            continue
        if facet == "state":
            result.append(FacetCount(value, CaseState(value).label, count))
        elif facet == "need":
            if value == Need.NONE:
                continue
            result.append(FacetCount(Need(value).name.lower(), Need(value).label, count))
        elif facet == "topic":
            result.append(FacetCount(value, value, count))
        else:
            result.append(FacetCount(str(value), names[facet].get(value, str(value)), count))
    if facet == "need":
        return sorted(result, key=lambda f: Need[f.value.upper()])
    return sorted(result, key=lambda f: (-f.count, f.label))


async def _concluded_counts(session: AsyncSession, where: list[ColumnElement[bool]]) -> list[FacetCount]:
    """How many concluded cases of each state match `where`, each count stopping past COUNT_CAP: a few index
    reads where the exact counts would read most of the table."""
    counts = [
        select(func.count())
        .select_from(select(Case.id).where(*where, Case.state == state).limit(COUNT_CAP + 1).subquery())
        .scalar_subquery()
        for state in CONCLUDED
    ]
    counted = (await session.execute(select(*counts))).one()
    return [
        FacetCount(state, CaseState(state).label, min(count, COUNT_CAP), capped=count > COUNT_CAP)
        for state, count in zip(CONCLUDED, counted, strict=True)
        if count
    ]


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime
    kind: str  # event | message_in | message_out | reply | review | rating | push
    title: str
    text: str
    who: str = ""


@dataclass
class CasePage:
    """One case as the desk shows it to `actor`."""

    number: str
    data: dict[str, Any]  # services.cases.case_detail's view (masked for the actor)
    need: Need
    due_at: dt.datetime | None
    low_topic_confidence: bool
    timeline: list[TimelineEntry]
    attachments: list[dict[str, Any]]
    followers: int
    similar: list[dict[str, str]]
    allowed: list[str]
    departments: list[tuple[str, str]]  # (code, name), for transfer and assign
    topics: tuple[str, ...]
    station: str
    deputy: str
    created_at: dt.datetime
    # The reply templates of the case's topic (record a reply), and what the standing committee may do.
    reply_templates: list[dict[str, str]] = field(default_factory=list)
    committee_kinds: tuple[str, ...] = COMMITTEE_KINDS
    # Whether the user may read the contact as written (each read recorded): staff, the handling department.
    reads_contact: bool = False
    # What each action is called on its button and in the page's confirmation.
    action_labels: dict[str, str] = field(default_factory=lambda: dict(texts.ACTION_VERBS))
    # The problems for several departments the bot found in the report ({topic, text, department} each, the
    # text masked for the actor): the split the desk is asked to make, its form filled in with them.
    suggested_split: list[dict[str, str]] = field(default_factory=list)


async def case_page(
    session: AsyncSession, deployment: Deployment, actor: Actor, number: str, now: dt.datetime
) -> CasePage:
    """A case with everything the desk shows of it; CaseNotFound when `actor` may not see it."""
    case_row, data = await cases.case_detail(session, actor, number, policy=cases.case_policy(deployment))
    public = await access.public_names(session)
    names = case_row.named_people

    def masked(text: str) -> str:
        return access.masked_for(actor, text, names, public)

    pending = any(r["status"] == "pending" for r in data["replies"])
    item = WorkItem(case_row.state, case_row.transfer_due_at, case_row.reply_due_at, pending)
    timeline = [
        TimelineEntry(
            dt.datetime.fromisoformat(e["at"]),
            "event",
            texts.TIMELINE_REGISTERED
            if e["action"] == "register"
            else texts.ACTION_VERBS.get(e["action"], e["action"]),
            e["reason"],
            e["actor"],
        )
        for e in data["events"]
    ]
    messages = (
        (await session.execute(select(Message).where(Message.case_id == case_row.id).order_by(Message.id)))
        .scalars()
        .all()
    )
    timeline += [
        TimelineEntry(
            m.created_at,
            "message_in" if m.direction == "in" else "message_out",
            texts.TIMELINE_MESSAGE_IN if m.direction == "in" else texts.TIMELINE_MESSAGE_OUT,
            masked(m.text),
        )
        for m in messages
    ]
    for reply in (
        (await session.execute(select(CaseReply).where(CaseReply.case_id == case_row.id).order_by(CaseReply.id)))
        .scalars()
        .all()
    ):
        timeline.append(
            TimelineEntry(
                reply.created_at, "reply", texts.TIMELINE_REPLY_RECORDED.format(author=reply.author), masked(reply.text)
            )
        )
        if reply.reviewed_at is not None and reply.status in texts.TIMELINE_REPLY_REVIEWED:
            title = texts.TIMELINE_REPLY_REVIEWED[reply.status].format(reviewer=reply.reviewed_by or "")
            timeline.append(TimelineEntry(reply.reviewed_at, "review", title, masked(reply.review_note or "")))
    for rating in (await session.execute(select(Rating).where(Rating.case_id == case_row.id))).scalars().all():
        timeline.append(
            TimelineEntry(
                rating.at, "rating", texts.TIMELINE_RATING.format(rating=rating.rating), masked(rating.comment)
            )
        )
    if access.unmasked(actor):
        for push in (await session.execute(select(Push).where(Push.case_id == case_row.id))).scalars().all():
            status = texts.PUSH_STATUS_LABELS.get(push.status, push.status)
            title = texts.TIMELINE_PUSH.format(recipient=push.recipient, status=status)
            timeline.append(TimelineEntry(push.created_at, "push", title, push.text))
    timeline.sort(key=lambda entry: entry.at)

    attachments = [
        {"kind": a.kind, "media_ref": a.media_ref, "label": masked(a.label), "lat": a.latitude, "lon": a.longitude}
        for a in case_row.attachments
    ]
    followers = (
        await session.execute(select(func.count()).select_from(CaseFollower).where(CaseFollower.case_id == case_row.id))
    ).scalar_one()
    linked = (
        await session.execute(
            select(Case.number, Case.state, Case.description, Case.named_people)
            .join(
                CaseLink,
                or_(
                    and_(CaseLink.case_id == case_row.id, CaseLink.similar_case_id == Case.id),
                    and_(CaseLink.similar_case_id == case_row.id, CaseLink.case_id == Case.id),
                ),
            )
            .where(access.case_filter(actor))
            .order_by(Case.id.desc())
            .limit(20)
        )
    ).all()
    similar = [
        {
            "number": n,
            "state": CaseState(s).label,
            "summary": access.masked_for(actor, " ".join(d.split()), people, public)[:SUMMARY_LENGTH],
        }
        for n, s, d, people in linked
    ]
    directory = DirectoryStore(session)
    department_rows = (await session.execute(select(Department.code, Department.name).order_by(Department.id))).all()
    return CasePage(
        number=case_row.number,
        data=data,
        need=need(item, now),
        due_at=due_at(item),
        low_topic_confidence=case_row.topic_confidence < LOW_TOPIC_CONFIDENCE,
        timeline=timeline,
        attachments=attachments,
        followers=followers,
        similar=similar,
        allowed=data["allowed_actions"],
        departments=[(code, name) for code, name in department_rows],
        topics=TOPICS,
        station=(await directory.names(Station)).get(case_row.station_id, ""),
        deputy=(await directory.names(Deputy)).get(case_row.deputy_id or 0, ""),
        created_at=case_row.created_at,
        reply_templates=(
            await cases.reply_templates(session, deployment, actor, number)
            if "record_reply" in data["allowed_actions"]
            else []
        ),
        reads_contact=access.reads_contact(actor, await access.case_scope(session, case_row, case_row.events)),
        suggested_split=_suggested_split(deployment, data["events"]),
    )


def _suggested_split(deployment: Deployment, events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The parts the registration noted (services.cases `_problems_detail`), each with its topic's department;
    their texts come masked in the events' detail."""
    registered = next((e for e in events if e["action"] == "register"), None)
    problems = (registered or {}).get("detail", {}).get("problems", [])
    return [
        {"topic": p["topic"], "text": p["text"], "department": route(p["topic"], deployment).code} for p in problems
    ]


async def transfer(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    number: str,
    actor: Actor,
    department_code: str,
    reason: str,
    now: dt.datetime,
) -> tuple[Case, Transition]:
    """Transfer a case to the department chosen on the desk: assigned to it first when it is another than the
    routed one, then transferred, in one unit of work."""
    if not department_code:
        raise InvalidInput(texts.DESK_NO_DEPARTMENT, code="no_department")
    case_row, _ = await cases.case_detail(session, actor, number)
    current = (
        await session.execute(select(Department.code).where(Department.id == case_row.department_id))
    ).scalar_one_or_none()
    if current != department_code:
        await cases.apply(
            session,
            deployment,
            calendar,
            number,
            actor,
            Command(Action.ASSIGN, actor.role, actor.name, reason=reason),
            now,
            department_code=department_code,
        )
    return await cases.perform(
        session,
        deployment,
        calendar,
        number,
        actor,
        Command(Action.TRANSFER, actor.role, actor.name, reason=reason),
        now,
    )
