"""Users (/console/users, admins): add a user, disable and re-enable one, reset a password or an API token (the new
token shown once); every act recorded and listed on the page (services.admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from console.web import ConsoleRoute, checked, context, is_htmx, now, page, signed_in
from services import admin
from services.signin import ConsoleSession

router = APIRouter(route_class=ConsoleRoute)


def acting(console: ConsoleSession) -> admin.Admin:
    return admin.Admin(console.actor, console.user_id)


@router.get("/console/users", response_class=HTMLResponse)
async def users(request: Request, console: ConsoleSession = Depends(signed_in)) -> Response:
    return await _shown(request, console)


@router.post("/console/users", response_class=HTMLResponse)
async def add(
    request: Request,
    name: str = Form(default="", max_length=200),
    role: str = Form(default="", max_length=20),
    department: str = Form(default="", max_length=64),
    deputy: str = Form(default="", max_length=64),
    password: str = Form(default="", max_length=400),
    console: ConsoleSession = Depends(checked),
) -> Response:
    async with context(request).sessionmaker() as session:
        user, token = await admin.add_user(
            session,
            acting(console),
            name=name,
            role=role,
            department=department,
            deputy=deputy,
            password=password,
            now=now(),
        )
    return await _shown(request, console, done="add", whom=user.name, token=token)


@router.post("/console/users/{user_id}/disable", response_class=HTMLResponse)
async def disable(request: Request, user_id: int, console: ConsoleSession = Depends(checked)) -> Response:
    async with context(request).sessionmaker() as session:
        user = await admin.set_active(session, acting(console), user_id, False, now())
    return await _shown(request, console, done="disable", whom=user.name)


@router.post("/console/users/{user_id}/enable", response_class=HTMLResponse)
async def enable(request: Request, user_id: int, console: ConsoleSession = Depends(checked)) -> Response:
    async with context(request).sessionmaker() as session:
        user = await admin.set_active(session, acting(console), user_id, True, now())
    return await _shown(request, console, done="enable", whom=user.name)


@router.post("/console/users/{user_id}/password", response_class=HTMLResponse)
async def password(
    request: Request,
    user_id: int,
    new_password: str = Form(default="", max_length=400, alias="password"),
    console: ConsoleSession = Depends(checked),
) -> Response:
    async with context(request).sessionmaker() as session:
        user = await admin.reset_password(session, acting(console), user_id, new_password, now())
    return await _shown(request, console, done="reset_password", whom=user.name)


@router.post("/console/users/{user_id}/token", response_class=HTMLResponse)
async def token(request: Request, user_id: int, console: ConsoleSession = Depends(checked)) -> Response:
    async with context(request).sessionmaker() as session:
        user, new = await admin.reset_token(session, acting(console), user_id, now())
    return await _shown(request, console, done="reset_token", whom=user.name, token=new)


async def _shown(request: Request, console: ConsoleSession, **values: str) -> Response:
    """The page (or, for htmx, its panel of users and acts) after a change, with what was done."""
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        shown = await admin.users_page(session, ctx.deployment, acting(console))
    template = "_users_panel.html" if is_htmx(request) else "users.html"
    return page(request, template, console=console, shown=shown, **values)
