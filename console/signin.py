"""The sign-in page, signing out."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from casework.errors import Forbidden, LiaisonError
from console.web import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    ConsoleRoute,
    checked,
    context,
    now,
    page,
    secure_cookie,
    sign_in_service,
)
from services.signin import ConsoleSession
from texts import staff as texts

router = APIRouter(route_class=ConsoleRoute)
HOME = "/console/"


def local_target(next_path: str) -> str:
    """Only a console path of this site: never an address elsewhere (an open redirect)."""
    return next_path if next_path.startswith("/console/") and not next_path.startswith("//") else HOME


@router.get("/console/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str = HOME) -> Response:
    return _form(request, local_target(next))


@router.post("/console/login")
async def login(
    request: Request,
    username: str = Form(default="", max_length=100),
    password: str = Form(default="", max_length=200),
    csrf_token: str = Form(default="", max_length=100),
    next: str = Form(default=HOME, max_length=500),
) -> Response:
    target = local_target(next)
    ctx = context(request)
    try:
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not expected or not secrets.compare_digest(expected.encode(), csrf_token.encode()):
            raise Forbidden(texts.CSRF_FAILED, code="csrf_failed")
        address = request.client.host if request.client else "?"
        async with ctx.sessionmaker() as session:
            console = await sign_in_service(ctx).sign_in(session, username.strip(), password, address, now())
    except LiaisonError as refusal:
        return _form(request, target, username=username, error=refusal.message, status=refusal.status)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        console.token,
        max_age=ctx.settings.console_session_hours * 3600,
        httponly=True,
        secure=secure_cookie(request),
        samesite="lax",
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console/login")
    return response


@router.post("/console/logout")
async def logout(request: Request, console: ConsoleSession = Depends(checked)) -> Response:
    await sign_in_service(context(request)).sign_out(console.token)
    response = RedirectResponse("/console/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


def _form(request: Request, target: str, *, username: str = "", error: str = "", status: int = 200) -> Response:
    token = secrets.token_urlsafe(32)
    response = page(request, "login.html", status, csrf_token=token, next=target, username=username, error=error)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        secure=secure_cookie(request),
        samesite="strict",
        path="/console/login",
    )
    return response
