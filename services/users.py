"""Users of the API, the console and the CLI: who they are as actors, and adding them."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.cases import Role
from casework.errors import Unauthenticated
from settings import Deployment
from storage.models import Department, Deputy, User
from storage.repositories import DirectoryStore, UserStore


class UnknownUser(Unauthenticated):
    """No active user by that name or token."""


async def actor_of(session: AsyncSession, user: User) -> Actor:
    """The user as an actor, with their deputy's code and id when they are a deputy."""
    code = None
    if user.deputy_id is not None:
        code = next((c for c, i in (await DirectoryStore(session).ids(Deputy)).items() if i == user.deputy_id), None)
    return Actor(name=user.name, role=Role(user.role), department_id=user.department_id, deputy_code=code,
                 deputy_id=user.deputy_id)


async def actor_for_token(session: AsyncSession, token: str) -> Actor:
    """The active user holding API `token`, as an actor."""
    user = await UserStore(session).by_token(token)
    if user is None:
        raise UnknownUser("令牌无效或已停用")
    return await actor_of(session, user)


async def actor_named(session: AsyncSession, user_name: str) -> Actor:
    """The active user `user_name`, as an actor (the CLI acts as a named user)."""
    user = await UserStore(session).by_name(user_name)
    if user is None or not user.active:
        raise UnknownUser(f"没有用户 {user_name}（liaison user add 创建）")
    return await actor_of(session, user)


async def add_user(session: AsyncSession, deployment: Deployment, *, name: str, role: str, department: str | None,
                   deputy: str | None, channel: str | None, address: str | None, password: str | None) -> str:
    """Add a user and commit; return their API token. ValueError (Chinese) when the details do not fit."""
    directory = DirectoryStore(session)
    department_id = deputy_id = None
    if role == Role.DEPARTMENT.value:
        department_id = (await directory.ids(Department)).get(department or "")
        if department_id is None:
            raise ValueError(f"部门用户需要用 --department 指定部门，可选："
                             f"{', '.join(d.code for d in deployment.departments)}")
    if role == Role.DEPUTY.value:
        deputy_id = (await directory.ids(Deputy)).get(deputy or "")
        if deputy_id is None:
            raise ValueError(f"代表用户需要用 --deputy 指定代表，可选："
                             f"{', '.join(d.code for d in deployment.deputies)}")
    users = UserStore(session)
    if await users.by_name(name):
        raise ValueError(f"用户 {name} 已存在")
    new, token = await users.add(name=name, role=role, department_id=department_id, deputy_id=deputy_id,
                                 password=password)
    new.channel, new.address = channel, address
    await session.commit()
    return token
