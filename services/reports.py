"""Figures, the three public lists and deputies' yearly records: read from the case store, rendered as
a Chinese text table, JSON, CSV or Excel. Shared by `liaison report`, `liaison export lists`,
`liaison deputy record` and the reports API (bot/reports_api.py).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import unicodedata
import zipfile
from pathlib import Path
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from casework.deadlines import LOCAL
from casework.lists import (
    LIST_TITLES,
    RESULT_STATES,
    ListKind,
    PublicList,
    assignment_list,
    result_list,
    suggestion_list,
)
from casework.metrics import GROUPINGS, Figures, FiguresReport, Grouping, Month, case_record, figures_by, year_bounds
from casework.points import DeputyRecord, deputy_record
from casework.workdays import WorkingCalendar
from services.reception import reception_deeds
from settings import Deployment, Settings, load_deployment
from storage.db import make_engine, make_sessionmaker
from storage.reports import DeputyRow, ReportStore

ExportFormat = Literal["xlsx", "csv"]
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def calendar_of(deployment: Deployment) -> WorkingCalendar:
    return WorkingCalendar(deployment.calendar.holidays, deployment.calendar.workdays)


# Loading

async def load_figures(session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, month: Month,
                       by: Grouping, as_of: dt.datetime) -> FiguresReport:
    """The figures of the cases received in `month`, grouped `by`, as of `as_of`."""
    histories = await ReportStore(session).received_between(month.start, month.end)
    days = deployment.deadlines.reply_working_days
    return figures_by([case_record(h, calendar, days) for h in histories], by, calendar, as_of)


async def load_list(session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar, month: Month,
                    kind: ListKind) -> PublicList:
    """One of the three lists of `month`."""
    store = ReportStore(session)
    days = deployment.deadlines.reply_working_days
    match kind:
        case "suggestions":
            return suggestion_list(month, await store.received_between(month.start, month.end))
        case "assignments":
            return assignment_list(month, await store.transferred_between(month.start, month.end), calendar, days)
        case "results":
            histories = await store.ended_between(month.start, month.end, RESULT_STATES)
            return result_list(month, histories, calendar, days)
    raise ValueError(f"unknown list {kind!r}")


async def load_lists(session: AsyncSession, deployment: Deployment, calendar: WorkingCalendar,
                     month: Month) -> tuple[PublicList, ...]:
    """代表建议清单, 交办清单 and 办理效果清单 of `month`, in that order."""
    return tuple([await load_list(session, deployment, calendar, month, kind) for kind in LIST_TITLES])


async def load_deputy_record(session: AsyncSession, deployment: Deployment, code: str,
                             year: int) -> DeputyRecord | None:
    """The deputy's 履职档案 for `year`; None when no deputy has this code (in the store or config.yml)."""
    store = ReportStore(session)
    identity = await store.deputy(code) or _configured_deputy(deployment, code)
    if identity is None:
        return None
    start, end = year_bounds(year)
    reception = await reception_deeds(session, deployment, start, end)
    return deputy_record(identity, year, await store.deputy_cases(code, start, end), deployment.points.rules,
                         reception)


def _configured_deputy(deployment: Deployment, code: str) -> DeputyRow | None:
    """A deputy of config.yml not yet mirrored into the store (the web app mirrors them at start)."""
    deputy = deployment.deputy(code)
    if deputy is None:
        return None
    station = next((s.name for s in deployment.stations if s.code == deputy.station), deputy.station)
    return DeputyRow(deputy.code, deputy.name, deputy.level, deputy.constituency, station)


# Figures

def figures_json(report: FiguresReport, month: Month) -> dict[str, Any]:
    return {"month": str(month), "by": report.by, "as_of": report.as_of.isoformat(),
            "groups": [f.as_dict() for f in report.groups], "total": report.total.as_dict()}


def _rate(rate: float | None, part: int, whole: int) -> str:
    return "—" if rate is None else f"{rate:.1f}% ({part}/{whole})"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


FIGURE_COLUMNS = ("受理", "24小时内转办", "按期答复", "办结率", "满意率", "逾期未评价", "重新办理", "升级",
                  "用时中位数(工作日)")


def _figure_cells(f: Figures) -> list[str]:
    return [str(f.received), _rate(f.transfer_rate, f.transferred_on_time, f.transfers_due),
            _rate(f.on_time_rate, f.answered_on_time, f.answers_due), _rate(f.closed_rate, f.closed, f.received),
            _rate(f.satisfaction_rate, f.satisfied, f.rated), str(f.unrated), str(f.rehandled), str(f.escalated),
            _days(f.median_working_days)]


def _width(text: str) -> int:
    """Columns the text takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def text_table(rows: list[list[str]], align: str = "") -> str:
    """Rows of cells aligned in columns, Chinese-width aware. `align` has an "l" or "r" per column;
    by default the first column is left-aligned and the others (figures) right-aligned."""
    count = len(rows[0])
    align = align or "l" + "r" * (count - 1)
    widths = [max(_width(row[i]) for row in rows) for i in range(count)]

    def cell(text: str, i: int) -> str:
        padding = " " * (widths[i] - _width(text))
        return text + padding if align[i] == "l" else padding + text

    return "\n".join("  ".join(cell(text, i) for i, text in enumerate(row)).rstrip() for row in rows)


def figures_text(report: FiguresReport, month: Month) -> str:
    as_of = report.as_of.astimezone(LOCAL)
    rows = [[GROUPINGS[report.by], *FIGURE_COLUMNS]]
    rows += [[f.group, *_figure_cells(f)] for f in (*report.groups, report.total)]
    return "\n".join([
        f"{month.label}受理案件办理情况（按{GROUPINGS[report.by]}）  统计至 {as_of:%Y-%m-%d %H:%M}",
        "",
        text_table(rows) if report.groups else "（本月没有受理案件）",
        "",
        "注：转办、按期答复只计应转办、应答复的案件；满意率以已评价案件为分母、最近一次评价为准；"
        "用时为受理至首次答复的工作日数。",
    ])


# Lists

def list_csv(public_list: PublicList) -> bytes:
    """One list as CSV with a BOM, so Excel opens the Chinese correctly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in public_list.table():
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue().encode("utf-8-sig")


def lists_xlsx(lists: tuple[PublicList, ...]) -> bytes:
    """One workbook, one sheet per list, named by its Chinese title, the header row bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for public_list in lists:
        sheet = book.create_sheet(public_list.title)
        for row in public_list.table():
            sheet.append(row)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for column in sheet.columns:
            longest = max(_width("" if c.value is None else str(c.value)) for c in column)
            sheet.column_dimensions[column[0].column_letter].width = min(max(longest + 2, 8), 60)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


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


def write_lists(lists: tuple[PublicList, ...], fmt: ExportFormat, out_dir: Path) -> list[Path]:
    """Write the lists into `out_dir` (one workbook, or one CSV file each); return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        path = out_dir / xlsx_name(lists[0].month)
        path.write_bytes(lists_xlsx(lists))
        return [path]
    paths = []
    for public_list in lists:
        path = out_dir / csv_name(public_list)
        path.write_bytes(list_csv(public_list))
        paths.append(path)
    return paths


# Deputies' records

def record_text(record: DeputyRecord) -> str:
    """履职档案 on one page."""
    who = record.identity
    by_state = "，".join(f"{label} {count}" for label, count in record.cases_by_state.items()) or "无"
    lines = [
        f"{who.name} {record.year}年度履职档案",
        "",
        f"代表编码：{who.code}    层级：{who.level}级人大代表",
        f"选区：{who.constituency}    所属联络站：{who.station}",
        "",
        f"跟进案件：{len(record.cases)} 件（{by_state}）",
    ]
    lines += [f"  {c.number}  {c.received_on:%Y-%m-%d}  {c.topic}  {c.state.label}" for c in record.cases]
    lines += ["", f"当场答复：{len(record.on_the_spot)} 次"]
    lines += [f"  {a.number}  {a.on:%Y-%m-%d}  {a.answer}" for a in record.on_the_spot]
    lines += ["", f"履职积分：{record.total} 分"]
    if record.points:
        rows = [["日期", "事项", "积分", "案件编号", "事件号"]]
        rows += [[f"{item.at.astimezone(LOCAL):%Y-%m-%d}", item.label, f"+{item.points}" if item.points > 0
                  else str(item.points), item.ref, str(item.record_id)] for item in record.points]
        lines += ["  " + line for line in text_table(rows, align="llrll").splitlines()]
    else:
        lines.append("  （本年度暂无积分记录）")
    return "\n".join(lines)


# The commands

class _Store:
    """The deployment and a session on the case store, for one command."""

    def __init__(self, settings: Settings) -> None:
        self.deployment = load_deployment(settings.config_path)
        self.calendar = calendar_of(self.deployment)
        self.engine = make_engine(settings.async_database_url)
        self.sessionmaker = make_sessionmaker(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()


async def report_command(settings: Settings, month: Month, by: Grouping, as_json: bool) -> str:
    store = _Store(settings)
    try:
        async with store.sessionmaker() as session:
            report = await load_figures(session, store.deployment, store.calendar, month, by, dt.datetime.now(dt.UTC))
    finally:
        await store.close()
    if as_json:
        return json.dumps(figures_json(report, month), ensure_ascii=False, indent=2)
    return figures_text(report, month)


async def export_lists_command(settings: Settings, month: Month, fmt: ExportFormat, out_dir: Path) -> list[Path]:
    store = _Store(settings)
    try:
        async with store.sessionmaker() as session:
            lists = await load_lists(session, store.deployment, store.calendar, month)
    finally:
        await store.close()
    return write_lists(lists, fmt, out_dir)


async def deputy_record_command(settings: Settings, code: str, year: int, as_json: bool) -> str | None:
    store = _Store(settings)
    try:
        async with store.sessionmaker() as session:
            record = await load_deputy_record(session, store.deployment, code, year)
    finally:
        await store.close()
    if record is None:
        return None
    return json.dumps(record.as_dict(), ensure_ascii=False, indent=2) if as_json else record_text(record)
