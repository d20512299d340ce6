"""The reports API: figures, the three public lists (JSON or a file) and deputies' yearly records.

Who may read what is decided in services/access.py: figures and lists for staff and admins (the lists are
masked, the figures carry no identities), a deputy's record for staff and the deputy themself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from bot.http.deps import current_actor
from bot.http.deps import runtime as services
from bot.runtime import Runtime
from casework.actors import Actor
from casework.errors import InvalidInput, NotFound
from casework.lists import ListKind
from casework.metrics import Grouping, Month
from services import reports
from texts import errors as error_texts
from texts import staff as texts

router = APIRouter(prefix="/api", tags=["reports"])


def month_of(month: str = Query(..., max_length=20, description="Beijing-time month, e.g. 2026-11")) -> Month:
    try:
        parsed = Month.parse(month)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="bad_month") from None
    if not 2000 <= parsed.year <= 2100:
        raise InvalidInput(error_texts.BAD_YEAR, code="bad_month")
    return parsed


@router.get("/reports/figures")
async def figures(
    by: Grouping = "department",
    month: Month = Depends(month_of),
    actor: Actor = Depends(current_actor),
    services: Runtime = Depends(services),
) -> dict[str, Any]:
    """办结率, 满意率, on-time rates... of the cases received in `month`, per department, station, deputy or month."""
    async with services.sessionmaker() as session:
        report = await reports.load_figures(
            session, services.deployment, services.calendar, actor, month, by, dt.datetime.now(dt.UTC)
        )
    return reports.figures_json(report, month)


@router.get("/lists/export")
async def export_lists(
    format: Literal["xlsx", "csv"] = "xlsx",
    month: Month = Depends(month_of),
    actor: Actor = Depends(current_actor),
    services: Runtime = Depends(services),
) -> Response:
    """The three lists as one Excel workbook (a sheet each) or a zip of three CSV files."""
    async with services.sessionmaker() as session:
        export = await reports.export_lists(session, services.deployment, services.calendar, actor, month, format)
    return Response(
        export.content,
        media_type=export.media_type,
        headers={"content-disposition": f'attachment; filename="{export.name}"'},
    )


@router.get("/lists/{kind}")
async def public_list(
    kind: ListKind,
    month: Month = Depends(month_of),
    actor: Actor = Depends(current_actor),
    services: Runtime = Depends(services),
) -> dict[str, Any]:
    """代表建议清单 (suggestions), 交办清单 (assignments) or 办理效果清单 (results) of `month`, masked."""
    async with services.sessionmaker() as session:
        found = await reports.load_list(session, services.deployment, services.calendar, actor, month, kind)
    return found.as_dict()


@router.get("/deputies/{code}/record")
async def deputy_record(
    code: str,
    year: int = Query(..., ge=2000, le=2100),
    actor: Actor = Depends(current_actor),
    services: Runtime = Depends(services),
) -> dict[str, Any]:
    """A deputy's 履职档案 for `year`: identity, cases followed, answers on the spot, points with their trace.
    Staff read every deputy's, a deputy their own."""
    async with services.sessionmaker() as session:
        record = await reports.load_deputy_record(session, services.deployment, actor, code, year)
    if record is None:
        raise NotFound(texts.NO_SUCH_DEPUTY.format(code=code))
    return record.as_dict()
