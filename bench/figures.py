"""How long the figures page takes with 30,000 cases in a month.

    PYTHONPATH=. .venv/bin/python -m bench.figures                      # SQLite in a temporary directory
    PYTHONPATH=. .venv/bin/python -m bench.figures --database-url postgresql+psycopg://postgres@127.0.0.1:5432/liaison_bench_figures

Seeds `--cases` synthetic cases received in one month (bench/casegen.py: walked through the loop by its
rules, stopped at the moment the figures are counted, the 20th of the next month, so that some are open), and
`--earlier` cases in each of the eleven months before it (the trend), then times the use cases behind
/console/figures: `services.figures.figures_page` (the month by department and the twelve-month trend, what
the page waits for), each grouping alone, the Excel export, and for comparison the figures counted in Python
from every case's history (`services.reports.load_figures`, the command line's road). Prints the median and
the spread of `--runs` runs, wall-clock, and the median CPU time of this process (SQLite runs inside it, so on
a busy machine that is what the work itself costs; PostgreSQL's own work is not in it). A PostgreSQL
database given by URL is dropped and created anew.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from bench import casegen
from bot.runtime import mirror_directory
from casework.actors import Actor
from casework.cases import Role
from casework.metrics import Month
from casework.workdays import WorkingCalendar
from services import figures, reports
from settings import load_deployment
from storage.db import make_engine, make_sessionmaker, upgrade

ROOT = Path(__file__).resolve().parent.parent
STAFF = Actor("bench", Role.STAFF)


def fresh_postgres(url: str, template: str | None = None) -> None:
    """The PostgreSQL database at `url` made again: empty, or a copy of the database named `template`."""
    base, name = url.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}" + (f" TEMPLATE {template}" if template else "")))
    admin.dispose()


def async_url(url: str) -> str:
    return url.replace("sqlite:///", "sqlite+aiosqlite:///", 1) if url.startswith("sqlite:///") else url


async def _time(runs: int, work: Callable[[], Awaitable[Any]]) -> list[tuple[float, float]]:
    """(wall-clock, this process's CPU) seconds of each run."""
    timings = []
    for _ in range(runs):
        start, cpu = time.perf_counter(), time.process_time()
        await work()
        timings.append((time.perf_counter() - start, time.process_time() - cpu))
    return timings


def _line(label: str, timings: list[tuple[float, float]]) -> str:
    wall = sorted(1000 * t for t, _ in timings)
    cpu = sorted(1000 * c for _, c in timings)
    return (
        f"| {label} | {len(wall)} | {statistics.median(wall):.0f} | {wall[0]:.0f} | {wall[-1]:.0f} "
        f"| {statistics.median(cpu):.0f} |"
    )


async def bench(url: str, cases: int, earlier: int, runs: int, month: Month) -> None:
    deployment = load_deployment(ROOT / "config.yml")
    calendar = WorkingCalendar.configured(deployment.calendar)
    engine = make_engine(async_url(url))
    db = make_sessionmaker(engine)
    await mirror_directory(db, deployment)
    as_of = month.plus(1).start + dt.timedelta(days=19)
    started = time.perf_counter()
    async with db() as session:
        found = await casegen.directory(session)
        made = casegen.generate(cases, month.start, month.end, as_of, found, calendar, seed=1, prefix="BM")
        for back in range(1, 12 if earlier else 1):
            before = month.plus(-back)
            made += casegen.generate(
                earlier,
                before.start,
                before.end,
                as_of,
                found,
                calendar,
                seed=back + 1,
                prefix="B" + chr(ord("A") + back),
            )
        await casegen.write(session, made)
        await session.commit()
    events = sum(len(c.events) for c in made)
    print(
        f"seeded {len(made)} cases ({cases} in {month}, {earlier} in each earlier month), {events} events "
        f"in {time.perf_counter() - started:.0f} s"
    )

    async def page() -> Any:
        async with db() as session:
            return await figures.figures_page(session, deployment, calendar, STAFF, month, "department", as_of)

    async def grouped(by: Any) -> Any:
        async with db() as session:
            return await figures.month_figures(session, deployment, calendar, STAFF, month, by, as_of)

    async def export() -> Any:
        async with db() as session:
            return await figures.export_figures(session, deployment, calendar, STAFF, month, as_of)

    async def in_python() -> Any:
        async with db() as session:
            return await reports.load_figures(session, deployment, calendar, STAFF, month, "department", as_of)

    shown = await page()
    assert shown.report.total.received == cases, shown.report.total
    print(f"load average before timing: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print("| what (ms) | runs | median | fastest | slowest | median CPU of this process |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(_line("figures page: month by department + 12-month trend", await _time(runs, page)))
    for by in ("department", "station", "deputy"):
        print(_line(f"one month by {by}", await _time(runs, lambda by=by: grouped(by))))
    print(_line("Excel export (3 groupings + trend)", await _time(max(1, runs // 2), export)))
    print(_line("for comparison: every history read into Python", await _time(1, in_python)))
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="PostgreSQL URL (dropped and created); default SQLite in a temp dir")
    parser.add_argument("--cases", type=int, default=30_000, help="cases received in the month")
    parser.add_argument("--earlier", type=int, default=0, help="cases in each of the 11 months before it")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--month", default="2026-10", type=Month.parse)
    parser.add_argument("--sqlite-file", type=Path, help="SQLite file to seed and keep (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite:///{args.sqlite_file or Path(directory) / 'bench.db'}"
        if args.sqlite_file:
            args.sqlite_file.unlink(missing_ok=True)
        if url.startswith("postgresql"):
            fresh_postgres(url)
        upgrade(url)
        asyncio.run(bench(url, args.cases, args.earlier, args.runs, args.month))


if __name__ == "__main__":
    main()
