"""The console's figures (/console/figures): 办结率, 满意率, the 24-hour transfer rate, the on-time rate, unrated,
re-handled, escalated and the median working days of the cases received in a month, by department, station or
deputy, their trend over twelve months, and the Excel workbook of them all.

Counted in the database (storage/figures.py: one GROUP BY over the cases and the milestones their rows hold,
a tally per group and day) and added up by the rules of casework/metrics.py, which say what each figure
means; the other road to the same figures,
`services.reports.load_figures` (every case's history read into Python), stays for the command line and
the API, and the tests hold the two together. Staff and admins read the figures of every case, a department
those of its own cases (services/access.py).
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.cases import CaseState
from casework.deadlines import LOCAL
from casework.errors import Forbidden
from casework.lifecycle import SATISFIED
from casework.metrics import (
    NO_DEPARTMENT,
    NO_DEPUTY,
    Figures,
    FiguresReport,
    Grouping,
    Month,
    Tally,
    combine,
    first_answer_due,
    report_of,
)
from casework.workdays import WorkingCalendar
from services import access
from services.reports import XLSX_MEDIA_TYPE, Export, display_width
from settings import Deployment
from storage.figures import FigureStore, Rules, TallyRow
from texts import staff as texts

__all__ = [
    "PAGE_GROUPINGS",
    "TREND_MONTHS",
    "FiguresPage",
    "NotAllowed",
    "count",
    "export_figures",
    "figures_page",
    "month_figures",
    "months_up_to",
    "trend",
]

# The groupings the page offers for one month; the months are the trend.
PAGE_GROUPINGS: tuple[Grouping, ...] = ("department", "station", "deputy")
TREND_MONTHS = 12


class NotAllowed(Forbidden):
    """The actor may not read figures."""

    text = texts.FIGURES_FORBIDDEN


@dataclass(frozen=True)
class FiguresPage:
    """What /console/figures shows: the month's figures grouped `by`, and the twelve months ending with it
    (oldest first; a month without cases has zero counts and no rates)."""

    month: Month
    by: Grouping
    as_of: dt.datetime
    report: FiguresReport
    trend: tuple[Figures, ...]


def _require(actor: Actor) -> ColumnElement[bool]:
    if not access.may_read_figures(actor):
        raise NotAllowed
    return access.figures_filter(actor)


async def figures_page(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    actor: Actor,
    month: Month,
    by: Grouping,
    as_of: dt.datetime,
) -> FiguresPage:
    """The month's figures grouped `by` and the trend of the twelve months up to it, for staff (every case)
    or a department (its own). One query: the twelve months' tallies by group and day make both."""
    scope = _require(actor)
    months = months_up_to(month)
    tallies = await _tallies(session, deployment, calendar, months, by, as_of, scope)
    report = report_of([t for t in tallies if _month_of(t) == month], by, calendar, as_of)
    return FiguresPage(month, by, as_of, report, _trend_of(tallies, months, calendar))


async def month_figures(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    actor: Actor,
    month: Month,
    by: Grouping,
    as_of: dt.datetime,
) -> FiguresReport:
    """The figures of the cases received in `month` that the actor may count, grouped `by`."""
    return await count(session, deployment, calendar, [month], by, as_of, _require(actor))


async def trend(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    actor: Actor,
    last: Month,
    as_of: dt.datetime,
) -> tuple[Figures, ...]:
    """The figures of each of the twelve months ending with `last`, oldest first."""
    months = months_up_to(last)
    tallies = await _tallies(session, deployment, calendar, months, "station", as_of, _require(actor))
    return _trend_of(tallies, months, calendar)


async def export_figures(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    actor: Actor,
    month: Month,
    as_of: dt.datetime,
) -> Export:
    """One Excel workbook: the month's figures by department, by station and by deputy, and the twelve months
    up to it, a sheet each."""
    scope = _require(actor)
    stamp = f"{as_of.astimezone(LOCAL):%Y-%m-%d %H:%M}"
    sheets = []
    months: tuple[Figures, ...] = ()
    for by in PAGE_GROUPINGS:
        if not months:  # the first grouping's query covers the twelve months: the trend comes with it
            tallies = await _tallies(session, deployment, calendar, months_up_to(month), by, as_of, scope)
            months = _trend_of(tallies, months_up_to(month), calendar)
            report = report_of([t for t in tallies if _month_of(t) == month], by, calendar, as_of)
        else:
            report = await count(session, deployment, calendar, [month], by, as_of, scope)
        sheet = texts.FIGURES_SHEETS[by]
        heading = texts.FIGURES_SHEET_HEADING.format(month=month.label, sheet=sheet, as_of=stamp)
        sheets.append((sheet, heading, [*report.groups, report.total]))
    first = month.plus(1 - TREND_MONTHS).label
    heading = texts.FIGURES_TREND_HEADING.format(first=first, last=month.label, as_of=stamp)
    sheets.append((texts.FIGURES_SHEETS["trend"], heading, list(months)))
    return Export(figures_xlsx(sheets), XLSX_MEDIA_TYPE, f"figures-{month}.xlsx")


# Counting


async def count(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    months: Sequence[Month],
    by: Grouping,
    as_of: dt.datetime,
    scope: ColumnElement[bool],
) -> FiguresReport:
    """The figures of the cases received in `months` (consecutive) that `scope` keeps, grouped `by`. No
    check of who asks: the use cases above (and the public pages, of a published month) decide `scope`."""
    return report_of(await _tallies(session, deployment, calendar, months, by, as_of, scope), by, calendar, as_of)


async def _tallies(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    months: Sequence[Month],
    by: Grouping,
    as_of: dt.datetime,
    scope: ColumnElement[bool],
) -> list[Tally]:
    rules = counting_rules(deployment, calendar, months)
    rows = await FigureStore(session).tallies(months[0].start, months[-1].end, by, rules, as_of, scope)
    return [_tally(row, by) for row in rows]


def months_up_to(last: Month) -> list[Month]:
    """The twelve months ending with `last`, oldest first."""
    return [last.plus(n) for n in range(1 - TREND_MONTHS, 1)]


def _month_of(tally: Tally) -> Month:
    return Month(tally.received_on.year, tally.received_on.month)


def _trend_of(tallies: Iterable[Tally], months: Sequence[Month], calendar: WorkingCalendar) -> tuple[Figures, ...]:
    """The figures of each month, named 2026年11月 and keyed 2026-11 (zero counts when it had no cases)."""
    per_month: dict[Month, list[Tally]] = defaultdict(list)
    for t in tallies:
        per_month[_month_of(t)].append(t)
    spans: dict[tuple[dt.date, dt.date], int] = {}
    return tuple(combine(m.label, per_month[m], calendar, str(m), spans) for m in months)


def counting_rules(deployment: Deployment, calendar: WorkingCalendar, months: Iterable[Month]) -> Rules:
    """The rules of casework/metrics.py as the database counts them, with the first answer's deadline of a
    case received on each day of `months`."""
    days = deployment.deadlines.reply_working_days
    return Rules(
        satisfied=sorted(SATISFIED),
        closed=CaseState.CLOSED.value,
        first_answer_due={
            day: first_answer_due(dt.datetime.combine(day, dt.time(), tzinfo=LOCAL), calendar, days)
            for month in months
            for day in month.days()
        },
    )


def _tally(row: TallyRow, by: Grouping) -> Tally:
    """A row counted by the database as the tally casework adds up; the cases without a department or a
    deputy are grouped under the names `casework.metrics.group_of` gives them."""
    name = row.name if row.name is not None else NO_DEPARTMENT if by == "department" else NO_DEPUTY
    return Tally(
        group=name,
        received_on=row.received_on,
        answered_on=row.answered_on,
        cases=row.cases,
        transfers_due=row.transfers_due,
        transferred_on_time=row.transferred_on_time,
        answers_due=row.answers_due,
        answered_on_time=row.answered_on_time,
        closed=row.closed,
        rated=row.rated,
        satisfied=row.satisfied,
        unrated=row.unrated,
        rehandled=row.rehandled,
        escalated=row.escalated,
        key=row.key or "",
    )


# The workbook


def figure_row(figures: Figures) -> list[Any]:
    """One row of the table and the sheet: the values under `texts.FIGURE_HEADERS`, in its order."""
    values = figures.as_dict()
    return [values[name] for name in texts.FIGURE_HEADERS]


def figures_xlsx(sheets: Iterable[tuple[str, str, Sequence[Figures]]]) -> bytes:
    """A workbook of (sheet name, heading, rows): the heading, then the header row (bold, frozen) and a row
    of figures per group."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for name, heading, rows in sheets:
        sheet = book.create_sheet(name)
        sheet.append([heading])
        sheet.append(list(texts.FIGURE_HEADERS.values()))
        for figures in rows:
            sheet.append(figure_row(figures))
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        sheet["A1"].font = Font(bold=True)
        sheet.freeze_panes = "B3"
        for column in sheet.iter_cols(min_row=2):
            longest = max(display_width("" if c.value is None else str(c.value)) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(longest + 2, 8), 40)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
