"""What the running product shows to others: Rasa's API (loopback, a token, no CORS), /metrics (loopback or a
token), and logs without query strings; `liaison serve` and `liaison run` as a user starts them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bot.http.app import create_app
from tests.conftest import RASA_TOKEN, ROOT, client_for
from tests.integration.conftest import _free_port
from tests.integration.test_wechat import TOKEN, WeChatServer, openid

pytestmark = pytest.mark.integration
LIAISON = str(Path(sys.executable).parent / "liaison")


def listening_on(port: int) -> set[str]:
    """The addresses with a TCP socket listening on `port` (Linux: /proc/net/tcp and tcp6)."""
    found = set()
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.partition(":")
            if state != "0A" or int(hex_port, 16) != port:
                continue
            raw = bytes.fromhex(address)
            # The kernel writes each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i : i + 4][::-1] for i in range(0, width // 2, 4))
            found.add(socket.inet_ntop(socket.AF_INET if width == 8 else socket.AF_INET6, raw))
    return found


def wait_until(check, *logs: Path, timeout: float = 300.0) -> None:  # type: ignore[no-untyped-def]
    """Poll `check` until it is true: a hang guard for processes that start, not a speed limit. On a timeout
    the failure shows the end of the processes' `logs`, which say why."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    ends = [f"{log.name}: {log.read_text(errors='replace')[-3000:] if log.exists() else '(none)'}" for log in logs]
    pytest.fail("timed out waiting\n" + "\n".join(ends))


@contextmanager
def liaison(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A `liaison` process writing to `log`, stopped (with its children) as Ctrl-C would."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [LIAISON, *args], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def real_time_env(**variables: str) -> dict[str, str]:
    """The environment without libfaketime (scripts/test-clocks.sh): a Rasa server started under it hangs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAKETIME")}
    env["LD_PRELOAD"] = " ".join(lib for lib in env.get("LD_PRELOAD", "").split() if "faketime" not in lib)
    return {**env, **variables}


# --- Rasa's API


def test_the_rasa_server_listens_on_loopback_and_answers_only_to_its_token(rasa_url):
    port = int(rasa_url.rsplit(":", 1)[1])
    assert listening_on(port) == {"127.0.0.1"}
    assert httpx.get(f"{rasa_url}/status").status_code == 401
    assert httpx.post(f"{rasa_url}/model/parse", json={"text": "你好"}).status_code == 401
    assert httpx.get(f"{rasa_url}/status", params={"token": "guessed"}).status_code == 401
    parsed = httpx.post(
        f"{rasa_url}/model/parse",
        params={"token": RASA_TOKEN},
        json={"text": "你好"},
        headers={"origin": "https://elsewhere.example"},
    )
    assert parsed.status_code == 200 and parsed.json()["intent"]["name"] == "greet"
    assert not [name for name in parsed.headers if name.lower().startswith("access-control")]


def test_liaison_nlu_serve_will_not_start_rasa_without_a_token():
    refused = subprocess.run(
        [LIAISON, "nlu", "serve"],
        env={**os.environ, "RASA_TOKEN": ""},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1 and "RASA_TOKEN is not set" in refused.stderr


async def test_the_bot_without_the_token_is_refused_by_rasa_and_falls_back(settings):
    async for client in client_for(create_app(settings.model_copy(update={"rasa_token": "wrong"}))):
        assert (await client.get("/healthz")).json()["nlu"] is False
    async for client in client_for(create_app(settings)):
        assert (await client.get("/healthz")).json()["nlu"] is True


# --- /metrics


@pytest.mark.parametrize("token", ["", "m3trics"], ids=["no-token-set", "token-set"])
async def test_metrics_answer_on_loopback_or_to_the_token_only(settings, token):
    app = create_app(settings.model_copy(update={"metrics_token": token}))
    async with app.router.lifespan_context(app):

        async def scrape(host: str, headers: dict[str, str]) -> httpx.Response:
            transport = httpx.ASGITransport(app=app, client=(host, 40000))
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
                return await client.get("/metrics", headers=headers)

        assert "liaison_messages_total" in (await scrape("127.0.0.1", {})).text
        assert (await scrape("::1", {})).status_code == 200
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Bearer "}):
            refused = await scrape("203.0.113.9", headers)
            assert refused.status_code == 403 and refused.json()["code"] == "metrics_forbidden"
            assert "LIAISON_METRICS_TOKEN" in refused.json()["message"]
        by_token = await scrape("203.0.113.9", {"authorization": f"Bearer {token}"})
        assert by_token.status_code == (200 if token else 403)


# --- the processes as a user starts them


def test_the_access_log_of_liaison_serve_has_no_query_strings(sqlite_url, real_redis_url, tmp_path):
    """uvicorn's access log, as `liaison serve` writes it: paths and statuses, never a signature or an openid."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": sqlite_url,
        "REDIS_URL": real_redis_url,
        "LIAISON_REDIS_PREFIX": f"test:{uuid.uuid4().hex[:8]}:",
        "LIAISON_VAR": str(tmp_path),
        "WECHAT_TOKEN": TOKEN,
        "PYTHONUNBUFFERED": "1",
    }
    wechat, citizen = WeChatServer(None, safe=False), openid()  # type: ignore[arg-type]
    log = tmp_path / "serve.log"
    with liaison(["serve", "--port", str(port)], env, log):
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{base}/healthz", timeout=2).status_code == 200, log, timeout=120)
        params, body = wechat.signed(wechat.xml("text", openid=citizen, content="你好"))
        params["openid"] = citizen
        posted = httpx.post(f"{base}/wechat", params=params, content=body.encode(), timeout=30)
        assert posted.status_code == 200, posted.text
        checked = httpx.get(f"{base}/wechat", params={**wechat.signed("")[0], "echostr": "e-c-h-o"}, timeout=30)
        assert checked.text == "e-c-h-o"
        httpx.post(f"{base}/telegram", params={"secret": "hook-secret-in-url"}, json={}, timeout=30)
    written = log.read_text()
    for line in ('"POST /wechat HTTP/1.1" 200', '"GET /wechat HTTP/1.1" 200', '"POST /telegram HTTP/1.1" 404'):
        assert line in written, written
    for secret in ("signature", "nonce", "timestamp", params["signature"], citizen, "e-c-h-o", "hook-secret"):
        assert secret not in written, secret


def test_liaison_run_keeps_rasa_on_loopback_behind_a_token_of_its_own(real_redis_url, tmp_path):
    """`make run`: Rasa on 127.0.0.1 with a token made for this run, which the web app knows; the database in
    LIAISON_VAR."""
    web, nlu = _free_port(), _free_port()
    env = real_time_env(
        LIAISON_VAR=str(tmp_path),
        REDIS_URL=real_redis_url,
        LIAISON_REDIS_PREFIX=f"test:{uuid.uuid4().hex[:8]}:",
        RASA_URL=f"http://127.0.0.1:{nlu}",
    )
    for name in ("DATABASE_URL", "RASA_TOKEN", "RASA_HOST"):
        env.pop(name, None)
    upgraded = subprocess.run(
        [LIAISON, "db", "upgrade"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert upgraded.returncode == 0 and str(tmp_path / "liaison.db") in upgraded.stdout, upgraded.stderr
    log = tmp_path / "run.log"
    with liaison(["run", "--port", str(web)], env, log):
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{web}/healthz", timeout=5).json()["nlu"], log, tmp_path / "rasa.log"
        )
        assert listening_on(nlu) == {"127.0.0.1"}
        assert httpx.get(f"http://127.0.0.1:{nlu}/status", timeout=5).status_code == 401
    assert (tmp_path / "liaison.db").stat().st_size > 0
