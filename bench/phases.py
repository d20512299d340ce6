"""Where a message's time goes: the wall-clock time of each phase of the turn, in one process.

    PYTHONPATH=. .venv/bin/python -m bench.phases [--citizens 30] [--database-url URL]

Runs the app in this process (httpx's ASGI transport: no HTTP server between), with its own Rasa server, SQLite in
a temporary directory (or `--database-url`, an existing empty database, migrated) and the Redis of REDIS_URL
(127.0.0.1:6379 by default, keys under a prefix of their own). The citizens send the report flows of
bench.roundtrip one after the other, and each phase's calls are timed by a wrapper: how many a message, their
median and their total a message. Phases overlap (the parse runs while the inbox stores the message), so the
totals do not add up to the request's time; read them against it.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import functools
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from bench.roundtrip import FLOW_REPLIES, ROOT, corpus, free_port
from nlu import project
from nlu.server import RasaProcess

Spent = collections.defaultdict[str, list[float]]


def time_calls(owner: Any, name: str, spent: Spent, label: str = "") -> None:
    """Wrap the coroutine function `owner.name` so that each call's wall-clock time goes to `spent`."""
    original = getattr(owner, name)
    label = label or f"{owner.__name__}.{name}"

    @functools.wraps(original)
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            spent[label].append((time.perf_counter() - started) * 1000)

    setattr(owner, name, timed)


def instrument(spent: Spent) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    from handlers.dispatch import Dispatcher
    from nlu.client import RasaParser
    from services import conversations, live
    from storage.dialogues import DialogueStore
    from storage.leases import Leases
    from storage.repositories import ConversationStore
    from storage.watch import WatchStore

    for owner, name in [
        (conversations.Inbox, "handle"),
        (conversations.Inbox, "_turn"),
        (conversations.Inbox, "_process"),
        (conversations.Inbox, "_open"),
        (Dispatcher, "_converse"),
        (RasaParser, "parse"),
        (Leases, "take"),
        (Leases, "__aexit__"),
        (ConversationStore, "identify"),
        (ConversationStore, "record_inbound"),
        (ConversationStore, "record_replies"),
        (ConversationStore, "mark"),
        (WatchStore, "note_turn"),
        (AsyncSession, "commit"),
        (DialogueStore, "load"),
        (DialogueStore, "save"),
    ]:
        time_calls(owner, name, spent)
    time_calls(live, "publish", spent, "live.publish")


async def measure(citizens: int, database_url: str, var: Path, rasa_url: str, token: str) -> None:
    from bot.http.app import create_app
    from settings import Settings
    from storage.db import upgrade

    spent: Spent = collections.defaultdict(list)
    instrument(spent)
    url = database_url or f"sqlite:///{var / 'liaison.db'}"
    upgrade(url)
    settings = Settings(
        database_url=url,
        redis_url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        rasa_url=rasa_url,
        rasa_token=token,
        LIAISON_CONFIG=ROOT / "config.yml",
        LIAISON_VAR=var,
        LIAISON_REDIS_PREFIX=f"bench:{uuid.uuid4().hex[:8]}:",
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client:

            async def citizen(user: str, opening: str) -> list[float]:
                times = []
                for text in (opening, *FLOW_REPLIES):
                    started = time.perf_counter()
                    answer = await client.post(
                        "/api/messages", json={"channel": "bench", "user_id": user, "text": text}
                    )
                    answer.raise_for_status()
                    times.append((time.perf_counter() - started) * 1000)
                return times

            openings = corpus(citizens + 1)
            await citizen("warm-up", openings[-1])
            spent.clear()
            requests = [ms for i in range(citizens) for ms in await citizen(f"c{i}", openings[i])]
    count = len(requests)
    median, mean = statistics.median(requests), statistics.mean(requests)
    print(f"{count} messages; a request: median {median:.1f} ms, mean {mean:.1f} ms")
    print("| phase | calls a message | median ms | total a message ms |")
    print("| --- | ---: | ---: | ---: |")
    for label, times in sorted(spent.items(), key=lambda item: -sum(item[1])):
        print(f"| {label} | {len(times) / count:.2f} | {statistics.median(times):.2f} | {sum(times) / count:.2f} |")
    print(f"database: {'PostgreSQL' if url.startswith('postgres') else 'SQLite'}; Redis: {settings.redis_url}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=30, help="report flows of 4 messages each")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    args = parser.parse_args()
    model, _ = project.train()
    with tempfile.TemporaryDirectory() as var, RasaProcess(free_port(), model=model) as rasa:
        asyncio.run(measure(args.citizens, args.database_url, Path(var), rasa.url, rasa.token))


if __name__ == "__main__":
    main()
