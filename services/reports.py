"""Figures, the three public lists and deputies' yearly records: the use cases behind `liaison report`,
`liaison export lists`, `liaison deputy record` (bot/cli/reports.py) and the reports API (bot/http/reports.py).

Each takes the actor and checks what they may read (services/access.py): figures, lists and exports are for
staff; a deputy's record for staff and the deputy themself. The rows read from the case store become the plain
`casework.history` rows here, so the rules that turn them into figures and lists stay pure.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import unicodedata
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from casework import lists as casework_lists
from casework.actors import Actor
from casework.cases import CaseState
from casework.errors import Forbidden
from casework.history import CaseHistory, DeputyRow, EventRow, RatingRow, ReplyRow
from casework.lifecycle import Action
from casework.lists import (
    RESULT_STATES,
    ListedCase,
    ListKind,
    PublicList,
    assignment_list,
    result_list,
    suggestion_list,
)
from casework.metrics import ANSWERS, FiguresReport, Grouping, Month, case_record, figures_by, year_bounds
from casework.points import DeputyRecord, deputy_record
from casework.workdays import WorkingCalendar
from services import access, xlsx
from services.reception import reception_deeds
from settings import Deployment
from storage.models import utc
from storage.reports import HistoryRows, ListRules, ReportStore
from texts import staff as staff_texts

ExportFormat = Literal["xlsx", "csv"]
LIST_KINDS: tuple[ListKind, ...] = ("suggestions", "assignments", "results")
# What the lists read of a case's events, for the case store to read it (storage/reports.py).
LIST_RULES = ListRules(
    transfer=Action.TRANSFER.value,
    answers=ANSWERS,
    on_the_spot=Action.ANSWER_ON_SPOT.value,
    close_unrated=Action.CLOSE_UNRATED.value,
    rehandling=CaseState.REHANDLING.value,
)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMN_WIDTHS = (8, 60)  # the narrowest and widest column of an exported list


class NotAllowed(Forbidden):
    """The actor may not read this report."""

    text = staff_texts.REPORTS_FORBIDDEN


def _require(allowed: bool) -> None:
    if not allowed:
        raise NotAllowed


# From the case store to plain rows


def _utc_or_none(moment: dt.datetime | None) -> dt.datetime | None:
    return None if moment is None else utc(moment)


def _named(stored: str | None) -> tuple[str, ...]:
    """The names the NLU found, from their stored JSON text ('[]' for most cases)."""
    return () if stored is None or stored == "[]" else tuple(json.loads(stored) or ())


def listed_cases(rows: Iterable[Sequence[Any]]) -> list[ListedCase]:
    """The stored rows of `ReportStore.listed_between` as `ListedCase` rows (identities only when not
    anonymous), in their order."""
    result = []
    for (
        number,
        state,
        topic,
        description,
        place,
        anonymous,
        contact_phone,
        named_people,
        merged_into,
        escalation_level,
        created_at,
        reply_due_at,
        closed_at,
        citizen_name,
        department,
        deputy_name,
        transferred_at,
        answered_at,
        rehandled,
        closed_unrated,
        rating,
        reply,
        spot_role,
        spot_reason,
    ) in rows:
        result.append(
            ListedCase(
                number=number,
                state=state,
                topic=topic,
                description=description,
                place=place,
                anonymous=anonymous,
                citizen_name=None if anonymous else citizen_name,
                citizen_phone=None if anonymous else contact_phone,
                department=department,
                deputy_name=deputy_name,
                named_people=_named(named_people),
                merged_into=merged_into,
                escalation_level=escalation_level,
                received_at=utc(created_at),
                reply_due_at=utc(reply_due_at),
                closed_at=_utc_or_none(closed_at),
                transferred_at=_utc_or_none(transferred_at),
                answered_at=_utc_or_none(answered_at),
                rehandled=bool(rehandled),
                closed_unrated=bool(closed_unrated),
                rating=rating,
                reply=reply,
                spot_role=spot_role,
                spot_reason=spot_reason,
            )
        )
    return result


def histories(rows: HistoryRows) -> list[CaseHistory]:
    """The stored rows of some cases as `CaseHistory` rows, in the order of `rows.cases`.

    Each row is unpacked in the order of its columns in storage/reports.py (`CASE_COLUMNS`, `EVENT_COLUMNS`,
    `REPLY_COLUMNS`, `RATING_COLUMNS`): a row's attributes by name cost more than the rest of the loop (about
    2 µs each, thousands of rows)."""
    events: dict[int, list[EventRow]] = defaultdict(list)
    for event_id, case_id, action, actor, role, from_state, to_state, reason, at in rows.events:
        deputy = rows.deputy_users.get(actor) if role == "deputy" else None
        events[case_id].append(EventRow(event_id, action, actor, role, deputy, from_state, to_state, reason, utc(at)))
    replies: dict[int, list[ReplyRow]] = defaultdict(list)
    for case_id, number, text, reviewed_at, created_at in rows.replies:
        replies[case_id].append(ReplyRow(number or 0, text, utc(reviewed_at or created_at)))
    ratings: dict[int, list[RatingRow]] = defaultdict(list)
    for case_id, reply_number, rating, comment, at in rows.ratings:
        ratings[case_id].append(RatingRow(reply_number, rating, comment, utc(at)))
    result = []
    for row in rows.cases:
        (
            case_id, number, state, topic, description, place, anonymous, contact_phone, created_at,
            transfer_due_at, reply_due_at, closed_at, merged_into, escalation_level, named_people, *_,
        ) = row.case  # fmt: skip
        result.append(
            CaseHistory(
                number=number,
                state=state,
                topic=topic,
                description=description,
                place=place,
                anonymous=anonymous,
                citizen_name=None if anonymous else row.citizen_name,
                citizen_phone=None if anonymous else contact_phone,
                station=row.station,
                department=row.department,
                deputy_code=row.deputy_code,
                deputy_name=row.deputy_name,
                created_at=utc(created_at),
                transfer_due_at=utc(transfer_due_at),
                reply_due_at=utc(reply_due_at),
                closed_at=_utc_or_none(closed_at),
                merged_into=merged_into,
                escalation_level=escalation_level,
                events=tuple(events[case_id]),
                replies=tuple(replies[case_id]),
                ratings=tuple(ratings[case_id]),
                named_people=tuple(named_people or ()),
            )
        )
    return result


# The use cases


async def load_figures(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    actor: Actor,
    month: Month,
    by: Grouping,
    as_of: dt.datetime,
) -> FiguresReport:
    """The figures of the cases received in `month`, grouped `by`, as of `as_of`. Staff only."""
    _require(access.may_read_reports(actor))
    found = histories(await ReportStore(session).received_between(month.start, month.end))
    days = deployment.deadlines.reply_working_days
    return figures_by([case_record(h, calendar, days) for h in found], by, calendar, as_of)


async def load_list(
    session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, actor: Actor, month: Month, kind: ListKind
) -> PublicList:
    """One of the three lists of `month`, masked for publication whoever reads it (services/access.py).
    Staff only (the lists are published once checked)."""
    _require(access.may_read_reports(actor))
    return await month_list(session, deployment, calendar, month, kind)


async def load_lists(
    session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, actor: Actor, month: Month
) -> tuple[PublicList, ...]:
    """代表建议清单, 交办清单 and 办理效果清单 of `month`, in that order."""
    _require(access.may_read_reports(actor))
    return await month_lists(session, deployment, calendar, month)


async def month_lists(
    session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, month: Month
) -> tuple[PublicList, ...]:
    """代表建议清单, 交办清单 and 办理效果清单 of `month`, masked, from one read of the cases in any of them, each read
    as the lists read it (`casework.lists.ListedCase`). No check of who reads (see `month_list`)."""
    rows = await ReportStore(session).listed_between(month.start, month.end, RESULT_STATES, LIST_RULES)
    public = await access.public_names(session)
    days = deployment.deadlines.reply_working_days
    return casework_lists.lists_of(month, listed_cases(rows), calendar, days, public)


async def month_list(
    session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, month: Month, kind: ListKind
) -> PublicList:
    """One of the three lists of `month`, masked. No check of who reads: `load_list` lets staff read any month,
    services/publication.py anyone a published month."""
    store = ReportStore(session)
    days = deployment.deadlines.reply_working_days
    public = await access.public_names(session)
    match kind:
        case "suggestions":
            return suggestion_list(month, histories(await store.received_between(month.start, month.end)), public)
        case "assignments":
            found = histories(await store.transferred_between(month.start, month.end))
            return assignment_list(month, found, calendar, days, public)
        case "results":
            found = histories(await store.ended_between(month.start, month.end, RESULT_STATES))
            return result_list(month, found, calendar, days, public)
    raise ValueError(f"unknown list {kind!r}")


async def load_deputy_record(
    session: AsyncSession, deployment: Deployment, actor: Actor, code: str, year: int
) -> DeputyRecord | None:
    """The deputy's 履职档案 for `year`, for staff or the deputy themself; None when no deputy has this code
    (in the store or config.yml)."""
    _require(access.may_read_deputy_record(actor, code))
    store = ReportStore(session)
    stored = await store.deputy(code)
    identity = DeputyRow(*stored) if stored else _configured_deputy(deployment, code)
    if identity is None:
        return None
    start, end = year_bounds(year)
    reception = await reception_deeds(session, deployment, start, end)
    cases = histories(await store.deputy_cases(code, start, end))
    public = await access.public_names(session)
    return deputy_record(identity, year, cases, deployment.points.rules, reception, public)


def _configured_deputy(deployment: Deployment, code: str) -> DeputyRow | None:
    """A deputy of config.yml not yet mirrored into the store (the web app mirrors them at start)."""
    deputy = deployment.deputy(code)
    if deputy is None:
        return None
    station = next((s.name for s in deployment.stations if s.code == deputy.station), deputy.station)
    return DeputyRow(deputy.code, deputy.name, deputy.level, deputy.constituency, station)


@dataclass(frozen=True)
class Export:
    """A file to download or write: its bytes, media type and name."""

    content: bytes
    media_type: str
    name: str


async def export_lists(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    actor: Actor,
    month: Month,
    fmt: ExportFormat,
) -> Export:
    """The three lists of `month` as one Excel workbook (a sheet each) or a zip of three CSV files."""
    lists = await load_lists(session, deployment, calendar, actor, month)
    if fmt == "xlsx":
        return Export(lists_xlsx(lists), XLSX_MEDIA_TYPE, xlsx_name(month))
    return Export(lists_csv_zip(lists), "application/zip", f"lists-{month}-csv.zip")


# Export formats


def figures_json(report: FiguresReport, month: Month) -> dict[str, Any]:
    return {
        "month": str(month),
        "by": report.by,
        "as_of": report.as_of.isoformat(),
        "groups": [f.as_dict() for f in report.groups],
        "total": report.total.as_dict(),
    }


def display_width(text: str) -> int:
    """Columns the text takes in a terminal or a sheet: Chinese characters take two."""
    if text.isascii():  # case numbers, dates, masked phones: one column a character, counted at once
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def list_csv(public_list: PublicList) -> bytes:
    """One list as CSV with a BOM, so Excel opens the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in public_list.table():
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def lists_xlsx(lists: tuple[PublicList, ...]) -> bytes:
    """One workbook, one sheet per list, named by its Chinese title, the header row bold and frozen."""
    sheets = []
    for public_list in lists:
        table = public_list.table()
        widths = [column_width(column) for column in zip(*table, strict=True)]
        sheets.append(xlsx.Sheet(public_list.title, table, widths))
    return xlsx.workbook(sheets)


def column_width(values: Iterable[Any]) -> int:
    """A sheet column's width: its longest value's display width and a margin, between 8 and 60.

    Each distinct text is measured once, and none that cannot be the longest: a text is at most twice as wide
    as it is long (a month's lists have some 700,000 cells, most of them repeated values or long summaries)."""
    longest = 0
    for text in {"" if value is None else str(value) for value in values}:
        if 2 * len(text) > longest:
            longest = max(longest, display_width(text))
            if longest + 2 >= COLUMN_WIDTHS[1]:
                break
    return min(max(longest + 2, COLUMN_WIDTHS[0]), COLUMN_WIDTHS[1])


def xlsx_name(month: Month) -> str:
    return f"lists-{month}.xlsx"


def csv_name(public_list: PublicList) -> str:
    return f"{public_list.kind}-{public_list.month}.csv"


def lists_csv_zip(lists: tuple[PublicList, ...]) -> bytes:
    """The three CSV files in one zip, for a single download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for public_list in lists:
            archive.writestr(csv_name(public_list), list_csv(public_list))
    return buffer.getvalue()
