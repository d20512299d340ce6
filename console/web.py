"""What every console page shares: the templates, the signed-in user, the CSRF check, and how refusals show.

Console routes use `ConsoleRoute`: a refusal (`casework.errors`) becomes a Chinese page (or, for an htmx
request, a fragment htmx swaps into the page's message area), and a request without a valid session goes to
the sign-in page and comes back afterwards.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from casework.errors import LiaisonError, Unauthenticated
from services import watch
from services.context import Context
from services.signin import ConsoleSession, SignIn, SignInPolicy, check_csrf

log = logging.getLogger("liaison.console")
HERE = Path(__file__).resolve().parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.filters["local"] = watch.local_time
TEMPLATES.env.filters["waited"] = watch.waited_words
STATIC = HERE / "static"
COOKIE = "liaison_console"
# Before sign-in there is no session to hold a CSRF token: the form's token is doubled in this cookie.
LOGIN_CSRF_COOKIE = "liaison_login_csrf"


class SignInRequired(Exception):
    """No valid session: go to the sign-in page, then back to `path`."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def context(request: Request) -> Context:
    runtime: Context = request.app.state.runtime
    return runtime


def sign_in_service(ctx: Context) -> SignIn:
    settings = ctx.settings
    policy = SignInPolicy(
        idle=dt.timedelta(minutes=settings.console_idle_minutes),
        lifetime=dt.timedelta(hours=settings.console_session_hours),
    )
    return SignIn(ctx.redis, ctx.keys, policy)


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


async def signed_in(request: Request) -> ConsoleSession:
    """The console session behind the request's cookie, or SignInRequired."""
    ctx = context(request)
    async with ctx.sessionmaker() as session:
        try:
            return await sign_in_service(ctx).resume(session, request.cookies.get(COOKIE, ""), now())
        except Unauthenticated:
            raise SignInRequired(request.url.path) from None


async def checked(request: Request, console: ConsoleSession = Depends(signed_in)) -> ConsoleSession:
    """A signed-in user's change: it must carry the session's CSRF token, as the form field `csrf_token` or as
    the `X-CSRF-Token` header htmx adds to every request of a console page."""
    given = request.headers.get("x-csrf-token", "")
    if not given and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get("csrf_token", "")
        given = value if isinstance(value, str) else ""
    check_csrf(console, given)
    return console


def secure_cookie(request: Request) -> bool:
    configured = context(request).settings.console_secure_cookie
    return configured if configured is not None else request.url.scheme == "https"


def page(request: Request, template: str, status: int = 200, **values: Any) -> HTMLResponse:
    return TEMPLATES.TemplateResponse(request, template, values, status_code=status)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


class ConsoleRoute(APIRoute):
    """Refusals as pages (or htmx fragments), and sign-in when the session is missing or expired."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def console_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as missing:
                target = "/console/login?next=" + quote(missing.path)
                if is_htmx(request):
                    return Response(status_code=401, headers={"HX-Redirect": target})
                return RedirectResponse(target, status_code=303)
            except LiaisonError as refusal:
                log.info("console refused %s %s: %s", request.method, request.url.path, refusal.detail)
                template = "_refusal.html" if is_htmx(request) else "refusal.html"
                return page(request, template, refusal.status, message=refusal.message)

        return console_handler
