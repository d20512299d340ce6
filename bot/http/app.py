"""The ASGI app: webhooks, API, health and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import func, select, text

from bot.channels import wechat
from bot.channels.telegram import webhook as telegram
from bot.http import cases, errors, messages, reception, reports
from bot.http.limits import BodyLimit, no_nul_in_url, storable_json
from bot.runtime import Runtime
from bot.worker.runner import Worker
from settings import Settings, get_settings
from storage.models import Case, Message


def create_app(settings: Settings | None = None, *, local_trial: bool = True) -> FastAPI:
    """`local_trial`: the app listens on loopback only, so POST /api/messages may go without a key."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = services = await Runtime.start(settings)
        stop = asyncio.Event()
        # An embedded Redis is private to this process, so no separate worker can share it: run the jobs here.
        jobs = asyncio.create_task(Worker(services).run_forever(stop)) if settings.embedded_redis else None
        try:
            yield
        finally:
            stop.set()
            if jobs:
                await jobs
            await services.close()

    app = FastAPI(title="网上代表联络站", lifespan=lifespan, dependencies=[Depends(no_nul_in_url)])
    app.state.local_trial = local_trial
    app.add_middleware(BodyLimit)
    errors.install(app)
    staff = [Depends(storable_json)]
    app.include_router(messages.router)
    app.include_router(cases.router, dependencies=staff)
    app.include_router(telegram.router)
    app.include_router(wechat.router)
    app.include_router(reports.router, dependencies=staff)
    app.include_router(reception.router, dependencies=staff)

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        services: Runtime = request.app.state.runtime
        checks = {"database": False, "redis": False, "nlu": await services.rasa.ready()}
        async with services.sessionmaker() as session:
            checks["database"] = (await session.execute(text("SELECT 1"))).scalar() == 1
        checks["redis"] = bool(await services.redis.ping())
        # The NLU may be starting: the bot still answers (with the menu), so it is not a failure.
        healthy = checks["database"] and checks["redis"]
        return JSONResponse({"ok": healthy, **checks}, status_code=200 if healthy else 503)

    @app.get("/metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> str:
        services: Runtime = request.app.state.runtime
        lines = ["# TYPE liaison_cases gauge"]
        async with services.sessionmaker() as session:
            for state, count in (await session.execute(select(Case.state, func.count()).group_by(Case.state))).all():
                lines.append(f'liaison_cases{{state="{state}"}} {count}')
            lines.append("# TYPE liaison_messages_total counter")
            rows = await session.execute(
                select(Message.direction, Message.status, func.count()).group_by(Message.direction, Message.status))
            for direction, status, count in rows.all():
                lines.append(f'liaison_messages_total{{direction="{direction}",status="{status}"}} {count}')
        return "\n".join(lines) + "\n"

    return app
