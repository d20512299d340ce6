"""GET /healthz and GET /metrics, for load balancers and scrapers.

The figures of /metrics are for the machine's own scraper: they answer on loopback, or to
`Authorization: Bearer <LIAISON_METRICS_TOKEN>`; anyone else gets 403."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from bot.http.deps import bearer, from_loopback, runtime, same_secret
from bot.runtime import Runtime
from casework.errors import Forbidden
from services import health, workdays
from texts import errors as texts

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


def metrics_reader(request: Request) -> None:
    if not (from_loopback(request) or same_secret(bearer(request), request.app.state.runtime.settings.metrics_token)):
        raise Forbidden(texts.METRICS_LOCAL_ONLY, code="metrics_forbidden")


@router.get("/metrics", response_class=PlainTextResponse, dependencies=[Depends(metrics_reader)])
async def metrics(rt: Runtime = Depends(runtime)) -> str:
    async with rt.sessionmaker() as session:
        return await health.metrics_text(session)
