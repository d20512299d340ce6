"""A local HTTP server standing in for WeChat's and Telegram's APIs (WECHAT_API_BASE, TELEGRAM_API_BASE):
it answers as they do and records every call with the moment it arrived, so the suite can see which
replies reached a citizen by push, when, and how often."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


@dataclass(frozen=True)
class Call:
    at: float  # time.time() when it arrived
    path: str
    body: dict[str, Any]


class Recorder:
    def __init__(self) -> None:
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def wechat_texts(self) -> list[tuple[float, str, str]]:
        """Customer-service text messages: (when, openid, content)."""
        out = []
        for call in self.calls():
            if call.path.endswith("/message/custom/send"):
                text = call.body.get("text") or {}
                out.append((call.at, str(call.body.get("touser", "")), str(text.get("content", ""))))
        return out

    def telegram_texts(self) -> list[tuple[float, str, str]]:
        """sendMessage calls: (when, chat id, text)."""
        return [
            (c.at, str(c.body.get("chat_id", "")), str(c.body.get("text", "")))
            for c in self.calls()
            if c.path.endswith("/sendMessage")
        ]

    def _record(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self._calls.append(Call(time.time(), path, body))
        return 200, _answer(path, body)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return None

            def _serve(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                url = urlparse(self.path)
                body = {k: v[0] for k, v in parse_qs(url.query).items()}
                body.update(_decode(raw, self.headers.get("content-type", "")))
                status, payload = recorder._record(url.path, body)
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve  # noqa: N815

        return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A caller that hung up (a process killed mid-call) is part of the suite, not an error to print."""


def _decode(raw: bytes, kind: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in kind:
        try:
            data = json.loads(raw)
        except ValueError:
            return {"raw": raw.decode(errors="replace")}
        return data if isinstance(data, dict) else {"raw": data}
    if "form" in kind:
        return {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
    return {"raw": raw.decode(errors="replace")}


def _answer(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """What the real APIs answer: WeChat's token and errcode 0; Telegram's sendMessage result."""
    if path.endswith("/cgi-bin/token"):
        return {"access_token": "FAULTS-ACCESS-TOKEN", "expires_in": 7200}
    if path.endswith("/message/template/send"):
        return {"errcode": 0, "errmsg": "ok", "msgid": int(time.time() * 1000) % 10**9}
    if path.startswith("/cgi-bin/"):
        return {"errcode": 0, "errmsg": "ok"}
    chat = str(body.get("chat_id", "0"))
    return {
        "ok": True,
        "result": {
            "message_id": int(time.time() * 1000) % 10**9,
            "date": int(time.time()),
            "chat": {"id": int(chat) if chat.lstrip("-").isdigit() else 0, "type": "private"},
            "text": body.get("text", ""),
        },
    }
