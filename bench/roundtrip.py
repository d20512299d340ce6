"""The bare Rasa parse against a full round trip through POST /api/messages, in one run, with the floor between
them: the same texts relayed to Rasa by a web process that does nothing else (`bench.relay`).

Starts its own Rasa server and `liaison serve` (SQLite in a temporary directory, real Redis when
REDIS_URL is set, embedded otherwise), sends report-flow messages and prints, for each side, the
median, p90 and p99 latency and the throughput (sequential and with concurrent citizens), and their ratios.

    .venv/bin/python -m bench.roundtrip [--citizens 50] [--concurrency 8] [--database-url URL] [--workers 1,2]
        [--rounds 3]

The citizens are split into `--rounds` groups, and the sides take turns on each group (the bare parse, the relay,
then the round trip; sequential, then concurrent), so that the load of a shared machine, which moves during a run,
weighs on every side of a ratio alike. `--workers 1,2` starts one server per number of web processes
(`liaison serve --workers N`), all against the same Rasa server, measured in turn on each group, and prints the
throughput of each against the first.

Both sides send the same messages: each citizen's report (the first 500 characters of a real
message) and the three answers of the flow (place, contact choice, confirmation)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import httpx

from nlu import project
from nlu.server import RasaProcess

ROOT = Path(__file__).resolve().parent.parent
# Real citizen messages, read at run time for load only (never copied into the project).
CORPUS = ROOT.parent / "shared" / "data" / "citizen_messages_with_replies.csv"
FLOW_REPLIES = ("幸福路18号阳光小区东门", "2", "确认")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def corpus(count: int) -> list[str]:
    """Report openings from real messages, at most 500 characters (a long WeChat message)."""
    with open(CORPUS, encoding="utf-8") as f:
        texts = [row["text"].strip() for row in csv.DictReader(f) if row["text"].strip()]
    return [texts[i % len(texts)][:500] for i in range(count)]


def conversation_texts(openings: list[str]) -> list[str]:
    """The messages of the report flows, in order: what both sides of the comparison parse."""
    return [text for opening in openings for text in (opening, *FLOW_REPLIES)]


def percentile(ordered: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted values: the smallest value at least `share` of them do not exceed."""
    return ordered[max(math.ceil(len(ordered) * share) - 1, 0)]


def summarise(name: str, latencies: list[float], wall: float) -> dict[str, float | str]:
    ordered = sorted(latencies)
    return {
        "name": name,
        "n": len(latencies),
        "median_ms": statistics.median(ordered) * 1000,
        "p90_ms": percentile(ordered, 0.9) * 1000,
        "p99_ms": percentile(ordered, 0.99) * 1000,
        "per_s": len(latencies) / wall,
    }


async def timed(client: httpx.AsyncClient, url: str, body: dict) -> float:
    started = time.perf_counter()
    response = await client.post(url, json=body)
    response.raise_for_status()
    return time.perf_counter() - started


def cpu_seconds(root: int) -> float:
    """The CPU time (user and system) process `root` and its descendants have used, in seconds (Linux /proc)."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The fields after the command's name (which may hold spaces): state ppid ... utime stime.
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue  # gone meanwhile
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        times[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo += children.get(pid, [])
    return total


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
Meter = Callable[[], dict[str, float]]


@dataclass
class Side:
    """One measurement's latencies, the time they took and the CPU each process used meanwhile, added up over
    the rounds."""

    name: str
    latencies: list[float] = field(default_factory=list)
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, float | str]:
        return summarise(self.name, self.latencies, self.wall)

    @contextlib.contextmanager
    def metered(self, meter: Meter) -> Iterator[None]:
        before = meter()
        yield
        for name, used in meter().items():
            self.cpu[name] = self.cpu.get(name, 0.0) + used - before[name]

    def cpu_per_message_ms(self) -> dict[str, float]:
        return {name: used * 1000 / len(self.latencies) for name, used in self.cpu.items()}


async def _parses(client: httpx.AsyncClient, url: str, texts: list[str], concurrency: int, side: Side) -> None:
    started = time.perf_counter()
    if concurrency == 1:
        side.latencies += [await timed(client, url, {"text": t}) for t in texts]
    else:
        side.latencies += await _concurrently([lambda t=t: timed(client, url, {"text": t}) for t in texts], concurrency)
    side.wall += time.perf_counter() - started


async def _trips(
    client: httpx.AsyncClient, app_url: str, openings: list[str], tag: str, concurrency: int, side: Side
) -> None:
    """Each citizen sends a report and answers the bot's questions: 4 messages a citizen."""
    url = f"{app_url}/api/messages"

    async def citizen(user: str, text: str) -> list[float]:
        return [
            await timed(client, url, {"channel": "bench", "user_id": user, "text": each})
            for each in (text, *FLOW_REPLIES)
        ]

    started = time.perf_counter()
    nested = await _concurrently(
        [lambda i=i, text=text: citizen(f"{tag}-{i}", text) for i, text in enumerate(openings)], concurrency
    )
    side.latencies += [latency for group in nested for latency in group]
    side.wall += time.perf_counter() - started


async def round_trips(app_url: str, texts: list[str], concurrency: int, label: str = "") -> tuple[dict, dict]:
    """Each citizen sends a report and answers the bot's questions: 4 messages a citizen."""
    seq, con = _trip_sides(label, concurrency)
    run = int(time.time())
    async with httpx.AsyncClient(timeout=60) as client:
        await _warm_up(client, app_url, concurrency, run)
        await _trips(client, app_url, texts, f"s{run}", 1, seq)
        await _trips(client, app_url, texts, f"c{run}", concurrency, con)
    return seq.summary(), con.summary()


async def interleaved(
    rasa_url: str,
    token: str,
    relay_url: str,
    apps: dict[int, str],
    groups: list[list[str]],
    concurrency: int,
    meter: Meter,
) -> tuple[tuple[Side, Side], tuple[Side, Side], dict[int, tuple[Side, Side]]]:
    """The bare parse, the relay (`relay_url`: bench.relay) and the round trips of each set-up, one group of
    citizens at a time, in turn: a change in the machine's load during the run weighs on every side alike, so
    their ratios hold. `meter` reads the CPU time of the processes measured, for each side's share."""
    parse_url = f"{rasa_url}/model/parse"
    bare = (Side("bare Rasa parse, sequential"), Side(f"bare Rasa parse, {concurrency} at once"))
    relayed = (Side("relay to Rasa, sequential"), Side(f"relay to Rasa, {concurrency} at once"))
    label = len(apps) > 1
    trips = {count: _trip_sides(f" ({count} web processes)" if label else "", concurrency) for count in apps}
    run = int(time.time())
    async with (
        httpx.AsyncClient(timeout=30, params={"token": token}) as rasa,
        httpx.AsyncClient(timeout=60) as client,
    ):
        await timed(rasa, parse_url, {"text": "你好"})
        await timed(client, relay_url, {"text": "你好"})
        for app_url in apps.values():
            await _warm_up(client, app_url, concurrency, run)
        for n, group in enumerate(groups):
            texts = conversation_texts(group)
            with bare[0].metered(meter):
                await _parses(rasa, parse_url, texts, 1, bare[0])
            with relayed[0].metered(meter):
                await _parses(client, relay_url, texts, 1, relayed[0])
            for count, app_url in apps.items():
                with trips[count][0].metered(meter):
                    await _trips(client, app_url, group, f"s{run}-{count}-{n}", 1, trips[count][0])
            with bare[1].metered(meter):
                await _parses(rasa, parse_url, texts, concurrency, bare[1])
            with relayed[1].metered(meter):
                await _parses(client, relay_url, texts, concurrency, relayed[1])
            for count, app_url in apps.items():
                with trips[count][1].metered(meter):
                    await _trips(client, app_url, group, f"c{run}-{count}-{n}", concurrency, trips[count][1])
    return bare, relayed, trips


def _trip_sides(label: str, concurrency: int) -> tuple[Side, Side]:
    return (
        Side(f"round trip /api/messages{label}, sequential"),
        Side(f"round trip /api/messages{label}, {concurrency} citizens at once"),
    )


async def _warm_up(client: httpx.AsyncClient, app_url: str, concurrency: int, run: int) -> None:
    for n in range(concurrency):  # every web process warmed up
        await timed(
            client, f"{app_url}/api/messages", {"channel": "bench", "user_id": f"warm-{run}-{n}", "text": "你好"}
        )


async def _concurrently(jobs, limit: int):  # type: ignore[no-untyped-def]
    semaphore = asyncio.Semaphore(limit)

    async def one(job):  # type: ignore[no-untyped-def]
        async with semaphore:
            return await job()

    return await asyncio.gather(*[one(job) for job in jobs])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(url)


class Served(NamedTuple):
    url: str
    pid: int


@contextlib.contextmanager
def serving(rasa_url: str, database_url: str = "", workers: int = 1, **env_extra: str) -> Iterator[Served]:
    """`liaison serve --workers N` on a free port with its own database (SQLite in a temporary directory unless
    `database_url`) and Redis keys; yields its base URL and process id once every web process has started, and
    stops it afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "RASA_URL": rasa_url,
            "DATABASE_URL": database_url or f"sqlite:///{tmp}/bench.db",
            "LIAISON_VAR": tmp,
            "LIAISON_REDIS_PREFIX": f"bench:{port}:",
            **env_extra,
        }
        subprocess.run(
            [sys.executable, "-m", "bot.cli.main", "db", "upgrade"], env=env, check=True, cwd=ROOT, capture_output=True
        )
        log = Path(tmp) / "serve.log"
        with log.open("wb") as out:
            app = subprocess.Popen(
                [sys.executable, "-m", "bot.cli.main", "serve", "--port", str(port), "--workers", str(workers)],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_http(f"http://127.0.0.1:{port}/healthz")
            deadline = time.monotonic() + 120
            while log.read_text(errors="replace").count("Application startup complete") < workers:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{workers} web processes did not start")
                time.sleep(0.3)
            yield Served(f"http://127.0.0.1:{port}", app.pid)
        finally:
            app.terminate()
            app.wait(15)


@contextlib.contextmanager
def relaying(rasa_url: str, token: str) -> Iterator[Served]:
    """bench.relay on a free port, as `liaison serve` runs the bot (one uvicorn process); yields its /parse URL
    and process id."""
    port = free_port()
    env = {**os.environ, "RASA_URL": rasa_url, "RASA_TOKEN": token}
    relay = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.relay:app", "--port", str(port), "--log-level", "warning"],
        env=env,
        cwd=ROOT,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/docs")
        yield Served(f"http://127.0.0.1:{port}/parse", relay.pid)
    finally:
        relay.terminate()
        relay.wait(15)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--citizens", type=int, default=50, help="report flows of 4 messages each")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    parser.add_argument(
        "--workers",
        default="1",
        help="web processes, or several counts to compare (e.g. 1,2): a server each, measured in turn",
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="groups of citizens (at least --concurrency each); the sides take turns"
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    openings = corpus(args.citizens)
    rounds = max(1, min(args.rounds, args.citizens // args.concurrency))
    groups = [openings[n * len(openings) // rounds : (n + 1) * len(openings) // rounds] for n in range(rounds)]
    model, _ = project.train()
    with RasaProcess(free_port(), model=model) as rasa, contextlib.ExitStack() as stack:
        relay = stack.enter_context(relaying(rasa.url, rasa.token))
        servers = {
            count: stack.enter_context(serving(rasa.url, args.database_url, count, RASA_TOKEN=rasa.token))
            for count in counts
        }

        def meter() -> dict[str, float]:
            # The bench's own CPU too: it shares the machine's cores with what it measures.
            return {"Rasa": cpu_seconds(rasa.pid), "relay": cpu_seconds(relay.pid), "client": time.process_time()} | {
                f"bot ({count})": cpu_seconds(server.pid) for count, server in servers.items()
            }

        apps = {count: server.url for count, server in servers.items()}
        sides, relayed, trips = asyncio.run(
            interleaved(rasa.url, rasa.token, relay.url, apps, groups, args.concurrency, meter)
        )
    bare = tuple(side.summary() for side in sides)
    floor = tuple(side.summary() for side in relayed)
    full = {count: tuple(side.summary() for side in trips[count]) for count in counts}
    print("| measurement | messages | median ms | p90 ms | p99 ms | messages/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for row in (*bare, *floor, *(row for count in counts for row in full[count])):
        print(
            f"| {row['name']} | {row['n']} | {row['median_ms']:.1f} | {row['p90_ms']:.1f} | {row['p99_ms']:.1f} "
            f"| {row['per_s']:.1f} |"
        )
    first = full[counts[0]]
    print(
        f"\nmedian latency ratio, round trip / bare parse (sequential): "
        f"{first[0]['median_ms'] / bare[0]['median_ms']:.2f}"
    )
    print(
        f"throughput ratio, round trip / bare parse ({args.concurrency} at once): "
        f"{first[1]['per_s'] / bare[1]['per_s']:.2f}"
    )
    print(
        f"p99 ratio, round trip / bare parse ({args.concurrency} at once): {first[1]['p99_ms'] / bare[1]['p99_ms']:.2f}"
    )
    print(
        f"the floor, relay / bare parse: median {floor[0]['median_ms'] / bare[0]['median_ms']:.2f}, throughput "
        f"{floor[1]['per_s'] / bare[1]['per_s']:.2f}, p99 {floor[1]['p99_ms'] / bare[1]['p99_ms']:.2f}"
    )
    print(
        f"\nCPU a message, ms of a core ({args.concurrency} at once; the bot's web processes with their embedded "
        "Redis, not PostgreSQL's or an outside Redis's):"
    )
    bare_cpu = sides[1].cpu_per_message_ms()
    print(f"- bare parse: Rasa {bare_cpu['Rasa']:.1f}, the bench client {bare_cpu['client']:.1f}")
    relay_cpu = relayed[1].cpu_per_message_ms()
    print(
        f"- relay: Rasa {relay_cpu['Rasa']:.1f}, relay {relay_cpu['relay']:.1f}, "
        f"the bench client {relay_cpu['client']:.1f}"
    )
    for count in counts:
        used = trips[count][1].cpu_per_message_ms()
        print(
            f"- round trip ({count} web processes): Rasa {used['Rasa']:.1f}, bot {used[f'bot ({count})']:.1f}, "
            f"the bench client {used['client']:.1f}"
        )
    for count in counts[1:]:
        print(
            f"{count} web processes against {counts[0]}, {args.concurrency} at once: "
            f"throughput {full[count][1]['per_s'] / first[1]['per_s']:.2f}x, "
            f"median {full[count][1]['median_ms'] / first[1]['median_ms']:.2f}x"
        )
    print(
        f"database: {'PostgreSQL' if args.database_url.startswith('postgres') else 'SQLite'}; "
        f"Redis: {os.environ.get('REDIS_URL', 'embedded')}"
    )


if __name__ == "__main__":
    main()
