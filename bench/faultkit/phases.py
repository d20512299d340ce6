"""The two phases with traffic: concurrent retries, and the load with crashes.

Retries: citizens each report a problem (4 messages: the report, the place, no contact, confirm); every
message is one delivery sent 3 times at once, as a channel retrying while the first copy is still being
answered: over WeChat (same query string and body) and over /api/messages (same message_id).

Load: `rate` messages a second for `seconds` from `citizens` citizens (half WeChat, half API), each citizen's
messages on a schedule (one every citizens/rate seconds). Paced arrivals (the default): a citizen sends the
next message on schedule but not before the previous one was answered or given up (WeChat: 3 copies, 5 s
apart; API: retried until `api_patience`), as people in a chat do; open arrivals: every message on schedule
whatever became of the earlier ones. During it, the faults of its scenario (`Faults`): kill -9 of one web
process of the server (uvicorn's supervisor starts another; the others keep answering), of the whole server
(started again a few seconds later: a single-process deployment, or the machine dying), of the worker (started
again), the NLU stopped for a while and started again. Then a quiet period for the recovery before anything is
counted.
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
    """The faults of one load, each at its second from the start of the load (None: not in this scenario)."""

    web_process_kill_at: float | None = None  # one web process; the supervisor replaces it
    server_kill_at: float | None = None  # the whole server; the suite starts it again after `restart_after`
    worker_kill_at: float | None = None  # `liaison worker`; started again after `restart_after`
    rasa_stop_at: float | None = None
    rasa_stop_for: float = 0.0
    restart_after: float = 3.0


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
    scenario: str = "load",
) -> dict[str, Any]:
    """One load with the faults of its scenario; `scenario` names its citizens and message ids (each scenario
    has its own, so the counts of one are not mixed with another's)."""
    stack = doors.stack
    total = int(rate * seconds)
    scripts = {c: dialogues.load_script(c) for c in range(citizens)}
    plans: list[Delivery] = []
    tag = scenario.capitalize()
    for k in range(total):
        c = k % citizens
        door = "wechat" if c % 2 == 0 else "api"
        user = f"o{tag}{run}{c:03d}" if door == "wechat" else f"{scenario}-{run}-{c:03d}"
        text = scripts[c][k // citizens % len(scripts[c])]
        external_id = doors.wechat.msg_id() if door == "wechat" else f"{scenario[0]}-{run}-{k}"
        plans.append(Delivery(door, user, external_id, text))
    # A client of its own for each citizen, as their messages come from separate clients (and one pool for
    # thousands of waiting requests would spend the load generator's time matching them to connections).
    clients = {user: http_client(stack.url, connections=40) for user in dict.fromkeys(d.user for d in plans)}
    # One exchange per door first, so the load does not meet a process that has answered nothing yet.
    await doors.api_say(f"warm-{scenario}-{run}", "你好")
    await doors.wechat_say(f"oWarm{tag}{run}", "你好")
    events: list[dict[str, Any]] = []
    # When the whole server was down: from its kill to its first answer again (absolute times).
    outages: list[list[float]] = []
    timings: dict[str, Any] = {}
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

    def kill_web_process() -> None:
        """kill -9 of one web process: the others must keep answering while the supervisor replaces it."""
        if faults.web_process_kill_at is None or until(faults.web_process_kill_at):
            return
        before = stack.startups()
        if not stack.web_processes():
            event("no web process to kill: the server is not running")
            return
        victim = stack.kill_web_process()
        killed = time.time()
        event(f"kill -9 of web process {victim} (1 of {stack.workers})")
        probes = answered = 0
        while stack.startups() <= before:
            probes += 1
            answered += stack.web_answers()
            if pause(0.5):
                return
        timings["replacement_ready_s"] = round(time.time() - killed, 1)
        timings["healthz_answered_while_replacing"] = f"{answered} / {probes}"
        event(
            f"a replacement web process ready {timings['replacement_ready_s']} s after the kill "
            f"(/healthz answered {answered} of {probes} times meanwhile)"
        )

    def kill_server() -> None:
        """kill -9 of the whole server, started again `restart_after` seconds later."""
        if faults.server_kill_at is None or until(faults.server_kill_at):
            return
        stack.kill_server()
        outage = [time.time(), float("inf")]
        outages.append(outage)
        event(f"kill -9 of the whole server (the supervisor and its {stack.workers} web processes)")
        if pause(faults.restart_after):
            return
        stack.start_web()
        event("server started again")
        while not stack.web_answers():
            if pause(0.5):
                return
        outage[1] = time.time()
        timings["server_answering_again_s"] = round(outage[1] - outage[0], 1)
        event(f"server answering again {timings['server_answering_again_s']} s after the kill")

    def watch_pushes() -> None:
        """How long the push job stood still around the worker's kill -9 (defect 5): the moments its next run
        was set, from the Redis the processes share (not the embedded one: the app runs the jobs there too)."""
        if stack.setup != "postgres" or faults.worker_kill_at is None:
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
        if faults.worker_kill_at is None or until(faults.worker_kill_at):
            return
        stack.kill_worker()
        event("kill -9 worker")
        if pause(faults.restart_after):
            return
        stack.start_worker()
        ends["worker_back"] = time.time() - t0
        event("worker started again")

    def stop_nlu() -> None:
        if faults.rasa_stop_at is None or until(faults.rasa_stop_at):
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
    fault_tasks = [
        asyncio.create_task(asyncio.to_thread(f)) for f in (kill_web_process, kill_server, crash_worker, stop_nlu)
    ]
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
    counts = evaluate(sent, snapshot, doors.recorder, [(start, end) for start, end in outages])
    if stack.keep:
        dump(plans, stack.work / f"{scenario}-deliveries.jsonl", snapshot)
    lags = [d.first_sent - d.planned_at for d in sent]
    span = max([seconds, *(d.first_sent - t0 for d in sent)])
    # Only workers run the jobs on this set-up: the first run after the killed one was replaced.
    after_kill = [at for at in push_runs if at >= ends["worker_back"]]
    counts.update(
        push_job_ran_again_after_worker_kill_s=(
            round(after_kill[0] - faults.worker_kill_at, 1) if after_kill else "not during the run"
        )
        if stack.setup == "postgres" and faults.worker_kill_at is not None
        else None,
        **timings,
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
