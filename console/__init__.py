"""The staff, department and deputy web console (/console/) and its static files; it calls services only."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from console import alerts, conversations, home, nlu, signin
from console.web import STATIC


def install(app: FastAPI) -> None:
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    app.include_router(signin.router)
    app.include_router(home.router)
    app.include_router(conversations.router)
    app.include_router(alerts.router)
    app.include_router(nlu.router)
