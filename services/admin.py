"""Users administered from the console (/console/users): an admin adds a user, disables and re-enables one,
resets a password or an API token. Every act is recorded in `admin_actions` (who, what, when, to whom) in the
same transaction as the change, and listed on the page.

A disabled user is refused at once everywhere: the console re-reads the user on every request
(services/signin.py `SignIn.resume`), the API's token look-up takes active users only
(storage/repositories.py `UserStore.by_token`). A new token replaces the old one, which stops working at once.
Passwords and tokens are never recorded; a new token is returned once, to be shown once.

Admins only (services.access.may_administer_users). Each use case commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.cases import Role
from casework.errors import Forbidden, InvalidInput, NotFound, Refusal
from services import access, cases
from settings import Deployment
from storage.admin import AdminStore
from storage.models import AdminAction, Department, Deputy, User
from storage.repositories import DirectoryStore, UserStore
from texts import staff as texts

# The roles an admin gives (the system's own role is never a user's).
ROLES = (Role.STAFF, Role.DEPARTMENT, Role.DEPUTY, Role.ADMIN)
PASSWORD_MIN = 8
PASSWORD_MAX = 200
NAME_MAX = 100


@dataclass(frozen=True)
class UserLine:
    id: int
    name: str
    role: str
    role_label: str
    unit: str  # the department or the deputy
    chat: str  # where their pushes go, e.g. 微信
    active: bool
    can_sign_in: bool  # has a console password
    created_at: dt.datetime


@dataclass(frozen=True)
class ActionLine:
    at: dt.datetime
    actor: str
    action: str
    action_label: str
    target: str
    detail: str


@dataclass(frozen=True)
class UsersPage:
    users: tuple[UserLine, ...]
    actions: tuple[ActionLine, ...]
    roles: tuple[tuple[str, str], ...]  # (role, label)
    departments: tuple[tuple[str, str], ...]  # (code, name)
    deputies: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Admin:
    """The admin acting: the actor, and their user id (recorded with each act)."""

    actor: Actor
    user_id: int


def _require(admin: Admin) -> None:
    if not access.may_administer_users(admin.actor):
        raise Forbidden(texts.ADMIN_ONLY, code="forbidden_role")


async def users_page(session: AsyncSession, deployment: Deployment, admin: Admin) -> UsersPage:
    """Every user and the latest admin acts."""
    _require(admin)
    units = await _units(session)
    store = AdminStore(session)
    return UsersPage(
        users=tuple(user_line(u, units) for u in await store.users()),
        actions=tuple(action_line(a) for a in await store.actions()),
        roles=tuple((r.value, texts.ROLE_LABELS[r.value]) for r in ROLES),
        departments=tuple((d.code, d.name) for d in deployment.departments),
        deputies=tuple((d.code, d.name) for d in deployment.deputies),
    )


async def user_of(session: AsyncSession, admin: Admin, user_id: int) -> UserLine:
    """One user's line (after a change)."""
    _require(admin)
    return user_line(await _user(AdminStore(session), user_id), await _units(session))


async def add_user(
    session: AsyncSession,
    admin: Admin,
    *,
    name: str,
    role: str,
    department: str,
    deputy: str,
    password: str,
    now: dt.datetime,
) -> tuple[UserLine, str]:
    """Add a user who signs in with `password`; return their line and their API token (to show once).

    Raises InvalidInput (Chinese) for a name, role, department, deputy or password that does not fit, or a name
    taken."""
    _require(admin)
    name = name.strip()
    if not name or len(name) > NAME_MAX or any(ch.isspace() for ch in name):
        raise InvalidInput(texts.ADMIN_NAME_INVALID)
    if role not in {r.value for r in ROLES}:
        raise InvalidInput(texts.ADMIN_ROLE_INVALID.format(roles="、".join(texts.ROLE_LABELS[r.value] for r in ROLES)))
    check_password(password)
    directory = DirectoryStore(session)
    department_id = deputy_id = None
    if role == Role.DEPARTMENT.value:
        department_id = (await directory.ids(Department)).get(department)
        if department_id is None:
            raise InvalidInput(texts.ADMIN_NEEDS_DEPARTMENT)
    if role == Role.DEPUTY.value:
        deputy_id = (await directory.ids(Deputy)).get(deputy)
        if deputy_id is None:
            raise InvalidInput(texts.ADMIN_NEEDS_DEPUTY)
    users = UserStore(session)
    if await users.by_name(name):
        raise InvalidInput(texts.USER_EXISTS.format(name=name))
    user, token = await users.add(
        name=name, role=role, department_id=department_id, deputy_id=deputy_id, password=password
    )
    units = await _units(session)
    unit = units.get((role, department_id or deputy_id or 0), "")
    detail = texts.ADMIN_DETAIL_ADDED.format(
        role=texts.ROLE_LABELS[role], unit=texts.ADMIN_DETAIL_UNIT.format(unit=unit) if unit else ""
    )
    await _record(session, admin, "add", user, detail, now)
    await cases.notices_reach(session, user, now)
    await session.commit()
    return user_line(user, units), token


async def set_active(session: AsyncSession, admin: Admin, user_id: int, active: bool, now: dt.datetime) -> UserLine:
    """Disable a user (their console session ends with their next request, their token stops working) or enable
    them again. Raises Refusal: self (an admin never disables themself), unchanged."""
    _require(admin)
    store = AdminStore(session)
    user = await _user(store, user_id)
    if not active and user.id == admin.user_id:
        raise Refusal("self", texts.ADMIN_NOT_SELF)
    if user.active == active:
        state = texts.ADMIN_STATE_ACTIVE if active else texts.ADMIN_STATE_DISABLED
        raise Refusal("unchanged", texts.ADMIN_ALREADY.format(name=user.name, state=state))
    await store.set_active(user, active)
    await _record(session, admin, "enable" if active else "disable", user, "", now)
    if active:
        await cases.notices_reach(session, user, now)
    await session.commit()
    return user_line(user, await _units(session))


async def reset_password(
    session: AsyncSession, admin: Admin, user_id: int, password: str, now: dt.datetime
) -> UserLine:
    """Give the user a new console password (they sign in with it from now on)."""
    _require(admin)
    check_password(password)
    store = AdminStore(session)
    user = await _user(store, user_id)
    await store.set_password(user, password)
    await _record(session, admin, "reset_password", user, "", now)
    await session.commit()
    return user_line(user, await _units(session))


async def reset_token(session: AsyncSession, admin: Admin, user_id: int, now: dt.datetime) -> tuple[UserLine, str]:
    """Give the user a new API token, returned to be shown once; the old one stops working at once."""
    _require(admin)
    store = AdminStore(session)
    user = await _user(store, user_id)
    token = await store.new_token(user)
    await _record(session, admin, "reset_token", user, "", now)
    await session.commit()
    return user_line(user, await _units(session)), token


def check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(texts.ADMIN_PASSWORD_TOO_SHORT.format(length=PASSWORD_MIN))
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(texts.ADMIN_PASSWORD_TOO_LONG.format(length=PASSWORD_MAX))


def user_line(user: User, units: dict[tuple[str, int], str]) -> UserLine:
    unit_id = user.department_id if user.role == Role.DEPARTMENT.value else user.deputy_id
    return UserLine(
        id=user.id,
        name=user.name,
        role=user.role,
        role_label=texts.ROLE_LABELS.get(user.role, user.role),
        unit=units.get((user.role, unit_id or 0), ""),
        chat=texts.CHANNEL_LABELS.get(user.channel, user.channel) if user.channel and user.address else "",
        active=user.active,
        can_sign_in=user.password_hash is not None,
        created_at=user.created_at,
    )


def action_line(row: AdminAction) -> ActionLine:
    return ActionLine(
        at=row.at,
        actor=row.actor,
        action=row.action,
        action_label=texts.ADMIN_ACTION_LABELS.get(row.action, row.action),
        target=row.target,
        detail=row.detail,
    )


async def _user(store: AdminStore, user_id: int) -> User:
    user = await store.user(user_id)
    if user is None:
        raise NotFound(texts.ADMIN_NO_USER)
    return user


async def _units(session: AsyncSession) -> dict[tuple[str, int], str]:
    """(role, id) -> the department's or the deputy's name."""
    directory = DirectoryStore(session)
    departments = await directory.names(Department)
    deputies = await directory.names(Deputy)
    return {
        **{(Role.DEPARTMENT.value, i): n for i, n in departments.items()},
        **{(Role.DEPUTY.value, i): n for i, n in deputies.items()},
    }


async def _record(session: AsyncSession, admin: Admin, action: str, user: User, detail: str, now: dt.datetime) -> None:
    await AdminStore(session).record(
        actor_id=admin.user_id, actor=admin.actor.name, action=action, target=user, detail=detail, at=now
    )
