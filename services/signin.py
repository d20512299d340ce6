"""Signing in to the console: passwords, lock-out after repeated failures, server-side sessions in Redis.

A session is a random token in an HttpOnly cookie; Redis keeps only its hash, with the user's id and the
session's CSRF token, and forgets it after `idle` without use or `lifetime` after sign-in, whichever comes
first. The user is read again on every request, so a deactivated user or a changed role takes effect at once,
and a session opened with a password that has since been reset ends (it keeps a stamp of the password's hash).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.errors import Forbidden, TooManyAttempts, Unauthenticated
from services.users import actor_of
from storage.keys import Keys
from storage.models import User
from storage.repositories import UserStore, password_matches
from texts import errors as error_texts
from texts import staff as texts


@dataclass(frozen=True)
class SignInPolicy:
    """How long sessions last and when failed sign-ins lock a name (or an address) out."""

    idle: dt.timedelta = dt.timedelta(hours=2)
    lifetime: dt.timedelta = dt.timedelta(hours=12)
    failures_per_name: int = 5
    # An address may be a station's shared office network: more room than for one name.
    failures_per_address: int = 20
    lockout: dt.timedelta = dt.timedelta(minutes=15)


@dataclass(frozen=True)
class ConsoleSession:
    token: str  # the cookie's value; only its hash is stored
    csrf: str
    user_id: int
    actor: Actor


class SignIn:
    def __init__(self, redis: Redis, keys: Keys, policy: SignInPolicy | None = None) -> None:
        self.redis = redis
        self.keys = keys
        self.policy = policy or SignInPolicy()

    async def sign_in(
        self, session: AsyncSession, name: str, password: str, address: str, now: dt.datetime
    ) -> ConsoleSession:
        """A new session for `name`, or Unauthenticated (the same answer for a wrong name and a wrong password),
        or TooManyAttempts while the name or the address is locked out (checked before the password)."""
        counters = [
            (self.keys.sign_in_failures(f"name:{name.casefold()}"), self.policy.failures_per_name),
            (self.keys.sign_in_failures(f"address:{address}"), self.policy.failures_per_address),
        ]
        for key, limit in counters:
            if int(await self.redis.get(key) or 0) >= limit:
                raise TooManyAttempts(self._locked_text())
        user = await UserStore(session).by_name(name)
        if user is None or not user.active or not password_matches(user.password_hash, password):
            for key, _ in counters:
                if await self.redis.incr(key) == 1:
                    await self.redis.expire(key, self.policy.lockout)
            raise Unauthenticated(texts.SIGN_IN_FAILED, code="sign_in_failed")
        await self.redis.delete(counters[0][0])
        return await self._open(session, user, now)

    async def resume(self, session: AsyncSession, token: str, now: dt.datetime) -> ConsoleSession:
        """The session behind a cookie's token, its idle expiry renewed; Unauthenticated when there is none."""
        if not token:
            raise Unauthenticated(texts.SIGN_IN_REQUIRED, code="sign_in_required")
        key = self.keys.console_session(_hashed(token))
        stored = {str(k): str(v) for k, v in (await self.redis.hgetall(key)).items()}
        started = float(stored.get("started", 0))
        if not stored or now.timestamp() - started > self.policy.lifetime.total_seconds():
            await self.redis.delete(key)
            raise Unauthenticated(texts.SIGN_IN_EXPIRED, code="sign_in_required")
        user = await session.get(User, int(stored["user_id"]))
        if user is None or not user.active or not hmac.compare_digest(stored.get("stamp", ""), _stamp(user)):
            await self.redis.delete(key)
            raise Unauthenticated(texts.SIGN_IN_EXPIRED, code="sign_in_required")
        await self.redis.expire(key, self.policy.idle)
        return ConsoleSession(token, stored["csrf"], user.id, await actor_of(session, user))

    async def sign_out(self, token: str) -> None:
        await self.redis.delete(self.keys.console_session(_hashed(token)))

    async def _open(self, session: AsyncSession, user: User, now: dt.datetime) -> ConsoleSession:
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        key = self.keys.console_session(_hashed(token))
        await self.redis.hset(
            key, mapping={"user_id": user.id, "csrf": csrf, "started": now.timestamp(), "stamp": _stamp(user)}
        )
        await self.redis.expire(key, self.policy.idle)
        return ConsoleSession(token, csrf, user.id, await actor_of(session, user))

    def _locked_text(self) -> str:
        return error_texts.TOO_MANY_ATTEMPTS.format(minutes=int(self.policy.lockout.total_seconds() // 60))


def check_csrf(console: ConsoleSession, given: str) -> None:
    """Every change a signed-in page makes carries the session's CSRF token (a form field or an htmx header)."""
    if not given or not hmac.compare_digest(given.encode(), console.csrf.encode()):
        raise Forbidden(texts.CSRF_FAILED, code="csrf_failed")


def _hashed(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _stamp(user: User) -> str:
    """What a session remembers of the password it was opened with: a new password ends the session."""
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]
