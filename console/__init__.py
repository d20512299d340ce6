"""The staff, department and deputy web console (/console/), the public pages (/public/) and their static files;
it calls services only."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from console import alerts, cases, conversations, deputy, figures, home, nlu, public, publish, reception, signin, users
from console.web import STATIC


def install(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(signin.router)
    app.include_router(home.router)
    app.include_router(conversations.router)
    app.include_router(alerts.router)
    app.include_router(nlu.router)
    app.include_router(cases.router)
    app.include_router(reception.router)
    app.include_router(deputy.router)
    app.include_router(users.router)
    app.include_router(figures.router)
    app.include_router(publish.router)
    app.include_router(public.router)
