"""The ASGI app: its lifespan (the Runtime, and the jobs when Redis is embedded), middleware, error handler and
the routers of every area."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

import console
from bot.channels import wechat
from bot.channels.telegram import webhook as telegram
from bot.http import cases, errors, health, logs, messages, reception, reports
from bot.http.limits import BodyLimit, no_nul_in_url, storable_json
from bot.runtime import Runtime, settle_heap
from bot.worker.runner import Worker
from settings import Settings, get_settings

# Set by `liaison serve` for the web processes it starts: "1" when they listen on loopback only (the local trial).
LOCAL_TRIAL_ENV = "LIAISON_LOCAL_TRIAL"


def create_app(settings: Settings | None = None, *, local_trial: bool = True, serving: bool = False) -> FastAPI:
    """`local_trial`: the app listens on loopback only, so POST /api/messages may go without a key. `serving`: the
    app is a web process's for its lifetime (`bot.runtime.settle_heap` once it has started)."""
    settings = settings or get_settings()
    logs.install()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.runtime = services = await Runtime.start(settings)
        if serving:
            settle_heap()
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
    # WeChat's door takes long messages whole, encrypted or sent twice (compatible mode).
    app.add_middleware(BodyLimit, paths={"/wechat": wechat.MAX_BODY_BYTES})
    errors.install(app)
    staff = [Depends(storable_json)]
    app.include_router(messages.router)
    app.include_router(cases.router, dependencies=staff)
    app.include_router(telegram.router)
    app.include_router(wechat.router)
    app.include_router(reports.router, dependencies=staff)
    app.include_router(reception.router, dependencies=staff)
    app.include_router(health.router)
    console.install(app)

    return app


def app_from_environment() -> FastAPI:
    """The app of one web process of `liaison serve --workers N`, its settings read from the environment: uvicorn
    imports this factory by name in each process it starts (and in the one it starts after a death)."""
    return create_app(get_settings(), local_trial=os.environ.get(LOCAL_TRIAL_ENV) == "1", serving=True)
