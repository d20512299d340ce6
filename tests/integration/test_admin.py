"""Users administered by an admin (services/admin.py) on SQLite and PostgreSQL, with real Redis for the console
sessions: adding, disabling and re-enabling, resetting a password and an API token; every act recorded; a disabled
user's console session and token refused at once; only admins, and never against themselves."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime
from casework.actors import Actor
from casework.cases import Role
from casework.errors import Forbidden, InvalidInput, NotFound, Refusal, Unauthenticated
from services import admin
from services.signin import SignIn
from services.users import actor_for_token
from storage.models import AdminAction
from storage.repositories import UserStore
from tests.conftest import make_settings

NOW = dt.datetime(2031, 6, 2, 2, 0, tzinfo=dt.UTC)
PASSWORD = "初始密码-2031"


@pytest.fixture
async def runtime(database_url, real_redis_url, var_dir):
    services = await Runtime.start(make_settings(database_url, real_redis_url, var_dir))
    yield services
    await services.close()


@pytest.fixture
async def boss(runtime) -> admin.Admin:
    async with runtime.sessionmaker() as session:
        user, _ = await UserStore(session).add(name=f"admin-{uuid.uuid4().hex[:6]}", role="admin", password=PASSWORD)
        await session.commit()
    return admin.Admin(Actor(user.name, Role.ADMIN), user.id)


def name(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


async def act(runtime, use_case, *args, **fields):
    async with runtime.sessionmaker() as session:
        return await use_case(session, *args, **fields)


async def acts_on(runtime, user_id: int) -> list[tuple[str, str, str]]:
    async with runtime.sessionmaker() as session:
        rows = await session.execute(
            select(AdminAction.actor, AdminAction.action, AdminAction.detail)
            .where(AdminAction.target_id == user_id)
            .order_by(AdminAction.id)
        )
        return [tuple(r) for r in rows.all()]


async def test_an_admin_adds_disables_enables_and_resets_and_every_act_is_recorded(runtime, boss):
    new = name("staff")
    line, token = await act(
        runtime, admin.add_user, boss, name=new, role="staff", department="", deputy="", password=PASSWORD, now=NOW
    )
    assert (line.name, line.role_label, line.active, line.can_sign_in) == (new, "工作人员", True, True)
    async with runtime.sessionmaker() as session:
        assert (await actor_for_token(session, token)).name == new
    signin = SignIn(runtime.redis, runtime.keys)
    async with runtime.sessionmaker() as session:
        console = await signin.sign_in(session, new, PASSWORD, "127.0.0.9", NOW)
        assert (await signin.resume(session, console.token, NOW)).user_id == line.id

    # Disabled: the open console session ends at its next request, the token is refused.
    await act(runtime, admin.set_active, boss, line.id, False, NOW)
    async with runtime.sessionmaker() as session:
        with pytest.raises(Unauthenticated):
            await signin.resume(session, console.token, NOW)
        with pytest.raises(Unauthenticated):
            await actor_for_token(session, token)
        with pytest.raises(Unauthenticated):
            await signin.sign_in(session, new, PASSWORD, "127.0.0.9", NOW)
    with pytest.raises(Refusal) as again:
        await act(runtime, admin.set_active, boss, line.id, False, NOW)
    assert again.value.code == "unchanged"

    await act(runtime, admin.set_active, boss, line.id, True, NOW)
    await act(runtime, admin.reset_password, boss, line.id, "新的密码-2031", NOW)
    async with runtime.sessionmaker() as session:
        with pytest.raises(Unauthenticated):
            await signin.sign_in(session, new, PASSWORD, "127.0.0.10", NOW)
        assert (await signin.sign_in(session, new, "新的密码-2031", "127.0.0.10", NOW)).user_id == line.id

    _, fresh = await act(runtime, admin.reset_token, boss, line.id, NOW)
    async with runtime.sessionmaker() as session:
        with pytest.raises(Unauthenticated):
            await actor_for_token(session, token)
        assert (await actor_for_token(session, fresh)).name == new

    assert await acts_on(runtime, line.id) == [
        (boss.actor.name, "add", "角色：工作人员"),
        (boss.actor.name, "disable", ""),
        (boss.actor.name, "enable", ""),
        (boss.actor.name, "reset_password", ""),
        (boss.actor.name, "reset_token", ""),
    ]
    page = await act(runtime, admin.users_page, runtime.deployment, boss)
    assert [(a.action_label, a.target) for a in page.actions[:5]] == [
        ("重置接口令牌", new),
        ("重置密码", new),
        ("重新启用", new),
        ("停用", new),
        ("新增用户", new),
    ]
    async with runtime.sessionmaker() as session:
        recorded = " ".join(
            (await session.execute(select(AdminAction.detail).where(AdminAction.target_id == line.id))).scalars()
        )
    assert PASSWORD not in recorded and token not in recorded and fresh not in recorded


async def test_department_and_deputy_users_are_tied_to_theirs(runtime, boss):
    clerk, _ = await act(
        runtime,
        admin.add_user,
        boss,
        name=name("dept"),
        role="department",
        department="jianshe",
        deputy="",
        password=PASSWORD,
        now=NOW,
    )
    assert clerk.unit == "区住房和城乡建设局"
    member, _ = await act(
        runtime,
        admin.add_user,
        boss,
        name=name("dep"),
        role="deputy",
        department="",
        deputy="wang-min",
        password=PASSWORD,
        now=NOW,
    )
    assert (member.role_label, member.unit) == ("人大代表", "王敏")
    assert await acts_on(runtime, member.id) == [(boss.actor.name, "add", "角色：人大代表（王敏）")]
    page = await act(runtime, admin.users_page, runtime.deployment, boss)
    assert {clerk.name, member.name} <= {u.name for u in page.users}
    assert ("department", "承办部门") in page.roles and ("jianshe", "区住房和城乡建设局") in page.departments


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "两 个字"}, "不能含空格"),
        ({"name": ""}, "不能含空格"),
        ({"role": "system"}, "角色只能是"),
        ({"role": "department"}, "选择所属部门"),
        ({"role": "deputy", "deputy": "nobody"}, "选择对应的代表"),
        ({"password": "short"}, "密码至少 8 位"),
    ],
)
async def test_what_does_not_fit_is_refused_in_chinese_and_nothing_is_kept(runtime, boss, fields, message):
    given = {"name": name(), "role": "staff", "department": "", "deputy": "", "password": PASSWORD, **fields}
    with pytest.raises(InvalidInput, match=message):
        await act(runtime, admin.add_user, boss, now=NOW, **given)
    async with runtime.sessionmaker() as session:
        assert await UserStore(session).by_name(given["name"]) is None


async def test_only_admins_administer_and_never_against_themselves(runtime, boss):
    taken = name()
    await act(
        runtime, admin.add_user, boss, name=taken, role="staff", department="", deputy="", password=PASSWORD, now=NOW
    )
    with pytest.raises(InvalidInput, match="已存在"):
        await act(
            runtime,
            admin.add_user,
            boss,
            name=taken,
            role="staff",
            department="",
            deputy="",
            password=PASSWORD,
            now=NOW,
        )
    with pytest.raises(Refusal) as self_disable:
        await act(runtime, admin.set_active, boss, boss.user_id, False, NOW)
    assert self_disable.value.message == "不能停用自己的账号。"
    with pytest.raises(NotFound):
        await act(runtime, admin.reset_token, boss, 10**9, NOW)
    async with runtime.sessionmaker() as session:
        before = (await session.execute(select(func.count()).select_from(AdminAction))).scalar_one()
    for role in (Role.STAFF, Role.DEPUTY, Role.DEPARTMENT):
        someone = admin.Admin(Actor("not-admin", role, deputy_code="wang-min"), boss.user_id)
        with pytest.raises(Forbidden, match="只有管理员"):
            await act(runtime, admin.users_page, runtime.deployment, someone)
        with pytest.raises(Forbidden):
            await act(runtime, admin.set_active, someone, boss.user_id, False, NOW)
        with pytest.raises(Forbidden):
            await act(runtime, admin.reset_password, someone, boss.user_id, "whatever-123", NOW)
        with pytest.raises(Forbidden):
            await act(
                runtime,
                admin.add_user,
                someone,
                name=name(),
                role="admin",
                department="",
                deputy="",
                password=PASSWORD,
                now=NOW,
            )
    async with runtime.sessionmaker() as session:
        assert (await session.execute(select(func.count()).select_from(AdminAction))).scalar_one() == before
