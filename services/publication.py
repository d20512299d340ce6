"""Publishing the three lists (代表建议清单、交办清单、办理效果清单) with the headline figures, month by month, at
/public/ where anyone reads them without signing in.

Staff choose the months published (`publish`, `withdraw`; services/access.py `may_publish`) on the console's
/console/publish, and may preview any month there first. The public reads only published months; any other
answers `NotPublished` (404). What the public reads is masked by the lists' own rules (casework/lists.py:
names, phone and ID numbers, addresses below the street), whoever reads it; the headline figures carry no
identities. A page reads and masks only the rows it shows (`PAGE_SIZE`), however many the month holds.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.errors import Forbidden, NotFound
from casework.lifecycle import Action
from casework.lists import RESULT_STATES, ListKind, PublicList, assignment_list, result_list, suggestion_list
from casework.metrics import Figures, Month
from casework.workdays import WorkingCalendar
from services import access, figures
from services.reports import LIST_KINDS, XLSX_MEDIA_TYPE, Export, histories, lists_xlsx, month_lists, xlsx_name
from settings import Deployment
from storage.publication import ListPages, PublicationStore
from texts import public as public_texts
from texts import staff as staff_texts

__all__ = [
    "LIST_KINDS",
    "PAGE_SIZE",
    "MonthStatus",
    "MonthView",
    "NotPublished",
    "publication_months",
    "preview_month",
    "public_month",
    "public_workbook",
    "publish",
    "published_months",
    "withdraw",
]

log = logging.getLogger("liaison.publication")
PAGE_SIZE = 50
# The months the publishing page offers, the current one included (older published ones are listed too).
MONTHS_OFFERED = 24


class NotPublished(NotFound):
    """The month is not published (or there is no such month): the public pages answer 404."""

    text = public_texts.NOT_PUBLISHED


class MayNotPublish(Forbidden):
    text = staff_texts.PUBLISH_FORBIDDEN


@dataclass(frozen=True)
class Published:
    month: Month
    published_by: str
    published_at: dt.datetime


@dataclass(frozen=True)
class ListPage:
    """One page of one of a month's lists: its rows (masked), and where it is among the list's pages."""

    rows: PublicList
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class MonthView:
    """What a month's public page shows: the headline figures, how many cases each list holds, and one page of
    one list. `published` is None in a staff preview of a month not (yet) published."""

    month: Month
    headline: Figures
    counts: dict[str, int]
    shown: ListPage
    published: Published | None
    as_of: dt.datetime


@dataclass(frozen=True)
class MonthStatus:
    """A month on the publishing page: the cases received in it and whether (by whom, when) it is published."""

    month: Month
    received: int
    published: Published | None


# The public


async def published_months(session: AsyncSession) -> list[Published]:
    """The published months, the latest first (the public index)."""
    return [
        _published(row.month, row.published_by, row.published_at) for row in await PublicationStore(session).months()
    ]


async def public_month(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    month: Month,
    kind: ListKind,
    page: int,
    as_of: dt.datetime,
) -> MonthView:
    """A published month's page for anyone; NotPublished for any other month."""
    published = await _published_or_404(session, month)
    return await _month_view(session, deployment, calendar, month, kind, page, as_of, published)


async def public_workbook(
    session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, month: Month
) -> Export:
    """The three lists of a published month as one Excel workbook, masked as on the page."""
    await _published_or_404(session, month)
    lists = await month_lists(session, deployment, calendar, month)
    return Export(lists_xlsx(lists), XLSX_MEDIA_TYPE, xlsx_name(month))


# Staff


async def publication_months(session: AsyncSession, actor: Actor, today: Month) -> list[MonthStatus]:
    """The months staff may publish: those of the last two years up to `today`'s month that received cases,
    and every month published, the latest first, each with the cases received in it."""
    _require(actor)
    published = {p.month: p for p in await published_months(session)}
    first = min([today.plus(1 - MONTHS_OFFERED), *published])
    received = await PublicationStore(session).received_per_month(first.start)
    offered = {m for m in (today.plus(-n) for n in range(MONTHS_OFFERED)) if received.get(str(m))}
    months = sorted(offered | set(published), reverse=True)
    return [MonthStatus(m, received.get(str(m), 0), published.get(m)) for m in months]


async def preview_month(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    actor: Actor,
    month: Month,
    kind: ListKind,
    page: int,
    as_of: dt.datetime,
) -> MonthView:
    """A month's public page as it would be published (or is): for staff, any month."""
    _require(actor)
    found = await PublicationStore(session).get(str(month))
    published = None if found is None else _published(found.month, found.published_by, found.published_at)
    return await _month_view(session, deployment, calendar, month, kind, page, as_of, published)


async def publish(session: AsyncSession, actor: Actor, month: Month, now: dt.datetime) -> bool:
    """Publish the month's lists and figures at /public/; False when it already was. Commits."""
    _require(actor)
    done = await PublicationStore(session).publish(str(month), actor.name, now)
    await session.commit()
    if done:
        log.info("%s published the lists of %s", actor.name, month)
    return done


async def withdraw(session: AsyncSession, actor: Actor, month: Month) -> bool:
    """Take the month off /public/ (its pages answer 404 again); False when it was not published. Commits."""
    _require(actor)
    done = await PublicationStore(session).withdraw(str(month))
    await session.commit()
    if done:
        log.info("%s withdrew the lists of %s", actor.name, month)
    return done


# Shared


def _require(actor: Actor) -> None:
    if not access.may_publish(actor):
        raise MayNotPublish


def _published(month: str, by: str, at: dt.datetime) -> Published:
    return Published(Month.parse(month), by, at)


async def _published_or_404(session: AsyncSession, month: Month) -> Published:
    found = await PublicationStore(session).get(str(month))
    if found is None:
        raise NotPublished(public_texts.NOT_PUBLISHED_MONTH.format(month=month.label))
    return _published(found.month, found.published_by, found.published_at)


async def _month_view(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    month: Month,
    kind: ListKind,
    page: int,
    as_of: dt.datetime,
    published: Published | None,
) -> MonthView:
    """The headline figures of the month (every case received in it: no identities), the size of each list,
    and one page of the `kind` list, masked (casework/lists.py)."""
    headline = (await figures.count(session, deployment, calendar, [month], "station", as_of, true())).total
    pages = ListPages(session, Action.TRANSFER.value, RESULT_STATES)
    counts: dict[str, int] = {k: await pages.count(k, month.start, month.end) for k in LIST_KINDS}
    total = counts[kind]
    last = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), last)
    found = histories(await pages.page(kind, month.start, month.end, (page - 1) * PAGE_SIZE, PAGE_SIZE))
    public = await access.public_names(session)
    days = deployment.deadlines.reply_working_days
    match kind:
        case "suggestions":
            rows = suggestion_list(month, found, public)
        case "assignments":
            rows = assignment_list(month, found, calendar, days, public)
        case "results":
            rows = result_list(month, found, calendar, days, public)
    return MonthView(month, headline, counts, ListPage(rows, total, page, last), published, as_of)
