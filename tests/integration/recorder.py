"""A local HTTP server standing in for an outbound API (Telegram, WeChat): it records every call and
answers as the real API does, or with the errors a test asks for."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

Answer = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]] | None]


class RecordingApi:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.arrived: list[float] = []  # time.monotonic() of each call, in the order of `calls`
        self.answers: list[Answer] = []  # consulted in order; None means "not mine"
        self.delay = 0.0
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingApi:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls_to(self, suffix: str) -> list[dict[str, Any]]:
        with self._lock:
            return [body for path, body in self.calls if path.endswith(suffix)]

    def times_to(self, suffix: str) -> list[tuple[float, dict[str, Any]]]:
        """(arrival time, body) of each call to a path ending in `suffix`."""
        with self._lock:
            calls = zip(self.calls, self.arrived, strict=True)
            return [(at, body) for (path, body), at in calls if path.endswith(suffix)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _body(self) -> dict[str, Any]:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                kind = self.headers.get("content-type", "")
                if "json" in kind:
                    return json.loads(raw or b"{}")
                if "form" in kind:
                    return {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                return {"raw": raw.decode(errors="replace")}

            def _serve(self, body: dict[str, Any]) -> None:
                path = urlparse(self.path).path
                body = {**body, **{k: v[0] for k, v in parse_qs(urlparse(self.path).query).items()}}
                with api._lock:
                    api.calls.append((path, body))
                    api.arrived.append(time.monotonic())
                    answer = next((a for a in (f(path, body) for f in api.answers) if a is not None), None)
                if api.delay:  # after recording: the call arrived, the caller is still waiting
                    time.sleep(api.delay)
                status, payload = answer or (200, telegram_ok(path, body))
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # noqa: N802
                self._serve(self._body())

            def do_GET(self) -> None:  # noqa: N802
                self._serve({})

        return Handler


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A caller that hung up (a worker killed mid-call) is expected here, not a failure to print."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def telegram_ok(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the Bot API answers to sendMessage (and, harmlessly, to anything else)."""
    chat_id = body.get("chat_id", 0)
    return {
        "ok": True,
        "result": {
            "message_id": int(time.time() * 1000) % 10**9,
            "date": int(time.time()),
            "chat": {"id": int(chat_id) if str(chat_id).lstrip("-").isdigit() else 0, "type": "private"},
            "text": body.get("text", ""),
        },
    }
