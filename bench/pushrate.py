"""Pushes at the channels' limits: real `liaison worker` processes send a queue of pushes to a local recorder
that enforces Telegram's limits and WeChat's customer-service rules, and counts what breaks them.

The recorder (a real HTTP server in this process) answers as the platforms do:

- Telegram `sendMessage`: at most 30 messages in any second overall and 1 in any second to one chat, counted on
  arrival; a message over either limit is refused with 429 and `retry_after` 1, and counted as a violation.
- WeChat customer-service messages (`message/custom/send`): only within 48 hours of the person's last message
  and at most `wechat.customer_service_quota` (5) in that window; another is refused (45015 / 45047) and counted
  as a violation. Template messages are accepted (config.yml has none by default: such pushes wait).

The queue: `--pushes` Telegram pushes to `--chats` chats, `--hot` of them getting `--hot-share` of the pushes, in
random order; and `--wechat` pushes to 100 WeChat users, 60 of them inside their window. It is written to the
database before the workers start. Reported: the Telegram pushes' achieved rate against the allowed rate (the
fastest any sender could go within both limits: the larger of pushes / 30 s and the busiest chat's pushes / 1 s),
violations, duplicates (a push delivered twice), and what became of every push.

    .venv/bin/python -m bench.pushrate [--pushes 3000] [--chats 500] [--workers 2] [--database-url URL]

Redis: REDIS_URL (default redis://127.0.0.1:6379/0), under keys of its own.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from sqlalchemy import create_engine, func, insert, select

from bench.roundtrip import ROOT, free_port
from storage.models import ChannelIdentity, Citizen, Push, utcnow

TELEGRAM_OVERALL = 30  # messages in any second
TELEGRAM_PER_CHAT = 1
WECHAT_WINDOW = dt.timedelta(hours=48)
WECHAT_QUOTA = 5


class Recorder:
    """The platforms' rules, applied to calls as they arrive."""

    def __init__(self, windows: dict[str, float]) -> None:
        self.lock = threading.Lock()
        self.recent: collections.deque[float] = collections.deque()  # accepted Telegram arrivals, last second
        self.last_to: dict[str, float] = {}
        self.accepted: list[tuple[float, str, str]] = []  # (arrival, chat, text)
        self.telegram_violations = collections.Counter[str]()
        self.windows = windows  # openid -> when the window opened (epoch seconds)
        self.kf_used = collections.Counter[str]()
        self.kf_accepted: list[tuple[str, str]] = []
        self.templates: list[tuple[str, str]] = []
        self.wechat_violations = collections.Counter[str]()

    def telegram(self, body: dict[str, Any], now: float) -> tuple[int, dict[str, Any]]:
        """`now`: when the request arrived."""
        chat, text = str(body.get("chat_id")), str(body.get("text"))
        with self.lock:
            while self.recent and self.recent[0] <= now - 1.0:
                self.recent.popleft()
            broken = ""
            if len(self.recent) >= TELEGRAM_OVERALL:
                broken = "overall"
            elif chat in self.last_to and now - self.last_to[chat] < 1.0 / TELEGRAM_PER_CHAT:
                broken = "per chat"
            if broken:
                self.telegram_violations[broken] += 1
                return 429, {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 1",
                    "parameters": {"retry_after": 1},
                }
            self.recent.append(now)
            self.last_to[chat] = now
            self.accepted.append((now, chat, text))
        chat_id = int(chat) if chat.lstrip("-").isdigit() else 0
        message = {
            "message_id": len(self.accepted),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
        }
        return 200, {"ok": True, "result": {**message, "text": text}}

    def wechat_kf(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        openid, text = str(body.get("touser")), str(body.get("text", {}).get("content"))
        with self.lock:
            opened = self.windows.get(openid)
            if opened is None or time.time() > opened + WECHAT_WINDOW.total_seconds():
                self.wechat_violations["outside the 48-hour window"] += 1
                return 200, {"errcode": 45015, "errmsg": "response out of time limit"}
            if self.kf_used[openid] >= WECHAT_QUOTA:
                self.wechat_violations["over the window's quota"] += 1
                return 200, {"errcode": 45047, "errmsg": "out of response count limit"}
            self.kf_used[openid] += 1
            self.kf_accepted.append((openid, text))
        return 200, {"errcode": 0, "errmsg": "ok"}

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def _answer(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - the WeChat access token
                self._answer(200, {"access_token": "bench-token", "expires_in": 7200})

            def do_POST(self) -> None:  # noqa: N802
                arrived = time.monotonic()
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                body = json.loads(raw or b"{}") if "json" in self.headers.get("content-type", "") else {}
                if not body and raw:
                    body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
                path = urlparse(self.path).path
                if path.endswith("/sendMessage"):
                    self._answer(*recorder.telegram(body, arrived))
                elif path.endswith("/message/custom/send"):
                    self._answer(*recorder.wechat_kf(body))
                elif path.endswith("/message/template/send"):
                    with recorder.lock:
                        recorder.templates.append((str(body.get("touser")), json.dumps(body, ensure_ascii=False)))
                    self._answer(200, {"errcode": 0, "errmsg": "ok", "msgid": len(recorder.templates)})
                else:
                    self._answer(200, {"ok": True, "result": True})

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}"


def telegram_queue(pushes: int, chats: int, hot: int, hot_share: float, rng: random.Random) -> list[str]:
    """The chat of each push, in queue order: `hot` chats share `hot_share` of the pushes, the rest the others."""
    ids = [str(7_000_000_000 + i) for i in range(chats)]
    hot_pushes = int(pushes * hot_share)
    order = [ids[i % hot] for i in range(hot_pushes)]
    order += [ids[hot + i % (chats - hot)] for i in range(pushes - hot_pushes)]
    rng.shuffle(order)
    return order


def fill(database_url: str, chats: list[str], wechat: list[tuple[str, dt.datetime]], wechat_pushes: list[str]) -> None:
    """The citizens (WeChat users with their last message) and the queued pushes."""
    engine = create_engine(database_url)
    now = utcnow()
    with engine.begin() as db:
        for openid, last in wechat:
            citizen = db.execute(insert(Citizen).values(created_at=now).returning(Citizen.id)).scalar_one()
            db.execute(
                insert(ChannelIdentity).values(
                    citizen_id=citizen, channel="wechat", external_id=openid, created_at=now, last_inbound_at=last
                )
            )
        rows = [("telegram", chat) for chat in chats] + [("wechat", openid) for openid in wechat_pushes]
        db.execute(
            insert(Push),
            [
                {
                    "dedupe_key": f"bench:{i}",
                    "kind": "case_status",
                    "recipient_type": "citizen",
                    "recipient": f"{channel}:{address}",
                    "channel": channel,
                    "address": address,
                    "text": f"案件进展通知 #{i}",
                    "buttons": [],
                    "status": "queued",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "last_error": "",
                }
                for i, (channel, address) in enumerate(rows)
            ],
        )
    engine.dispose()


def outcomes(database_url: str) -> dict[tuple[str, str], int]:
    engine = create_engine(database_url)
    with engine.connect() as db:
        rows = db.execute(select(Push.channel, Push.status, func.count()).group_by(Push.channel, Push.status)).all()
    engine.dispose()
    return {(str(channel), str(status)): int(n) for channel, status, n in rows}


def counted_twice(database_url: str) -> int:
    """Pushes whose claim was counted as more than one attempt (a wait for the pace must not be)."""
    engine = create_engine(database_url)
    with engine.connect() as db:
        n = db.execute(select(func.count()).select_from(Push).where(Push.attempts > 1)).scalar_one()
    engine.dispose()
    return int(n)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pushes", type=int, default=3000, help="Telegram pushes")
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--hot", type=int, default=10, help="chats that get many pushes")
    parser.add_argument("--hot-share", type=float, default=0.2, help="share of the pushes the hot chats get")
    parser.add_argument("--wechat", type=int, default=400, help="WeChat pushes to 100 users")
    parser.add_argument("--workers", type=int, default=2, help="`liaison worker` processes")
    parser.add_argument("--database-url", default="", help="an empty database; default SQLite in a temporary dir")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    chats = telegram_queue(args.pushes, args.chats, args.hot, args.hot_share, rng)
    now = utcnow()
    users = [
        (f"o-bench-{i:03d}", now - (dt.timedelta(hours=1) if i < 60 else dt.timedelta(hours=50))) for i in range(100)
    ]
    wechat_pushes = [users[rng.randrange(100)][0] for _ in range(args.wechat)]

    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite:///{tmp}/pushrate.db"
        recorder = Recorder({openid: last.timestamp() for openid, last in users})
        server, api = recorder.serve()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
            "LIAISON_REDIS_PREFIX": f"bench-pushrate:{free_port()}:",
            "LIAISON_VAR": tmp,
            "TELEGRAM_TOKEN": "123:BENCH",
            "TELEGRAM_API_BASE": api,
            "WECHAT_APP_ID": "wx-bench",
            "WECHAT_APP_SECRET": "bench-secret",
            "WECHAT_API_BASE": f"{api}/cgi-bin/",
        }
        subprocess.run([sys.executable, "-m", "bot.cli.main", "db", "upgrade"], env=env, check=True, cwd=ROOT)
        fill(database_url, chats, users, wechat_pushes)
        logs = [open(Path(tmp) / f"worker{i}.log", "wb") for i in range(args.workers)]  # noqa: SIM115
        workers = [
            subprocess.Popen(
                [sys.executable, "-m", "bot.cli.main", "worker"], env=env, cwd=ROOT, stdout=log, stderr=log
            )
            for log in logs
        ]
        started = time.monotonic()
        try:
            limit = started + max(600, args.pushes)  # a guard against a hang, far beyond the expected time
            while time.monotonic() < limit:
                time.sleep(1)
                left = outcomes(database_url)
                if not any(status in ("queued", "retry", "sending") for _, status in left):
                    break
        finally:
            for worker in workers:
                worker.terminate()
            for worker in workers:
                worker.wait(30)
            server.shutdown()
        final = outcomes(database_url)
        attempts_over_one = counted_twice(database_url)
    report(args, recorder, chats, users, wechat_pushes, final, attempts_over_one)


def report(
    args: argparse.Namespace,
    recorder: Recorder,
    chats: list[str],
    users: list[tuple[str, dt.datetime]],
    wechat_pushes: list[str],
    final: dict[tuple[str, str], int],
    attempts_over_one: int,
) -> None:
    per_chat = collections.Counter(chats)
    busiest = max(per_chat.values())
    times = sorted(at for at, _, _ in recorder.accepted)
    span = times[-1] - times[0] if len(times) > 1 else float("nan")
    # The fastest schedule within both limits: one send every 1/30 s overall, and the busiest chat one a second.
    allowed_span = max((len(chats) - 1) / TELEGRAM_OVERALL, (busiest - 1) / TELEGRAM_PER_CHAT)
    achieved = (len(times) - 1) / span
    allowed = (len(chats) - 1) / allowed_span
    delivered = collections.Counter((chat, text) for _, chat, text in recorder.accepted)
    kf = collections.Counter(recorder.kf_accepted)
    open_users = {openid for openid, last in users if utcnow() - last < WECHAT_WINDOW}
    wanted = collections.Counter(wechat_pushes)
    kf_possible = sum(min(n, WECHAT_QUOTA) for openid, n in wanted.items() if openid in open_users)
    hot = f"{args.hot} chats got {args.hot_share:.0%}; the busiest {busiest}"
    print(f"\nTelegram: {len(chats)} pushes to {args.chats} chats ({hot})")
    print(f"WeChat: {len(wechat_pushes)} pushes to 100 users ({len(open_users)} inside their 48-hour window)")
    print(f"workers: {args.workers} `liaison worker` processes\n")
    print("| figure | value | target |")
    print("| --- | ---: | ---: |")
    print(f"| Telegram pushes delivered | {len(delivered)} of {len(chats)} | all |")
    print(f"| first to last delivery | {span:.1f} s (fastest allowed {allowed_span:.1f} s) | |")
    print(f"| achieved rate | {achieved:.1f}/s | |")
    first = times[0]
    seconds = collections.Counter(int(at - first) for at in times[:-1] if at - first < int(span))
    print(f"| deliveries in each whole second | {min(seconds.values())}–{max(seconds.values())} | ≤ 30 |")
    tens = collections.Counter(int((at - first) // 10) for at in times)
    print(f"| deliveries in each 10 s | {' '.join(str(tens[i]) for i in range(max(tens) + 1))} | ≤ 300 |")
    print(f"| allowed rate | {allowed:.1f}/s | |")
    print(f"| achieved / allowed | {achieved / allowed:.1%} | ≥ 90 % |")
    violations = recorder.telegram_violations
    print(f"| Telegram violations (429) | {sum(violations.values())} {dict(violations)} | 0 |")
    print(f"| Telegram duplicates | {sum(n - 1 for n in delivered.values())} | 0 |")
    kf_sent = len(recorder.kf_accepted)
    print(f"| WeChat customer-service messages | {kf_sent} (the window and quota allow {kf_possible}) | |")
    print(f"| WeChat violations | {sum(recorder.wechat_violations.values())} {dict(recorder.wechat_violations)} | 0 |")
    print(f"| WeChat duplicates | {sum(n - 1 for n in kf.values())} | 0 |")
    print(f"| pushes counted as more than one attempt | {attempts_over_one} | 0 |")
    print(f"\noutcomes: {', '.join(f'{c} {s}: {n}' for (c, s), n in sorted(final.items()))}")
    print(
        f"database: {'PostgreSQL' if args.database_url.startswith('postgres') else 'SQLite'}; "
        f"Redis: {os.environ.get('REDIS_URL', 'redis://127.0.0.1:6379/0')}"
    )


if __name__ == "__main__":
    main()
