"""The web process's resident memory: idle after start, after a load, and over a soak of steady traffic.

Starts its own Rasa server and `liaison serve` (as bench/roundtrip.py does: SQLite in a temporary directory
unless --database-url, real Redis when REDIS_URL is set, embedded otherwise) and reads the resident set
(VmRSS in /proc/PID/status) of the `liaison serve` process:

- idle: after the health check answers and a few quiet seconds;
- after the load: `--citizens` report flows (4 messages each), `--concurrency` at once;
- the soak: `--minutes` of steady traffic (`--rate` messages a second, each citizen a new report flow and,
  every fifth, a question about progress), sampled every `--every` seconds.

It prints every sample, the least-squares slope of the soak's samples in MB per minute, the first and last
sample, and whether the memory grew (slope above `--tolerance` MB per minute).

    .venv/bin/python -m bench.memory [--minutes 10] [--every 30] [--rate 4] [--citizens 50]

With `--trace N` it runs the app in this process instead, under tracemalloc, and prints where the memory
allocated by N soak messages after N warm-up messages is still held (the top lines of a snapshot diff).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.roundtrip import FLOW_REPLIES, ROOT, corpus, free_port, round_trips, wait_http
from nlu import project
from nlu.server import RasaProcess


def resident_mb(pid: int) -> float:
    """The process's resident set size (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def slope_per_minute(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    n = len(samples)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (m - mean_m) for t, m in samples)
    return cov / var * 60 if var else 0.0


@contextlib.contextmanager
def server(rasa_url: str, rasa_token: str, database_url: str) -> Iterator[tuple[str, int]]:
    """`liaison serve` on a free port with its own database and Redis keys: (base URL, its process id)."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "RASA_URL": rasa_url,
            "RASA_TOKEN": rasa_token,
            "DATABASE_URL": database_url or f"sqlite:///{tmp}/bench.db",
            "LIAISON_VAR": tmp,
            "LIAISON_REDIS_PREFIX": f"bench-memory:{port}:",
        }
        subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "db", "upgrade"], env=env, check=True, cwd=ROOT, capture_output=True
        )
        app = subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz")
            yield f"http://127.0.0.1:{port}", app.pid
        finally:
            app.terminate()
            app.wait(15)


async def soak(app_url: str, pid: int, texts: list[str], minutes: float, every: float, rate: float) -> list:
    """Steady traffic for `minutes`: report flows of new citizens at `rate` messages a second (every fifth
    citizen then asks for progress); the resident memory sampled every `every` seconds."""
    url = f"{app_url}/api/messages"
    run = int(time.time())
    samples: list[tuple[float, float]] = []
    sent = 0
    errors = 0
    started = time.monotonic()
    end = started + minutes * 60
    next_sample = started

    async with httpx.AsyncClient(timeout=60) as client:

        async def say(user: str, text: str) -> None:
            nonlocal sent, errors
            response = await client.post(url, json={"channel": "bench", "user_id": user, "text": text})
            sent += 1
            errors += response.status_code >= 400

        citizen = 0
        while (now := time.monotonic()) < end:
            if now >= next_sample:
                samples.append((now - started, resident_mb(pid)))
                print(f"  soak {now - started:6.0f} s: {samples[-1][1]:7.1f} MB, {sent} messages", flush=True)
                next_sample += every
            user = f"soak{run}-{citizen}"
            messages = [texts[citizen % len(texts)], *FLOW_REPLIES]
            if citizen % 5 == 0:
                messages.append("我反映的问题办得怎么样了")
            for text in messages:
                await say(user, text)
                await asyncio.sleep(max(0.0, started + sent / rate - time.monotonic()))
            citizen += 1
        samples.append((time.monotonic() - started, resident_mb(pid)))
    print(f"  soak end: {samples[-1][1]:.1f} MB; {sent} messages ({errors} answered with an error), {citizen} citizens")
    return samples


def held() -> dict[str, float]:
    """This process's resident memory, what Python's objects hold (tracemalloc), and what SQLite's page caches
    and statements hold (sqlite3_memory_used of the library the sqlite3 module uses), in MB."""
    import ctypes
    import ctypes.util
    import tracemalloc

    library = ctypes.CDLL(ctypes.util.find_library("sqlite3") or "libsqlite3.so.0")
    library.sqlite3_memory_used.restype = ctypes.c_int64
    return {
        "the process (VmRSS)": resident_mb(os.getpid()),
        "Python objects (tracemalloc)": tracemalloc.get_traced_memory()[0] / 2**20,
        "SQLite (sqlite3_memory_used)": library.sqlite3_memory_used() / 2**20,
    }


async def trace(rasa_url: str, rasa_token: str, texts: list[str], messages: int) -> None:
    """The app in this process (its lifespan run, requests through ASGI) under tracemalloc: `messages` soak
    messages to warm up, a snapshot, as many again, another snapshot; the allocations still held between them,
    by the place that made them."""
    import tracemalloc

    from bot.http.app import create_app
    from settings import Settings

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update(
            RASA_URL=rasa_url,
            RASA_TOKEN=rasa_token,
            DATABASE_URL=f"sqlite:///{tmp}/bench.db",
            LIAISON_VAR=tmp,
            LIAISON_REDIS_PREFIX=f"bench-trace:{free_port()}:",
        )
        upgrade = [sys.executable, "-m", "bot.cli.main", "db", "upgrade"]
        subprocess.run(upgrade, check=True, cwd=ROOT, capture_output=True)
        app = create_app(Settings())
        tracemalloc.start(6)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client:

                async def flows(start: int) -> None:
                    sent, citizen = 0, start
                    while sent < messages:
                        for text in [texts[citizen % len(texts)], *FLOW_REPLIES, "我反映的问题办得怎么样了"]:
                            body = {"channel": "bench", "user_id": f"trace-{citizen}", "text": text}
                            (await client.post("/api/messages", json=body)).raise_for_status()
                            sent += 1
                        citizen += 1

                await flows(0)
                before, held_before = tracemalloc.take_snapshot(), held()
                await flows(10**6)
                after, held_after = tracemalloc.take_snapshot(), held()
        print("| held by | before (MB) | after (MB) | growth (MB) |")
        print("| --- | ---: | ---: | ---: |")
        for name, was, now in zip(held_before, held_before.values(), held_after.values(), strict=True):
            print(f"| {name} | {was:.1f} | {now:.1f} | {now - was:+.1f} |")
        for stat in after.compare_to(before, "traceback")[:12]:
            print(f"{stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks")
            for line in stat.traceback.format(limit=6):
                print("   ", line)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the soak")
    parser.add_argument("--every", type=float, default=30.0, help="seconds between samples during the soak")
    parser.add_argument("--rate", type=float, default=4.0, help="messages a second during the soak")
    parser.add_argument("--citizens", type=int, default=50, help="report flows of the load before the soak")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--tolerance", type=float, default=0.5, help="MB a minute counted as growth")
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    parser.add_argument("--trace", type=int, default=0, help="run in this process under tracemalloc instead")
    args = parser.parse_args()
    texts = corpus(max(args.citizens, 200))
    model, _ = project.train()
    if args.trace:
        with RasaProcess(free_port(), model=model) as rasa:
            asyncio.run(trace(rasa.url, rasa.token, texts, args.trace))
        return
    with RasaProcess(free_port(), model=model) as rasa, server(rasa.url, rasa.token, args.database_url) as (url, pid):
        time.sleep(5)
        idle = resident_mb(pid)
        print(f"idle after start: {idle:.1f} MB", flush=True)
        asyncio.run(round_trips(url, texts[: args.citizens], args.concurrency))
        loaded = resident_mb(pid)
        print(f"after the load ({args.citizens * 4 * 2} messages): {loaded:.1f} MB", flush=True)
        samples = asyncio.run(soak(url, pid, texts, args.minutes, args.every, args.rate))
    slope = slope_per_minute(samples)
    (_, first), (t1, last) = samples[0], samples[-1]
    print("\n| measurement | resident MB |")
    print("| --- | ---: |")
    print(f"| idle after start | {idle:.1f} |")
    load = f"{args.citizens} report flows twice: sequential, {args.concurrency} at once"
    print(f"| after the load ({load}) | {loaded:.1f} |")
    print(f"| soak, first sample (0 min) | {first:.1f} |")
    print(f"| soak, last sample ({t1 / 60:.1f} min) | {last:.1f} |")
    print(f"| soak, fitted slope | {slope:+.2f} MB/min over {len(samples)} samples |")
    print(
        f"\nsoak: {args.minutes:g} min at {args.rate:g} messages/s; "
        f"{'GROWS' if slope > args.tolerance else 'does not grow'} (tolerance {args.tolerance} MB/min); "
        f"database: {'PostgreSQL' if args.database_url.startswith('postgres') else 'SQLite'}; "
        f"Redis: {os.environ.get('REDIS_URL', 'embedded')}"
    )


if __name__ == "__main__":
    main()
