"""Leases on the embedded Redis: taken once, freed by their holder only, never by a holder whose lease lapsed."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from storage import redis as redis_connection
from storage.leases import Leases


@pytest.fixture
async def redis(var_dir):
    client = redis_connection.connect("embedded", var_dir)
    yield client
    await client.aclose()


@pytest.fixture
def key() -> str:
    return f"test:{uuid.uuid4().hex[:8]}:lease"


async def test_a_lease_is_held_by_one_holder_until_released(redis, key):
    async with Leases(redis, 10) as first:
        assert await first.take(key)
        async with Leases(redis, 10) as second:
            assert not await second.take(key)
    async with Leases(redis, 10) as third:
        assert await third.take(key)


async def test_a_holder_whose_lease_lapsed_never_frees_the_next_holders(redis, key):
    stalled = Leases(redis, 10)
    assert await stalled.take(key)
    await redis.delete(key)  # as if it had lapsed while its holder stalled
    async with Leases(redis, 10) as successor:
        assert await successor.take(key)
        await stalled.release()
        assert not await Leases(redis, 10).take(key)
    assert await redis.get(key) is None


async def test_a_lease_left_by_a_dead_holder_is_taken_once_it_lapses(redis, key):
    assert await redis.set(key, "token-of-a-dead-process", px=200)
    async with Leases(redis, 10) as waiting:
        assert await waiting.take(key, wait=30)
        assert await redis.get(key) != "token-of-a-dead-process"


class CommandSwallowingCancellation:
    """A lock whose renewal command turns a cancellation into a connection error, as redis-py can when the
    cancellation lands inside a command."""

    name = "swallowing"

    def __init__(self) -> None:
        self.renewing = asyncio.Event()

    async def reacquire(self) -> None:
        self.renewing.set()
        try:
            await asyncio.sleep(0.2)
        except asyncio.CancelledError:
            raise RedisConnectionError("connection closed by a cancellation") from None

    async def release(self) -> None:
        pass


async def test_release_returns_while_a_renewal_is_inside_a_command(redis, key):
    leases = Leases(redis, 0.03)
    assert await leases.take(key)
    lock = CommandSwallowingCancellation()
    leases.held.append(lock)  # type: ignore[arg-type]
    await lock.renewing.wait()
    # A hang guard, not a speed check: before, the renewal loop never ended and release waited forever.
    await asyncio.wait_for(leases.release(), timeout=30)
    assert leases.held == []
    assert await redis.get(key) is None
