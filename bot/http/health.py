"""GET /healthz and GET /metrics, for load balancers and scrapers."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse

from bot.http.deps import runtime
from bot.runtime import Runtime
from services import health, workdays

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(rt: Runtime = Depends(runtime)) -> JSONResponse:
    checks = {"database": False, "redis": False, "nlu": await rt.rasa.ready()}
    async with rt.sessionmaker() as session:
        checks["database"] = await health.database_answers(session)
    checks["redis"] = bool(await rt.redis.ping())
    # The NLU may be starting: the bot still answers (with the menu), so it is not a failure; nor is a year whose
    # working-day arrangement is missing (the deadlines count its statutory holidays): staff are warned.
    healthy = checks["database"] and checks["redis"]
    warnings = workdays.warnings(rt.calendar, rt.clock())
    return JSONResponse({"ok": healthy, **checks, "warnings": warnings}, status_code=200 if healthy else 503)


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(rt: Runtime = Depends(runtime)) -> str:
    async with rt.sessionmaker() as session:
        return await health.metrics_text(session)
