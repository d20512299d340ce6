"""The reports API: figures, the three public lists (JSON or a file) and deputies' yearly records.

Staff and admins; a deputy may read their own record (services/access.py). The lists are masked, the
figures carry no identities.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import Response

from bot.http.cases import current_actor, services
from bot.runtime import Runtime
from casework.lists import ListKind
from casework.metrics import Grouping, Month
from services import access
from services.records import Actor
from services.reports import (
    XLSX_MEDIA_TYPE,
    figures_json,
    lists_csv_zip,
    lists_xlsx,
    load_deputy_record,
    load_figures,
    load_list,
    load_lists,
    xlsx_name,
)

router = APIRouter(prefix="/api", tags=["reports"])


async def staff_only(actor: Actor = Depends(current_actor)) -> Actor:
    if not access.may_read_reports(actor):
        raise HTTPException(403, "只有工作人员可以查看统计、清单和履职档案")
    return actor


def month_of(month: str = Query(..., description="Beijing-time month, e.g. 2026-11")) -> Month:
    try:
        return Month.parse(month)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


@router.get("/reports/figures")
async def figures(by: Grouping = "department", month: Month = Depends(month_of), _: Actor = Depends(staff_only),
                  services: Runtime = Depends(services)) -> dict:
    """办结率, 满意率, on-time rates... of the cases received in `month`, per department, station, deputy or month."""
    async with services.sessionmaker() as session:
        report = await load_figures(session, services.deployment, services.calendar, month, by,
                                    dt.datetime.now(dt.UTC))
    return figures_json(report, month)


@router.get("/lists/export")
async def export_lists(format: Literal["xlsx", "csv"] = "xlsx", month: Month = Depends(month_of),
                       _: Actor = Depends(staff_only), services: Runtime = Depends(services)) -> Response:
    """The three lists as one Excel workbook (a sheet each) or a zip of three CSV files."""
    async with services.sessionmaker() as session:
        lists = await load_lists(session, services.deployment, services.calendar, month)
    if format == "xlsx":
        content, media_type, name = lists_xlsx(lists), XLSX_MEDIA_TYPE, xlsx_name(month)
    else:
        content, media_type, name = lists_csv_zip(lists), "application/zip", f"lists-{month}-csv.zip"
    return Response(content, media_type=media_type, headers={"content-disposition": f'attachment; filename="{name}"'})


@router.get("/lists/{kind}")
async def public_list(kind: ListKind, month: Month = Depends(month_of), _: Actor = Depends(staff_only),
                      services: Runtime = Depends(services)) -> dict:
    """代表建议清单 (suggestions), 交办清单 (assignments) or 办理效果清单 (results) of `month`, masked."""
    async with services.sessionmaker() as session:
        return (await load_list(session, services.deployment, services.calendar, month, kind)).as_dict()


@router.get("/deputies/{code}/record")
async def deputy_record(code: str, year: int = Query(..., ge=2000, le=2100), actor: Actor = Depends(current_actor),
                        services: Runtime = Depends(services)) -> dict:
    """A deputy's 履职档案 for `year`: identity, cases followed, answers on the spot, points with their trace.
    Staff read every deputy's, a deputy their own."""
    if not access.may_read_deputy_record(actor, code):
        raise HTTPException(403, "只有工作人员和代表本人可以查看履职档案")
    async with services.sessionmaker() as session:
        record = await load_deputy_record(session, services.deployment, code, year)
    if record is None:
        raise HTTPException(404, f"没有编码为 {code} 的代表")
    return record.as_dict()
