"""The deadline scan on a city's open cases: how many cases each minute's scan looks at, and how long it takes.

    PYTHONPATH=. .venv/bin/python -m bench.deadlines --database-url postgresql+psycopg://postgres@127.0.0.1:5432/liaison_million

Runs `services.cases.scan_deadlines` (the worker's job, every minute) on a copy of a database bench/seed.py filled
(`<name>_scan`, made again from it each time: the scan queues notices, closes answers left unrated and sets the
cases' next moments), at the moment the seed walked the cases up to, then at later moments (`--after`, minutes:
by default a minute, an hour and a day later), as the worker would.

Each row: the moment, the cases the scan looked at (one session each), the notices it queued and the cases it
closed, its wall-clock and this process's CPU. The first scan after migration 0013 looks at every open case once
(as every scan did before it); the code of an earlier commit is measured the same way by putting its tree first
on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.figures import async_url, fresh_postgres
from bench.seed import DEFAULT_URL, as_of_for
from casework.deadlines import LOCAL
from casework.lifecycle import OPEN_STATES
from casework.metrics import Month
from casework.workdays import WorkingCalendar
from services import cases
from settings import Deployment, load_deployment
from storage.db import make_engine, make_sessionmaker
from storage.models import Case

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class ScanContext:
    """What the scan reads of services.context.Context; its sessions counted (one a case looked at, one more)."""

    sessionmaker: Any
    deployment: Deployment
    calendar: WorkingCalendar
    sessions: int = 0


class CountingSessions:
    def __init__(self, make: async_sessionmaker[AsyncSession], context: ScanContext) -> None:
        self.make, self.context = make, context

    def __call__(self) -> AsyncSession:
        self.context.sessions += 1
        return self.make()


def copy_of(url: str) -> str:
    """A new copy of the database at `url` (PostgreSQL's template copy), whose URL is returned."""
    copy = f"{url}_scan"
    fresh_postgres(copy, template=url.rsplit("/", 1)[1])
    return copy


async def bench(url: str, after: list[float]) -> None:
    deployment = load_deployment(ROOT / "config.yml")
    engine = make_engine(async_url(url))
    db = make_sessionmaker(engine)
    context = ScanContext(db, deployment, WorkingCalendar.configured(deployment.calendar))
    context.sessionmaker = CountingSessions(db, context)
    async with db() as session:
        last_created = (await session.execute(select(Case.created_at).order_by(Case.id.desc()).limit(1))).scalar_one()
        total = (await session.execute(select(func.count()).select_from(Case))).scalar_one()
    now = as_of_for(Month.of(last_created))
    print(f"{total:,} cases; now {now.astimezone(LOCAL):%Y-%m-%d %H:%M} Beijing")
    print(f"load average before timing: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| scan at | open cases | looked at | notices queued and cases closed | wall ms | CPU ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for minutes in [0.0, *after]:
        moment = now + dt.timedelta(minutes=minutes)
        async with db() as session:
            open_cases = (
                await session.execute(
                    select(func.count()).select_from(Case).where(Case.state.in_([s.value for s in OPEN_STATES]))
                )
            ).scalar_one()
        context.sessions = 0
        started, cpu = time.perf_counter(), time.process_time()
        done = await cases.scan_deadlines(context, moment)  # type: ignore[arg-type]
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        print(
            f"| now + {minutes:g} min | {open_cases:,} | {context.sessions - 1:,} | {done:,} | {1000 * wall:,.0f} "
            f"| {1000 * cpu:,.0f} |",
            flush=True,
        )
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="a database bench/seed.py filled (not changed)")
    parser.add_argument(
        "--after", type=float, action="append", help="minutes after the first scan (default: 1, 60, 1440)"
    )
    args = parser.parse_args()
    asyncio.run(bench(copy_of(args.database_url), args.after or [1, 60, 1440]))


if __name__ == "__main__":
    main()
