"""`liaison report`, `liaison export lists` and `liaison deputy record|bind-code`: the reports of
services/reports.py printed as Chinese text tables or JSON, or written as files. The operator at the command
line reads as an admin (services.access.OPERATOR)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from bot.cli.common import load_settings
from casework.deadlines import LOCAL
from casework.lists import PublicList
from casework.metrics import GROUPINGS, Figures, FiguresReport, Grouping, Month
from casework.points import DeputyRecord
from settings import Settings
from texts import staff as texts

if TYPE_CHECKING:
    from services.reports import ExportFormat


def _month(_ctx: click.Context, _param: click.Parameter, value: str) -> Month:
    try:
        return Month.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command("report")
@click.option("--month", required=True, callback=_month, help="Beijing-time month, e.g. 2026-11")
@click.option(
    "--by", type=click.Choice(["department", "station", "deputy", "month"]), default="department", show_default=True
)
@click.option("--json", "as_json", is_flag=True)
def report(month: Month, by: Grouping, as_json: bool) -> None:
    """Figures of the cases received in a month: 办结率, 满意率, on-time rates, per group."""
    click.echo(asyncio.run(report_command(load_settings(), month, by, as_json)))


@click.group("export")
def export() -> None:
    """Files to publish."""


@export.command("lists")
@click.option("--month", required=True, callback=_month, help="Beijing-time month, e.g. 2026-11")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["xlsx", "csv"]),
    default="xlsx",
    show_default=True,
    help="one workbook with a sheet per list, or one CSV file per list",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="directory to write into (default: the current one)",
)
def export_lists(month: Month, fmt: ExportFormat, out_dir: Path) -> None:
    """The three lists of a month (代表建议清单、交办清单、办理效果清单), names and phones masked."""
    for path in asyncio.run(export_lists_command(load_settings(), month, fmt, out_dir)):
        click.echo(path.resolve())


@click.group("deputy")
def deputy() -> None:
    """Deputies' work: their yearly record (履职档案)."""


@deputy.command("record")
@click.argument("code")
@click.option("--year", type=int, default=None, help="default: this year")
@click.option("--json", "as_json", is_flag=True)
def deputy_record(code: str, year: int | None, as_json: bool) -> None:
    """A deputy's yearly record: cases followed, answers on the spot, points and what earned them."""
    year = year or dt.datetime.now(LOCAL).year
    output = asyncio.run(deputy_record_command(load_settings(), code, year, as_json))
    if output is None:
        raise click.ClickException(f"没有编码为 {code} 的代表")
    click.echo(output)


@deputy.command("bind-code")
@click.argument("code")
def deputy_bind_code(code: str) -> None:
    """A one-time code (valid a day) the deputy sends to the WeChat account as “绑定 CODE” to get pushes there."""
    from bot.channels.wechat.commands import issue_bind_code

    try:
        click.echo(asyncio.run(issue_bind_code(load_settings(), code)))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


class _Store:
    """The deployment and a session on the case store, for one command."""

    def __init__(self, settings: Settings) -> None:
        from casework.workdays import WorkingCalendar
        from settings import load_deployment
        from storage.db import make_engine, make_sessionmaker

        self.deployment = load_deployment(settings.config_path)
        self.calendar = WorkingCalendar.configured(self.deployment.calendar)
        self.engine = make_engine(settings.async_database_url)
        self.sessionmaker = make_sessionmaker(self.engine)

    async def close(self) -> None:
        await self.engine.dispose()


async def report_command(settings: Settings, month: Month, by: Grouping, as_json: bool) -> str:
    from services import reports
    from services.access import OPERATOR

    store = _Store(settings)
    try:
        async with store.sessionmaker() as session:
            report = await reports.load_figures(
                session, store.deployment, store.calendar, OPERATOR, month, by, dt.datetime.now(dt.UTC)
            )
    finally:
        await store.close()
    if as_json:
        return json.dumps(reports.figures_json(report, month), ensure_ascii=False, indent=2)
    return figures_text(report, month)


async def export_lists_command(settings: Settings, month: Month, fmt: ExportFormat, out_dir: Path) -> list[Path]:
    from services import reports
    from services.access import OPERATOR

    store = _Store(settings)
    try:
        async with store.sessionmaker() as session:
            lists = await reports.load_lists(session, store.deployment, store.calendar, OPERATOR, month)
    finally:
        await store.close()
    return write_lists(lists, fmt, out_dir)


async def deputy_record_command(settings: Settings, code: str, year: int, as_json: bool) -> str | None:
    from services import reports
    from services.access import OPERATOR

    store = _Store(settings)
    try:
        async with store.sessionmaker() as session:
            record = await reports.load_deputy_record(session, store.deployment, OPERATOR, code, year)
    finally:
        await store.close()
    if record is None:
        return None
    return json.dumps(record.as_dict(), ensure_ascii=False, indent=2) if as_json else record_text(record)


def write_lists(lists: tuple[PublicList, ...], fmt: ExportFormat, out_dir: Path) -> list[Path]:
    """Write the lists into `out_dir` (one workbook, or one CSV file each); return the paths written."""
    from services import reports

    out_dir.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        path = out_dir / reports.xlsx_name(lists[0].month)
        path.write_bytes(reports.lists_xlsx(lists))
        return [path]
    paths = []
    for public_list in lists:
        path = out_dir / reports.csv_name(public_list)
        path.write_bytes(reports.list_csv(public_list))
        paths.append(path)
    return paths


# Text tables


def text_table(rows: list[list[str]], align: str = "") -> str:
    """Rows of cells aligned in columns, Chinese-width aware. `align` has an "l" or "r" per column;
    by default the first column is left-aligned and the others (figures) right-aligned."""
    from services.reports import display_width

    count = len(rows[0])
    align = align or "l" + "r" * (count - 1)
    widths = [max(display_width(row[i]) for row in rows) for i in range(count)]

    def cell(text: str, i: int) -> str:
        padding = " " * (widths[i] - display_width(text))
        return text + padding if align[i] == "l" else padding + text

    return "\n".join("  ".join(cell(text, i) for i, text in enumerate(row)).rstrip() for row in rows)


def _rate(rate: float | None, part: int, whole: int) -> str:
    return "—" if rate is None else f"{rate:.1f}% ({part}/{whole})"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _figure_cells(f: Figures) -> list[str]:
    return [
        str(f.received),
        _rate(f.transfer_rate, f.transferred_on_time, f.transfers_due),
        _rate(f.on_time_rate, f.answered_on_time, f.answers_due),
        _rate(f.closed_rate, f.closed, f.received),
        _rate(f.satisfaction_rate, f.satisfied, f.rated),
        str(f.unrated),
        str(f.rehandled),
        str(f.escalated),
        _days(f.median_working_days),
    ]


def figures_text(report: FiguresReport, month: Month) -> str:
    as_of = report.as_of.astimezone(LOCAL)
    rows = [[GROUPINGS[report.by], *texts.FIGURE_COLUMNS]]
    rows += [[f.group, *_figure_cells(f)] for f in (*report.groups, report.total)]
    return "\n".join(
        [
            texts.FIGURES_TITLE.format(
                month=month.label, grouping=GROUPINGS[report.by], as_of=f"{as_of:%Y-%m-%d %H:%M}"
            ),
            "",
            text_table(rows) if report.groups else texts.FIGURES_EMPTY,
            "",
            texts.FIGURES_NOTE,
        ]
    )


def record_text(record: DeputyRecord) -> str:
    """履职档案 on one page."""
    who = record.identity
    by_state = (
        texts.RECORD_SEPARATOR.join(f"{label} {count}" for label, count in record.cases_by_state.items())
        or texts.RECORD_NO_CASES
    )
    lines = [
        texts.RECORD_TITLE.format(name=who.name, year=record.year),
        "",
        texts.RECORD_IDENTITY.format(code=who.code, level=who.level),
        texts.RECORD_PLACE.format(constituency=who.constituency, station=who.station),
        "",
        texts.RECORD_CASES.format(count=len(record.cases), by_state=by_state),
    ]
    lines += [f"  {c.number}  {c.received_on:%Y-%m-%d}  {c.topic}  {c.state.label}" for c in record.cases]
    lines += ["", texts.RECORD_ON_THE_SPOT.format(count=len(record.on_the_spot))]
    lines += [f"  {a.number}  {a.on:%Y-%m-%d}  {a.answer}" for a in record.on_the_spot]
    lines += ["", texts.RECORD_POINTS.format(total=record.total)]
    if record.points:
        rows = [list(texts.RECORD_POINT_COLUMNS)]
        rows += [
            [
                f"{item.at.astimezone(LOCAL):%Y-%m-%d}",
                item.label,
                f"+{item.points}" if item.points > 0 else str(item.points),
                item.ref,
                str(item.record_id),
            ]
            for item in record.points
        ]
        lines += ["  " + line for line in text_table(rows, align="llrll").splitlines()]
    else:
        lines.append("  " + texts.RECORD_NO_POINTS)
    return "\n".join(lines)
