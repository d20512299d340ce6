"""The two phases with traffic: concurrent retries, and the load with crashes.

Retries: citizens each report a problem (4 messages: the report, the place, no contact, confirm); every
message is one delivery sent 3 times at once, as a channel retrying while the first copy is still being
answered: over WeChat (same query string and body) and over /api/messages (same message_id).

Load: `rate` messages a second for `seconds` from `citizens` citizens (half WeChat, half API), each citizen's
messages on a schedule (one every citizens/rate seconds). Paced arrivals (the default): a citizen sends the
next message on schedule but not before the previous one was answered or given up (WeChat: 3 copies, 5 s
apart; API: retried until `api_patience`), as people in a chat do; open arrivals: every message on schedule
whatever became of the earlier ones. During it: kill -9 of the web process (started again a few seconds
later), kill -9 of the worker (started again), the NLU stopped for a while and started again. Then a quiet
period for the recovery before anything is counted.
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import redis

from bench.faultkit import dialogues
from bench.faultkit.citizens import Doors
from bench.faultkit.store import Snapshot, Store
from bench.faultkit.traffic import Delivery, dump, evaluate, send_api, send_wechat
from storage.keys import Keys

Log = Callable[[str], None]
# How long a restarted NLU may take to answer before the suite stops waiting for it (it loads in about a minute).
NLU_READY_TIMEOUT = 300.0


async def retries(doors: Doors, store: Store, deliveries: int, concurrency: int, run: str, log: Log) -> dict[str, Any]:
    """3 concurrent copies of each of `deliveries` deliveries, through each door."""
    citizens = max(1, -(-deliveries // 4))
    plans: list[Delivery] = []
    for door in ("wechat", "api"):
        for c in range(citizens):
            user = f"oRetry{run}{c:03d}" if door == "wechat" else f"retry-{run}-{c:03d}"
            steps = dialogues.report_flow(5000 + c)[: max(0, min(4, deliveries - c * 4))]
            plans += [
                Delivery(door, user, doors.wechat.msg_id() if door == "wechat" else f"r-{run}-{c}-{k}", text)
                for k, text in enumerate(steps)
            ]
    semaphore = asyncio.Semaphore(concurrency)

    async def citizen(user: str) -> None:
        async with semaphore:
            for d in (p for p in plans if p.user == user):
                if d.door == "wechat":
                    await send_wechat(doors.client, doors.wechat, d, at_once=True)
                else:
                    d.first_sent = time.time()
                    give_up = functools.partial(float, d.first_sent + 120)
                    copies = [send_api(doors.client, doors.key, d, give_up) for _ in range(3)]
                    await asyncio.gather(*copies)

    started = time.monotonic()
    await asyncio.gather(*[citizen(user) for user in dict.fromkeys(p.user for p in plans)])
    log(f"  {len(plans)} deliveries × 3 copies in {time.monotonic() - started:.0f} s; waiting for late replies")
    await asyncio.sleep(12)  # replies that missed WeChat's budget go out as customer-service messages
    snapshot = Snapshot(store)
    counts = evaluate(plans, snapshot, doors.recorder)
    if doors.stack.keep:
        dump(plans, doors.stack.work / "retries-deliveries.jsonl", snapshot)
    counts["cases_registered"] = sum(
        1 for c in snapshot.cases if c.user_id.startswith((f"oRetry{run}", f"retry-{run}-"))
    )
    counts["citizens"] = citizens * 2
    return counts


@dataclass
class Faults:
    web_kill_at: float
    worker_kill_at: float
    rasa_stop_at: float
    rasa_stop_for: float
    restart_after: float


async def load(
    doors: Doors,
    store: Store,
    *,
    rate: float,
    seconds: float,
    citizens: int,
    faults: Faults,
    quiet: float,
    arrivals: str,
    api_patience: float,
    run: str,
    log: Log,
) -> dict[str, Any]:
    stack = doors.stack
    total = int(rate * seconds)
    scripts = {c: dialogues.load_script(c) for c in range(citizens)}
    plans: list[Delivery] = []
    for k in range(total):
        c = k % citizens
        door = "wechat" if c % 2 == 0 else "api"
        user = f"oLoad{run}{c:03d}" if door == "wechat" else f"load-{run}-{c:03d}"
        text = scripts[c][k // citizens % len(scripts[c])]
        plans.append(Delivery(door, user, doors.wechat.msg_id() if door == "wechat" else f"l-{run}-{k}", text))
    # A client of its own for each citizen, as their messages come from separate clients (and one pool for
    # thousands of waiting requests would spend the load generator's time matching them to connections).
    clients = {user: http_client(stack.url, connections=40) for user in dict.fromkeys(d.user for d in plans)}
    # One exchange per door first, so the load does not meet a process that has answered nothing yet.
    await doors.api_say(f"warm-{run}", "你好")
    await doors.wechat_say(f"oWarm{run}", "你好")
    events: list[dict[str, Any]] = []
    t0 = time.time() + 1.0
    # The quiet period starts when the schedule has ended and every fault is over (the NLU answers again);
    # until then the API's clients keep retrying.
    ends = {"quiet": float("inf"), "watch": float("inf"), "worker_back": float("inf")}
    push_runs: list[float] = []

    def event(what: str) -> None:
        events.append({"at_s": round(time.time() - t0, 1), "what": what})
        log(f"  t={time.time() - t0:5.1f}s {what}")

    # The faults keep their own time in threads: the event loop is busy with the load and would run them late.
    halt = threading.Event()

    def pause(seconds: float) -> bool:
        """Sleep; True when the run is being interrupted (then do nothing more)."""
        return halt.wait(max(0.0, seconds))

    def until(moment: float) -> bool:
        return pause(t0 + moment - time.time())

    def crash_web() -> None:
        if until(faults.web_kill_at):
            return
        stack.kill_web()
        event("kill -9 web")
        if pause(faults.restart_after):
            return
        stack.start_web()
        event("web started again")
        while not stack.web_answers():
            if pause(0.5):
                return
        event("web answering again")

    def watch_pushes() -> None:
        """How long the push job stood still around the worker's kill -9 (defect 5): the moments its next run
        was set, from the Redis the processes share (not the embedded one: the app runs the jobs there too)."""
        if stack.setup != "postgres":
            return
        key = Keys(stack.redis_prefix).job_next_run("send_pushes")
        client = redis.Redis.from_url(stack.redis_url, decode_responses=True)
        try:
            last = client.get(key)
            while not halt.is_set() and time.time() < ends["watch"]:
                value = client.get(key)
                if value != last:
                    push_runs.append(time.time() - t0)
                    last = value
                pause(0.25)
        finally:
            client.close()

    def crash_worker() -> None:
        if until(faults.worker_kill_at):
            return
        stack.kill_worker()
        event("kill -9 worker")
        if pause(faults.restart_after):
            return
        stack.start_worker()
        ends["worker_back"] = time.time() - t0
        event("worker started again")

    def stop_nlu() -> None:
        if until(faults.rasa_stop_at):
            return
        stack.stop_rasa()
        event("NLU stopped")
        if pause(faults.rasa_stop_for):
            return
        stack.start_rasa()
        event("NLU started again")
        given_up = time.time() + NLU_READY_TIMEOUT
        while not stack.nlu_ready():
            if time.time() > given_up:
                event(f"NLU not ready {NLU_READY_TIMEOUT:.0f} s after its start")
                return
            if pause(2):
                return
        event("NLU ready")

    async def send(d: Delivery) -> None:
        await asyncio.sleep(max(0.0, d.planned_at - time.time()))
        if d.door == "wechat":
            await send_wechat(clients[d.user], doors.wechat, d)
        else:
            d.first_sent = time.time()
            await send_api(clients[d.user], doors.key, d, lambda: min(ends["quiet"], d.first_sent + api_patience))

    async def citizen(mine: list[Delivery]) -> None:
        """Paced: the next message on its schedule, but not before the previous one was answered or given up."""
        for d in mine:
            if time.time() > t0 + seconds:
                return  # the load is over; the rest is never sent
            await send(d)

    for k, d in enumerate(plans):
        d.planned_at = t0 + k / rate
    log(f"  {total} messages at {rate:g}/s for {seconds:g} s from {citizens} citizens, {arrivals} arrivals")
    watcher = asyncio.create_task(asyncio.to_thread(watch_pushes))
    fault_tasks = [asyncio.create_task(asyncio.to_thread(f)) for f in (crash_web, crash_worker, stop_nlu)]
    if arrivals == "open":
        senders = [asyncio.create_task(send(d)) for d in plans]
    else:
        senders = [asyncio.create_task(citizen([d for d in plans if d.user == u])) for u in clients]
    try:
        await asyncio.gather(*fault_tasks)
        await asyncio.sleep(max(0.0, t0 + seconds - time.time()))
        ends["quiet"] = time.time() + quiet
        event(f"load and faults over: {quiet:g} s of quiet before counting")
        await asyncio.wait(senders, timeout=quiet)
        await asyncio.sleep(max(0.0, ends["quiet"] - time.time()))
    finally:
        # Also when interrupted: no fault after this, nothing sent once the client is closed.
        halt.set()
        for task in senders:
            task.cancel()
        ends["watch"] = 0.0
        await asyncio.gather(*senders, *fault_tasks, watcher, return_exceptions=True)
        await asyncio.gather(*(client.aclose() for client in clients.values()), return_exceptions=True)
    sent = [d for d in plans if d.first_sent]
    snapshot = Snapshot(store)
    counts = evaluate(sent, snapshot, doors.recorder)
    if stack.keep:
        dump(plans, stack.work / "load-deliveries.jsonl", snapshot)
    lags = [d.first_sent - d.planned_at for d in sent]
    span = max([seconds, *(d.first_sent - t0 for d in sent)])
    # Only workers run the jobs on this set-up: the first run after the killed one was replaced.
    after_kill = [at for at in push_runs if at >= ends["worker_back"]]
    counts.update(
        push_job_ran_again_after_worker_kill_s=(
            round(after_kill[0] - faults.worker_kill_at, 1) if after_kill else "not during the run"
        )
        if stack.setup == "postgres"
        else None,
        messages=len(sent),
        planned=total,
        max_send_lag_s=round(max(lags, default=0.0), 2),
        wechat=sum(1 for d in sent if d.door == "wechat"),
        api=sum(1 for d in sent if d.door == "api"),
        achieved_rate=round(len(sent) / span, 1),
        still_retrying_at_end=sum(1 for d in sent if not d.done),
        events=events,
    )
    return counts


def http_client(base_url: str, connections: int = 100) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=min(connections, 20))
    return httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(30.0))
