"""Figures: 办结率, 满意率, the 24-hour transfer rate, the on-time rate, unrated, re-handled, escalated and the
median working days of a month's cases, by department, station or deputy, and their trend over twelve months:
as charts (Apache ECharts, console/static/figures.js) and as tables, and as an Excel workbook.

A bar (or a table's group) leads to the cases behind it on the worklist: /console/cases with the group's
filter (department, station or deputy: its id) and the month received (month=YYYY-MM).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from casework.errors import InvalidInput
from casework.metrics import GROUPINGS, Figures, Grouping, Month
from console.web import ConsoleRoute, context, now, page, signed_in
from services import figures
from services.signin import ConsoleSession

router = APIRouter(route_class=ConsoleRoute)
CASES = "/console/cases"
# The four rates and the four counts drawn, with their labels (the table shows every count).
RATES = {
    "closed_rate": "办结率",
    "satisfaction_rate": "满意率",
    "transfer_rate": "24小时转办率",
    "on_time_rate": "按期办理率",
}
COUNTS = {"received": "受理", "unrated": "逾期未评价", "rehandled": "重新办理", "escalated": "升级"}


def month_of(text: str) -> Month:
    """The month asked for (YYYY-MM), or this month in Beijing."""
    if not text:
        return Month.of(now())
    try:
        month = Month.parse(text[:20])
    except ValueError as exc:
        raise InvalidInput(str(exc), code="bad_month") from None
    if not 2000 <= month.year <= 2100:
        raise InvalidInput(code="bad_month")
    return month


def grouping_of(text: str) -> Grouping:
    return next((by for by in figures.PAGE_GROUPINGS if by == text), "department")


@router.get("/console/figures", response_class=HTMLResponse)
async def figures_page(
    request: Request, month: str = "", by: str = "department", console: ConsoleSession = Depends(signed_in)
) -> Response:
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        shown = await figures.figures_page(
            session, ctx.deployment, ctx.calendar, console.actor, month_of(month), grouping_of(by), now()
        )
    return page(request, "figures.html", console=console, shown=shown, charts=chart_data(shown), groupings=_groupings())


@router.get("/console/figures/export")
async def export(request: Request, month: str = "", console: ConsoleSession = Depends(signed_in)) -> Response:
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        found = await figures.export_figures(
            session, ctx.deployment, ctx.calendar, console.actor, month_of(month), now()
        )
    disposition = f'attachment; filename="{found.name}"'
    return Response(found.content, media_type=found.media_type, headers={"content-disposition": disposition})


# What the page draws


def cases_url(by: str, key: str, month: str) -> str | None:
    """The worklist of the cases behind a group's bar: /console/cases?department=3&month=2026-11. None for a
    group with no key (the cases without a department or a deputy: the worklist has no filter for those)."""
    if not key:
        return None
    query = {"month": key} if by == "month" else {by: key, "month": month}
    return f"{CASES}?{urlencode(query)}"


def _series(rows: tuple[Figures, ...] | list[Figures], names: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": label, "values": [getattr(f, name) for f in rows]} for name, label in names.items()]


def chart_data(shown: figures.FiguresPage) -> dict[str, Any]:
    """The figures as figures.js draws them: per group and per month, the rates (%), the counts and the
    median working days, each bar with the link to its cases."""
    month = str(shown.month)
    groups = list(shown.report.groups)
    trend = list(shown.trend)
    return {
        "groups": {
            "names": [f.group for f in groups],
            "urls": [cases_url(shown.by, f.key, month) for f in groups],
            "rates": _series(groups, RATES),
            "counts": _series(groups, COUNTS),
            "median": [f.median_working_days for f in groups],
        },
        "trend": {
            "names": [f.group for f in trend],
            "urls": [cases_url("month", f.key, month) for f in trend],
            "rates": _series(trend, RATES),
            "counts": _series(trend, COUNTS),
            "median": [f.median_working_days for f in trend],
        },
    }


def _groupings() -> dict[str, str]:
    return {by: GROUPINGS[by] for by in figures.PAGE_GROUPINGS}
