"""The user accounts as an admin manages them, and the record of every admin act (`admin_actions`).

Like every repository it never commits: the use case (services/admin.py) writes the change and its record in
one transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AdminAction, User
from storage.repositories import hash_password, hash_token


class AdminStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def users(self) -> Sequence[User]:
        """Every user, active ones first, then by name."""
        return (await self.session.execute(select(User).order_by(User.active.desc(), User.name))).scalars().all()

    async def user(self, user_id: int) -> User | None:
        return (
            await self.session.execute(select(User).where(User.id == user_id).execution_options(populate_existing=True))
        ).scalar_one_or_none()

    async def set_active(self, user: User, active: bool) -> None:
        user.active = active
        await self.session.flush()

    async def set_password(self, user: User, password: str) -> None:
        user.password_hash = hash_password(password)
        await self.session.flush()

    async def new_token(self, user: User) -> str:
        """A new API token for the user (the old one stops working); only its hash is kept."""
        token = secrets.token_urlsafe(32)
        user.token_hash = hash_token(token)
        await self.session.flush()
        return token

    async def record(
        self, *, actor_id: int | None, actor: str, action: str, target: User, detail: str, at: dt.datetime
    ) -> AdminAction:
        row = AdminAction(
            actor_id=actor_id, actor=actor, action=action, target_id=target.id, target=target.name, detail=detail, at=at
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def actions(self, limit: int = 50) -> Sequence[AdminAction]:
        """The latest admin acts, newest first."""
        return (
            (await self.session.execute(select(AdminAction).order_by(AdminAction.id.desc()).limit(limit)))
            .scalars()
            .all()
        )
