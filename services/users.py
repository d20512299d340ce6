"""Users of the API, the console and the CLI: who they are as actors, and adding them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.cases import Role
from casework.errors import Unauthenticated
from services import cases
from settings import Deployment
from storage.models import Department, Deputy, User
from storage.repositories import DirectoryStore, UserStore
from texts import staff as texts


class UnknownUser(Unauthenticated):
    """No active user by that name or token."""


async def actor_of(session: AsyncSession, user: User) -> Actor:
    """The user as an actor, with their deputy's code and id when they are a deputy."""
    code = None
    if user.deputy_id is not None:
        code = next((c for c, i in (await DirectoryStore(session).ids(Deputy)).items() if i == user.deputy_id), None)
    return Actor(
        name=user.name,
        role=Role(user.role),
        department_id=user.department_id,
        deputy_code=code,
        deputy_id=user.deputy_id,
    )


async def actor_for_token(session: AsyncSession, token: str) -> Actor:
    """The active user holding API `token`, as an actor."""
    user = await UserStore(session).by_token(token)
    if user is None:
        raise UnknownUser(texts.USER_BAD_TOKEN)
    return await actor_of(session, user)


async def actor_named(session: AsyncSession, user_name: str) -> Actor:
    """The active user `user_name`, as an actor (the CLI acts as a named user)."""
    user = await UserStore(session).by_name(user_name)
    if user is None or not user.active:
        raise UnknownUser(texts.USER_UNKNOWN.format(name=user_name))
    return await actor_of(session, user)


async def add_user(
    session: AsyncSession,
    deployment: Deployment,
    *,
    name: str,
    role: str,
    department: str | None,
    deputy: str | None,
    channel: str | None,
    address: str | None,
    password: str | None,
    now: dt.datetime,
) -> str:
    """Add a user and commit; return their API token. ValueError (Chinese) when the details do not fit."""
    directory = DirectoryStore(session)
    department_id = deputy_id = None
    if role == Role.DEPARTMENT.value:
        department_id = (await directory.ids(Department)).get(department or "")
        if department_id is None:
            codes = ", ".join(d.code for d in deployment.departments)
            raise ValueError(texts.USER_NEEDS_DEPARTMENT.format(codes=codes))
    if role == Role.DEPUTY.value:
        deputy_id = (await directory.ids(Deputy)).get(deputy or "")
        if deputy_id is None:
            codes = ", ".join(d.code for d in deployment.deputies)
            raise ValueError(texts.USER_NEEDS_DEPUTY.format(codes=codes))
    users = UserStore(session)
    if await users.by_name(name):
        raise ValueError(texts.USER_EXISTS.format(name=name))
    new, token = await users.add(
        name=name, role=role, department_id=department_id, deputy_id=deputy_id, password=password
    )
    new.channel, new.address = channel, address
    await cases.notices_reach(session, new, now)
    await session.commit()
    return token
