"""Signing in to the console through the real app, Redis and the database: the form's words, sessions that end,
CSRF on every change, lock-out after repeated failures, and no redirect to another site."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from bot.http.app import create_app
from casework.actors import Actor
from casework.cases import Role
from casework.errors import TooManyAttempts, Unauthenticated
from services.admin import Admin, reset_password
from services.signin import SignIn, SignInPolicy
from storage.models import User
from storage.repositories import UserStore
from tests.conftest import DATABASES, client_for, make_settings

pytestmark = [pytest.mark.integration, pytest.mark.dated]
PASSWORD = "长城-Great-Wall-2026"


@pytest.fixture(params=DATABASES)
async def console(request, real_redis_url, var_dir):
    settings = make_settings(request.getfixturevalue(f"{request.param}_url"), real_redis_url, var_dir)
    app = create_app(settings)
    async for client in client_for(app):
        yield app, client


async def add_staff(app, password: str = PASSWORD, role: str = "staff") -> str:
    name = f"staff-{uuid.uuid4().hex[:6]}"
    async with app.state.runtime.sessionmaker() as session:
        await UserStore(session).add(name=name, role=role, password=password)
        await session.commit()
    return name


async def sign_in(client, name: str, password: str = PASSWORD, next_path: str = "/console/"):
    form = await client.get("/console/login", params={"next": next_path})
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    return await client.post(
        "/console/login", data={"username": name, "password": password, "csrf_token": token, "next": next_path}
    )


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


async def test_the_form_is_labelled_and_a_user_signs_in_and_out(console):
    app, client = console
    name = await add_staff(app)
    form = await client.get("/console/login")
    assert form.status_code == 200
    assert ">用户名</label>" in form.text and ">密码</label>" in form.text and ">登录</button>" in form.text

    signed = await sign_in(client, name)
    assert signed.status_code == 303 and signed.headers["location"] == "/console/"
    cookie = signed.headers["set-cookie"]
    assert "liaison_console=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    home = await client.get("/console/")
    assert home.status_code == 200 and name in home.text

    out = await client.post("/console/logout", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303
    assert (await client.get("/console/")).status_code == 303


async def test_a_page_without_a_session_leads_to_the_sign_in_and_back(console):
    app, client = console
    page = await client.get("/console/")
    assert page.status_code == 303 and page.headers["location"] == "/console/login?next=/console/"
    htmx = await client.get("/console/", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["hx-redirect"].startswith("/console/login")


async def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(console):
    app, client = console
    name = await add_staff(app)
    wrong = await sign_in(client, name, "不是这个密码")
    unknown = await sign_in(client, f"nobody-{uuid.uuid4().hex[:6]}")
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码不正确" in wrong.text and "用户名或密码不正确" in unknown.text
    assert "liaison_console=" not in wrong.headers.get("set-cookie", "")


async def test_changes_without_the_csrf_token_are_refused(console):
    app, client = console
    name = await add_staff(app)
    # The sign-in form itself: its token must match the cookie set with the form.
    await client.get("/console/login")
    forged = await client.post("/console/login", data={"username": name, "password": PASSWORD, "csrf_token": "x"})
    assert forged.status_code == 403 and "页面已过期" in forged.text

    await sign_in(client, name)
    refused = await client.post("/console/logout", data={"csrf_token": "not-the-token"})
    assert refused.status_code == 403 and "页面已过期" in refused.text
    assert (await client.post("/console/logout")).status_code == 403
    assert (await client.get("/console/")).status_code == 200, "a refused sign-out leaves the session alone"


async def test_repeated_failures_lock_the_name_out_even_for_the_right_password(console):
    app, client = console
    name = await add_staff(app)
    for _ in range(5):
        assert (await sign_in(client, name, "猜一猜")).status_code == 401
    locked = await sign_in(client, name)
    assert locked.status_code == 429 and "登录失败次数过多" in locked.text
    other = await add_staff(app)
    assert (await sign_in(client, other)).status_code == 303, "another name from the same address still signs in"


async def test_sign_in_goes_back_only_to_a_console_page(console):
    app, client = console
    name = await add_staff(app)
    for target in ("https://evil.example/", "//evil.example/console/", "/api/cases"):
        signed = await sign_in(client, name, next_path=target)
        assert signed.headers["location"] == "/console/"
    assert (await sign_in(client, name, next_path="/console/requests")).headers["location"] == "/console/requests"


async def test_sessions_end_when_idle_too_long_after_sign_in_or_when_the_user_is_deactivated(console, clock):
    app, _ = console
    runtime = app.state.runtime
    policy = SignInPolicy(idle=dt.timedelta(minutes=30), lifetime=dt.timedelta(hours=8))
    signin = SignIn(runtime.redis, runtime.keys, policy)
    name = await add_staff(app)
    start = clock.freeze(dt.datetime(2026, 12, 31, 23, 50, tzinfo=dt.UTC))
    async with runtime.sessionmaker() as session:
        opened = await signin.sign_in(session, name, PASSWORD, "10.0.0.1", start)
        key = runtime.keys.console_session(__import__("hashlib").sha256(opened.token.encode()).hexdigest())
        assert 0 < await runtime.redis.ttl(key) <= 30 * 60, "Redis forgets a session left idle"
        resumed = await signin.resume(session, opened.token, start + dt.timedelta(hours=7))
        assert resumed.actor.name == name and resumed.csrf == opened.csrf
        with pytest.raises(Unauthenticated):
            await signin.resume(session, opened.token, start + dt.timedelta(hours=8, minutes=1))

        again = await signin.sign_in(session, name, PASSWORD, "10.0.0.1", start)
        user = await UserStore(session).by_name(name)
        assert isinstance(user, User)
        user.active = False
        await session.commit()
        with pytest.raises(Unauthenticated):
            await signin.resume(session, again.token, start)
        with pytest.raises(Unauthenticated):
            await signin.sign_in(session, name, PASSWORD, "10.0.0.1", start)


async def test_a_password_reset_ends_the_sessions_opened_with_the_old_one(console, clock):
    app, _ = console
    runtime = app.state.runtime
    signin = SignIn(runtime.redis, runtime.keys)
    name, admin_name = await add_staff(app), await add_staff(app, role="admin")
    now = clock.now()
    async with runtime.sessionmaker() as session:
        old = await signin.sign_in(session, name, PASSWORD, "10.0.0.2", now)
        user, boss = await UserStore(session).by_name(name), await UserStore(session).by_name(admin_name)
        assert isinstance(user, User) and isinstance(boss, User)
        acting = Admin(Actor(boss.name, Role.ADMIN), boss.id)
        await reset_password(session, acting, user.id, "新密码-New-Password-2027", now)
        with pytest.raises(Unauthenticated):
            await signin.resume(session, old.token, now)
        new = await signin.sign_in(session, name, "新密码-New-Password-2027", "10.0.0.2", now)
        assert (await signin.resume(session, new.token, now)).actor.name == name


async def test_a_locked_out_address_is_refused_before_the_password_is_checked(console):
    app, _ = console
    runtime = app.state.runtime
    signin = SignIn(runtime.redis, runtime.keys, SignInPolicy(failures_per_address=3))
    now = dt.datetime(2027, 1, 1, 7, 30, tzinfo=dt.UTC)
    names = [await add_staff(app) for _ in range(4)]
    async with runtime.sessionmaker() as session:
        for name in names[:3]:
            with pytest.raises(Unauthenticated):
                await signin.sign_in(session, name, "错", "192.0.2.7", now)
        with pytest.raises(TooManyAttempts):
            await signin.sign_in(session, names[3], PASSWORD, "192.0.2.7", now)
        assert (await signin.sign_in(session, names[3], PASSWORD, "192.0.2.8", now)).actor.name == names[3]
