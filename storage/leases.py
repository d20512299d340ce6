"""Leases: short Redis locks that their holder renews while it works.

A lease outlives a slow holder (it is renewed every third of its length) but not a dead one: the lease of
a process killed with SIGKILL lapses within its length, and anyone waiting takes it then. Each lease is a
key holding its holder's random token; taking is SET NX PX, renewing and releasing compare the token
first (redis-py's Lock scripts), so a holder whose lease lapsed can never renew or free someone else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from types import TracebackType

from redis.asyncio import Redis
from redis.asyncio.lock import Lock
from redis.exceptions import LockNotOwnedError, RedisError

log = logging.getLogger("liaison.leases")
POLL_SECONDS = 0.05


class Leases:
    """The leases one piece of work holds, renewed together until released (use it as `async with`)."""

    def __init__(self, redis: Redis, seconds: float) -> None:
        self.redis = redis
        self.seconds = seconds
        self.held: list[Lock] = []
        self._renewal: asyncio.Task[None] | None = None
        self._released = asyncio.Event()

    async def take(self, key: str, wait: float = 0.0) -> bool:
        """Take the lease on `key`, waiting up to `wait` seconds while someone else holds it; False if not
        taken. Once taken it is renewed until `release`."""
        lock = self.redis.lock(key, timeout=self.seconds, sleep=POLL_SECONDS, thread_local=False)
        if not await lock.acquire(blocking=wait > 0, blocking_timeout=wait or None):
            return False
        self.held.append(lock)
        if self._renewal is None:
            self._renewal = asyncio.create_task(self._renew())
        return True

    async def release(self) -> None:
        # The renewal is told to stop rather than cancelled: redis-py can swallow a cancellation that lands
        # inside a command, and a renewal loop that never saw it would keep `release` waiting forever.
        self._released.set()
        if self._renewal is not None:
            await self._renewal
            self._renewal = None
        for lock in reversed(self.held):
            try:
                await lock.release()
            except LockNotOwnedError:
                log.warning("lease %s had lapsed before it was released", lock.name)
            except RedisError:
                log.warning("lease %s could not be released; it lapses by itself", lock.name, exc_info=True)
        self.held.clear()

    async def _renew(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._released.wait(), self.seconds / 3)
            if self._released.is_set():
                return
            for lock in list(self.held):
                try:
                    await lock.reacquire()
                except LockNotOwnedError:
                    # Lapsed (this process stalled longer than a lease): whoever took it since goes on; the
                    # work that needs exactly-once has its own check in the database.
                    log.warning("lease %s lapsed while held", lock.name)
                    self.held.remove(lock)
                except RedisError:
                    log.warning("lease %s could not be renewed; trying again", lock.name, exc_info=True)

    async def __aenter__(self) -> Leases:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.release()
