"""Leases on the embedded Redis: taken once, freed by their holder only, never by a holder whose lease lapsed."""

from __future__ import annotations

import uuid

import pytest

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
