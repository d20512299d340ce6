"""Running the Rasa server as a child process: start, wait until it answers, stop."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx

from nlu import project


class RasaProcess:
    """A `rasa run --enable-api` child on `host:port`, serving the model of the current inputs; its API answers
    only to `token` (one is made when none is given)."""

    def __init__(
        self,
        port: int,
        model: Path | None = None,
        log_path: Path | None = None,
        *,
        host: str = "127.0.0.1",
        token: str = "",
    ) -> None:
        self.port = port
        self.model = model
        self.log_path = log_path
        self.host = host
        self.token = token or secrets.token_urlsafe(24)
        self.url = f"http://{reachable(host)}:{port}"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        model = self.model or project.train()[0]
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL  # noqa: SIM115
        # Its own session, so that Ctrl-C in a terminal reaches us and we stop it in order.
        self._process = subprocess.Popen(
            project.serve_command(self.port, model, host=self.host, token=self.token),
            cwd=project.NLU_DIR,
            env=project.rasa_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        """The server's process id, once started."""
        assert self._process is not None, "the Rasa server is not started"
        return self._process.pid

    def ready(self) -> bool:
        try:
            response = httpx.get(f"{self.url}/status", params={"token": self.token}, timeout=1.0)
            return response.status_code == 200 and bool(response.json().get("model_file"))
        except (httpx.HTTPError, ValueError):
            return False

    def wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(
                    f"the Rasa server exited with code {self._process.returncode}"
                    + (f"; see {self.log_path}" if self.log_path else "")
                )
            if self.ready():
                return
            time.sleep(0.5)
        raise TimeoutError(f"the Rasa server did not answer on {self.url} within {timeout:.0f} s")

    def stop(self, grace: float = 15.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> RasaProcess:
        self.start()
        self.wait_ready()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def port_of(url: str) -> int:
    return urlparse(url).port or 5005


def reachable(host: str) -> str:
    """Where a server listening on `host` is reached from this machine."""
    if host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
