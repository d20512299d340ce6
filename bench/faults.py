"""The fault suite of issue 9: the product started as a user starts it, then attacked, retried and crashed.

    .venv/bin/python -m bench.faults [--setup postgres|default|both] [--quick] [--load-seconds 60] ...

For each set-up (PostgreSQL + Redis, or SQLite + the embedded Redis) it starts `liaison db upgrade`,
`liaison nlu serve`, `liaison serve --workers N` and `liaison worker` as child processes, with its own WeChat account,
Telegram bot and channel key, and a local recorder in place of WeChat's and Telegram's APIs; then:

1. the hostile corpus (bench/faultkit/corpus.py): forged, replayed, stale, XXE, entity bomb, oversized,
   malformed, NUL, lone surrogates, invalid UTF-8, unknown types, emoji, impersonation, reused ids, /metrics
   from outside; each request must be refused (4xx) or accepted (2xx) as its kind says;
2. concurrent retries: each of `--deliveries` deliveries sent 3 times at once, over WeChat and the API;
3. the load: `--rate` messages a second for `--load-seconds` from `--citizens` citizens, with kill -9 of one
   of the server's `--workers` web processes (uvicorn's supervisor replaces it, the others keep answering),
   kill -9 of the worker and the NLU stopped for `--rasa-stop` seconds, then `--quiet` seconds of recovery;
4. the crash: the same load for `--crash-seconds` with kill -9 of the whole server (its supervisor and every
   web process), started again `--restart-after` seconds later, as a single-process deployment or a dead
   machine meets it; reported apart, with the time the server took to answer again.

It prints one table per scenario (5xx, messages stored from forged requests, duplicates, lost, lost after a
2xx, stuck in `received`, answered within 5 s) with a row per set-up, writes bench/results/faults-<setup>.json,
and exits 1 when any count of the first table but the last is not zero, or in the crash anything but WeChat
deliveries whose copies all ran out while the server was down. Everything it started is stopped and its data
deleted at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from typing import Any

from bench.faultkit.channels import Telegram, WeChat
from bench.faultkit.citizens import Doors
from bench.faultkit.corpus import Corpus
from bench.faultkit.phases import Faults, http_client, load, retries
from bench.faultkit.recorder import Recorder
from bench.faultkit.stack import ROOT, SETUPS, Stack
from bench.faultkit.store import Snapshot, Store

RESULTS = ROOT / "bench" / "results"
BLOCKING = ("fivexx", "stored_from_forged", "duplicates", "lost", "lost_after_2xx", "stuck_received")
# In the crash, a WeChat delivery whose three copies all fell while the server was down is lost whatever the
# server does (reported, not blocking); everything else is.
CRASH_BLOCKING = ("fivexx", "duplicates", "lost_after_2xx", "lost_otherwise", "stuck_received")
STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - STARTED:6.0f}s] {message}", file=sys.stderr, flush=True)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    p.add_argument("--setup", choices=(*SETUPS, "both"), default="both")
    p.add_argument("--quick", action="store_true", help="a short run: 20 s of load, 40 deliveries, short outages")
    p.add_argument("--phases", default="corpus,retries,load,crash", help="which phases to run (comma-separated)")
    p.add_argument("--workers", type=int, default=2, help="web processes of the server (liaison serve --workers)")
    p.add_argument("--deliveries", type=int, default=None, help="deliveries sent 3× at once, per door (200)")
    p.add_argument("--rate", type=float, default=30.0, help="messages a second under load")
    p.add_argument("--load-seconds", type=float, default=None, help="how long the load lasts (60)")
    p.add_argument("--crash-seconds", type=float, default=None, help="how long the load of the crash lasts (30)")
    p.add_argument("--citizens", type=int, default=50)
    p.add_argument(
        "--arrivals",
        choices=("paced", "open"),
        default="paced",
        help="paced: a citizen's next message waits for the previous answer; open: every message on schedule",
    )
    p.add_argument("--api-patience", type=float, default=120.0, help="seconds an API client retries one message")
    p.add_argument("--rasa-stop", type=float, default=None, help="seconds the NLU is stopped during the load (60)")
    p.add_argument("--restart-after", type=float, default=3.0, help="seconds before a killed process is started")
    p.add_argument("--quiet", type=float, default=None, help="recovery period before counting (90)")
    p.add_argument("--concurrency", type=int, default=8, help="citizens at once in the retries phase")
    p.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--no-outside", action="store_true", help="listen on loopback only (skips /metrics from outside)")
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directory (logs, SQLite) and the PostgreSQL database for inspection",
    )
    p.add_argument("--json-stdout", action="store_true", help="print the results as JSON instead of writing files")
    args = p.parse_args(argv)
    quick = {"deliveries": 40, "load_seconds": 20.0, "crash_seconds": 20.0, "rasa_stop": 20.0, "quiet": 60.0}
    full = {"deliveries": 200, "load_seconds": 60.0, "crash_seconds": 30.0, "rasa_stop": 60.0, "quiet": 90.0}
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args


async def run_phases(stack: Stack, recorder: Recorder, store: Store, args: argparse.Namespace) -> dict[str, Any]:
    phases = set(args.phases.split(","))
    # The machine may be shared: its load says how much of it the run had.
    out: dict[str, Any] = {"load_average_at_start": [round(x, 1) for x in os.getloadavg()]}
    async with http_client(stack.url) as client:
        doors = Doors(stack, recorder, client, WeChat(stack.credentials), Telegram(stack.credentials))
        corpus = Corpus(doors, stack.run)
        if "corpus" in phases:
            log("corpus: victims, then the hostile requests")
            await corpus.run_all()
            log(f"  {len(corpus.probes)} requests sent")
        if "retries" in phases:
            log(f"retries: {args.deliveries} deliveries per door, 3 copies at once")
            out["retries"] = await retries(doors, store, args.deliveries, args.concurrency, stack.run, log)
        scenarios = {
            # One web process of several killed (with one, the server is that process).
            "load": (
                args.load_seconds,
                Faults(
                    **{"web_process_kill_at" if stack.workers > 1 else "server_kill_at": 0.25 * args.load_seconds},
                    worker_kill_at=0.4 * args.load_seconds,
                    rasa_stop_at=0.5 * args.load_seconds,
                    rasa_stop_for=args.rasa_stop,
                    restart_after=args.restart_after,
                ),
            ),
            "crash": (
                args.crash_seconds,
                Faults(server_kill_at=0.25 * args.crash_seconds, restart_after=args.restart_after),
            ),
        }
        for scenario, (seconds, faults) in scenarios.items():
            if scenario not in phases:
                continue
            shown = {k: v for k, v in asdict(faults).items() if v is not None}
            if faults.rasa_stop_at is None:
                del shown["rasa_stop_for"]
            log(f"{scenario}: {args.rate:g}/s for {seconds:g} s, {shown}")
            out[scenario] = await load(
                doors,
                store,
                rate=args.rate,
                seconds=seconds,
                citizens=args.citizens,
                faults=faults,
                quiet=args.quiet,
                arrivals=args.arrivals,
                api_patience=args.api_patience,
                run=stack.run,
                log=log,
                scenario=scenario,
            )
        if "corpus" in phases:
            # Counted last: a forged message stored late (by a recovery pass, a retry) counts too.
            out["corpus"] = asdict(corpus.result(store))
    out["load_average_at_end"] = [round(x, 1) for x in os.getloadavg()]
    # Web processes the supervisor found dead that the suite did not kill: it kills one that does not answer its
    # health check within 5 s (a starved one, on a loaded machine).
    out["web_processes_killed_by_suite"] = stack.killed_web_processes
    out["web_processes_killed_by_supervisor"] = [
        pid for pid in stack.web_deaths() if pid not in stack.killed_web_processes
    ]
    out["stuck_received_total"] = Snapshot(store).stuck()
    stack.check_alive()
    out["signed_query_strings_logged"] = stack.logged_query_strings()
    return out


def summarise(phases: dict[str, Any]) -> dict[str, Any]:
    """The first table: everything but the crash (whose figures are its own), and what is stuck at the end."""
    parts = [phases.get(name) or {} for name in ("corpus", "retries", "load")]
    load_counts = phases.get("load") or {}
    return {
        "fivexx": sum(p.get("fivexx", 0) for p in parts),
        "stored_from_forged": (phases.get("corpus") or {}).get("stored_from_forged", 0),
        "duplicates": sum(p.get("duplicates", 0) for p in parts),
        "lost": sum(p.get("lost", 0) for p in parts),
        "lost_after_2xx": sum(p.get("lost_after_2xx", 0) for p in parts),
        "stuck_received": phases.get("stuck_received_total", 0),
        "answered_within_5s": load_counts.get("answered_within_5s"),
        "load_messages": load_counts.get("messages"),
    }


def failures(result: dict[str, Any]) -> list[str]:
    """The counts that must be zero and are not."""
    failed = [k for k in BLOCKING if result["summary"][k]]
    crash = result.get("crash") or {}
    return failed + [f"crash {k}" for k in CRASH_BLOCKING if crash.get(k)]


def run_setup(setup: str, args: argparse.Namespace) -> dict[str, Any]:
    log(f"=== set-up {setup}")
    with Recorder() as recorder:
        stack = Stack(
            setup,
            recorder.url,
            postgres_admin_url=args.postgres_url,
            redis_url=args.redis_url,
            outside=not args.no_outside,
            keep=args.keep,
            workers=args.workers,
            log=log,
        )
        try:
            log(f"starting (database {stack.database_url.split('@')[-1]}, Redis {stack.redis_url}, app {stack.url})")
            stack.start()
            log("web app, worker and NLU ready")
            store = Store(stack.sync_database_url)
            try:
                phases = asyncio.run(run_phases(stack, recorder, store, args))
            finally:
                store.close()
        finally:
            log("stopping and cleaning up")
            stack.close()
    return {
        "setup": setup,
        "date": dt.date.today().isoformat(),
        "commit": _commit(),
        "options": {k: v for k, v in vars(args).items() if k not in ("postgres_url", "redis_url")},
        "summary": summarise(phases),
        **phases,
        "notes": stack.notes + ((phases.get("corpus") or {}).get("notes") or []),
    }


def _commit() -> str:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+changes" if git("status", "--porcelain", "--", ".") else "")


SETUP_NAMES = {"postgres": "PostgreSQL + Redis", "default": "SQLite + embedded Redis"}


def _answered(answered: int | None, messages: int | None) -> str:
    if not messages:
        return "n/a"
    return f"{answered} / {messages} ({100 * (answered or 0) / messages:.0f} %)"


def table(results: list[dict[str, Any]]) -> str:
    rows = [
        "| set-up | 5xx | stored from forged | duplicates | lost | lost after a 2xx | stuck in `received` "
        "| answered within 5 s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        s = r["summary"]
        rows.append(
            f"| {SETUP_NAMES[r['setup']]} | {s['fivexx']} | {s['stored_from_forged']} | {s['duplicates']} "
            f"| {s['lost']} | {s['lost_after_2xx']} | {s['stuck_received']} "
            f"| {_answered(s['answered_within_5s'], s['load_messages'])} |"
        )
    return "\n".join(rows)


def crash_table(results: list[dict[str, Any]]) -> str:
    """The whole server killed and started again: its own figures."""
    rows = [
        "| set-up | answering again after the kill | 5xx | duplicates | WeChat gave up: no copy reached it "
        "| lost: in flight at the kill, retries while down | lost otherwise | lost after a 2xx "
        "| stuck in `received` | answered within 5 s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        c = r.get("crash")
        if not c:
            continue
        back = c.get("server_answering_again_s")
        rows.append(
            f"| {SETUP_NAMES[r['setup']]} | {f'{back} s' if back is not None else 'not during the run'} "
            f"| {c['fivexx']} | {c['duplicates']} | {c['wechat_all_copies_failed_while_down']} "
            f"| {c['lost_while_server_down']} | {c['lost_otherwise']} "
            f"| {c['lost_after_2xx']} | {c['stuck_received']} | {_answered(c['answered_within_5s'], c['messages'])} |"
        )
    return "\n".join(rows) if len(rows) > 2 else ""


def details(r: dict[str, Any]) -> str:
    out = [f"\n{r['setup']} (commit {r['commit']}, {r['date']})"]
    c = r.get("corpus")
    if c:
        out.append(
            f"  corpus: {c['requests']} requests; 5xx {c['fivexx']}, unexpected answers {c['unexpected']}, "
            f"stored from forged {c['stored_from_forged']}, lost {c['lost']}, duplicates {c['duplicates']}, "
            f"leaks {c['leaks']}"
        )
        for p in c["probes"]:
            ok = p["status"] is not None and (
                400 <= p["status"] < 500 if p["expect"] == "refused" else 200 <= p["status"] < 300
            )
            if not ok or p["findings"]:
                got = p["status"] if p["status"] is not None else p["error"] or "no answer"
                findings = f" — {'; '.join(p['findings'])}" if p["findings"] else ""
                out.append(f"    {p['name']}: expected {p['expect']}, got {got}{findings}")
    for name in ("retries", "load", "crash"):
        counts = r.get(name)
        if counts:
            shown = {k: v for k, v in counts.items() if k != "events"}
            out.append(f"  {name}: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
            for event in counts.get("events", []):
                out.append(f"    t={event['at_s']}s {event['what']}")
    out.append(
        f"  web processes killed by the suite {r.get('web_processes_killed_by_suite')}, by uvicorn's supervisor "
        f"(no answer to its health check within 5 s) {r.get('web_processes_killed_by_supervisor')}"
    )
    out.append(f"  signed /wechat query strings written to the logs: {r.get('signed_query_strings_logged')}")
    out.append(
        f"  machine load average (1, 5, 15 min): {r.get('load_average_at_start')} at start, "
        f"{r.get('load_average_at_end')} at end"
    )
    out += [f"  note: {n}" for n in r["notes"]]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # Ctrl-C and SIGTERM stop the suite through its clean-up, also when started where SIGINT was ignored
    # (a background job of a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    from nlu import project

    if not project.model_path().exists():
        log("training the NLU model first (its inputs changed)")
        project.train()
    results = []
    for setup in SETUPS if args.setup == "both" else (args.setup,):
        result = run_setup(setup, args)
        results.append(result)
        if not args.json_stdout:
            RESULTS.mkdir(parents=True, exist_ok=True)
            path = RESULTS / f"faults-{setup}.json"
            path.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
            log(f"results written to {path.relative_to(ROOT)}")
    for result in results:
        print(details(result), file=sys.stderr)
    print(table(results))
    crashes = crash_table(results)
    if crashes:
        print(f"\nThe whole server killed and started again:\n\n{crashes}")
    if args.json_stdout:
        print(json.dumps(results, ensure_ascii=False, indent=2))
    failed = {r["setup"]: failures(r) for r in results if failures(r)}
    for setup, counts in failed.items():
        print(f"{setup}: not zero: {', '.join(counts)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted: every process stopped, temporary data removed", file=sys.stderr)
        sys.exit(130)
