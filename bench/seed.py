"""A city's three years of cases in PostgreSQL, for bench/million.py to time the product's queries on.

    PYTHONPATH=. .venv/bin/python -m bench.seed --cases 1000000 \
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/liaison_million

The database is dropped, created and migrated (the project's Alembic migrations, as `liaison db upgrade`
does), the stations, departments and deputies of config.yml mirrored into it (as the app does at start), and
`--stations` stations and `--deputies` deputies more made up: a city's, not one street's. Then, a month at a
time, `--cases` cases received over `--months` months ending with `--last` (1,000,000 over 36: about 28,000 a
month), walked through the loop by its rules by bench/casegen.py up to the moment the bench runs (`as_of`, two
days after the last month, so that the latest cases are still open), go in with COPY, with

- their citizens: about half the cases come from someone who reported before (a few report often), each known on
  one channel (a WeChat openid, or a Telegram chat id) with their conversation; a citizen whose first case a
  deputy followed came through that deputy's QR code;
- the messages of each report (the report, the bot's question of the place, the place, the case number) and of
  each rating given in the chat;
- the case's events, its replies (approved, sent back, pending review) and ratings, and its followers (citizens
  following someone else's case of the same problem, about 3 % of cases);
- about a tenth of the cases followed by a deputy, anonymous reports, contact phones left for the department.

The secondary indexes are dropped before and built again after (faster than keeping them up to date row by
row), and no foreign-key trigger fires for each row (the rows are written consistent; the test checks them).
Ends with the sequences moved past the ids written, the conversations' summaries, the day counters of the case
numbers, the desk's counts (their triggers did not fire either), the indexes, and VACUUM ANALYZE (what autovacuum
would have done over three years). Prints its progress.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench import casegen
from bench.figures import async_url, fresh_postgres
from bot.runtime import mirror_directory
from casework.cases import CaseState, format_case_number
from casework.deadlines import LOCAL
from casework.lifecycle import OPEN_STATES
from casework.metrics import Month
from casework.workdays import WorkingCalendar
from settings import Deployment, load_deployment
from storage.db import make_engine, make_sessionmaker, upgrade

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/liaison_million"
# A case's citizen is someone new this often, else anyone who reported before (the early ones report more).
NEW_CITIZEN = 0.5
DEPUTY_SHARE = 0.1
FOLLOWED = 0.03
ANONYMOUS = 0.05
CONTACT = 0.6
TELEGRAM = 0.2
# The case's milestones and latest rating (casegen.milestones), as the product keeps them on its row.
MILESTONES = (
    "transferred_at",
    "left_received_at",
    "answered_at",
    "closed_unrated",
    "rehandled",
    "escalated",
    "latest_rating",
)

TABLES: dict[str, tuple[str, ...]] = {
    "citizens": ("id", "display_name", "phone", "created_at"),
    "channel_identities": ("id", "citizen_id", "channel", "external_id", "created_at", "last_inbound_at"),
    "conversations": (
        "id",
        "identity_id",
        "citizen_id",
        "channel",
        "started_at",
        "last_message_at",
        "last_inbound_at",
        "last_text",
        "last_direction",
        "last_status",
        "last_confidence",
        "deputy_id",
    ),
    "cases": (
        "id",
        "number",
        "citizen_id",
        "conversation_id",
        "station_id",
        "department_id",
        "deputy_id",
        "state",
        "topic",
        "topic_confidence",
        "description",
        "place",
        "anonymous",
        "contact_consent",
        "contact_phone",
        "named_people",
        "source",
        "created_at",
        "updated_at",
        "transfer_due_at",
        "reply_due_at",
        "overdue_at",
        "escalation_level",
        "closed_at",
        "version",
        *MILESTONES,
        "next_notice_at",
    ),
    "case_events": ("id", "case_id", "action", "actor", "actor_role", "from_state", "to_state", "reason", "at"),
    "case_replies": (
        "id",
        "case_id",
        "text",
        "author",
        "author_role",
        "status",
        "number",
        "created_at",
        "reviewed_by",
        "reviewed_at",
        "review_note",
    ),
    "ratings": ("id", "case_id", "reply_number", "rating", "comment", "at"),
    "case_followers": ("id", "case_id", "citizen_id", "conversation_id", "created_at"),
    "messages": (
        "id",
        "conversation_id",
        "channel",
        "direction",
        "external_id",
        "kind",
        "text",
        "payload",
        "status",
        "intent",
        "confidence",
        "topic",
        "in_reply_to_id",
        "case_id",
        "created_at",
    ),
}
# Parents before children: each month's rows go in in this order.
ORDER = tuple(TABLES)


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as psycopg takes it."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@dataclass
class Citizen:
    id: int
    channel: str
    external_id: str
    phone: str

    @property
    def actor(self) -> str:
        return f"{self.channel}:{self.external_id}"


@dataclass
class Batch:
    """The rows of one month, by table, and the ids handed out so far (ids go on from month to month)."""

    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=lambda: {t: [] for t in TABLES})
    next_id: Counter[str] = field(default_factory=Counter)

    def add(self, table: str, *values: Any) -> int:
        self.next_id[table] += 1
        row_id = self.next_id[table]
        self.rows[table].append((row_id, *values))
        return row_id


class People:
    """The citizens, made up as their first case comes in."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.known: list[Citizen] = []

    def reporter(self, batch: Batch, case: casegen.Synthetic) -> Citizen:
        if self.known and self.rng.random() >= NEW_CITIZEN:
            return self.known[self.rng.randrange(len(self.known))]
        rng = self.rng
        name = rng.choice(casegen.SURNAMES) + rng.choice(casegen.GIVEN)
        phone = f"1{rng.choice('35789')}{rng.randrange(10**9):09d}"
        since = case.created_at - dt.timedelta(minutes=5)
        citizen_id = batch.add("citizens", name, phone, since)
        telegram = rng.random() < TELEGRAM
        channel = "telegram" if telegram else "wechat"
        external = str(10**9 + citizen_id) if telegram else f"o{citizen_id:012d}{rng.randrange(16**15):015x}"
        batch.add("channel_identities", citizen_id, channel, external, since, since)
        batch.add(
            "conversations", citizen_id, citizen_id, channel, since, since, since, "", "out", "handled", 0.9,
            case.deputy_id,
        )  # fmt: skip
        citizen = Citizen(citizen_id, channel, external, phone)
        self.known.append(citizen)
        return citizen


def renumber(made: Sequence[casegen.Synthetic], prefix: str, counters: dict[dt.date, int]) -> None:
    """Number the cases as the product does (format_case_number: the Beijing day and its sequence), counting
    each day's numbers in `counters`."""
    for case in made:
        day = case.created_at.astimezone(LOCAL).date()
        counters[day] = counters.get(day, 0) + 1
        case.number = format_case_number(prefix, day, counters[day])


def add_case(batch: Batch, people: People, case: casegen.Synthetic, rng: random.Random, as_of: dt.datetime) -> None:
    """The case's rows: its citizen (new or known), the case, its events, replies, ratings, messages and
    followers."""
    citizen = people.reporter(batch, case)
    settled = casegen.milestones(case)
    anonymous = rng.random() < ANONYMOUS
    contact = not anonymous and rng.random() < CONTACT
    case_id = batch.add(
        "cases", case.number, citizen.id, citizen.id, case.station_id, case.department_id, case.deputy_id,
        case.state, case.topic, round(rng.uniform(0.3, 0.99), 2), case.description, case.place, anonymous,
        contact, citizen.phone if contact else None, "[]", "online", case.created_at, case.events[-1][-1],
        case.transfer_due_at, case.reply_due_at, case.overdue_at, case.escalation_level, case.closed_at,
        len(case.events), *(settled[column] for column in MILESTONES),
        # Its last change, as the product sets it: the deadline scan is still to look at every open case.
        case.events[-1][-1] if CaseState(case.state) in OPEN_STATES else None,
    )  # fmt: skip
    for action, actor, role, before, after, reason, at in case.events:
        who = citizen.actor if role == "citizen" else actor
        batch.add("case_events", case_id, action, who, role, before, after, reason, at)
    for number, status, recorded, reviewed in casegen.all_replies(case):
        text = f"已安排处理，第{number}次答复。" if number else "已安排处理。"
        note = "请补充办理结果" if status == "sent_back" else ""
        reviewer = None if reviewed is None else "staff1"
        batch.add(
            "case_replies", case_id, text, "dept", "department", status, number, recorded, reviewer, reviewed, note
        )
    conversation, channel = citizen.id, citizen.channel

    def say(direction: str, text: str, at: dt.datetime, intent: str | None, answering: int | None) -> int:
        inbound = direction == "in"
        return batch.add(
            "messages", conversation, channel, direction, f"m{batch.next_id['messages'] + 1}" if inbound else None,
            "text", text, "{}", "handled" if inbound else "sent", intent, 0.9 if inbound else None,
            case.topic if intent == "report_issue" else None, answering, case_id, at,
        )  # fmt: skip

    start = case.created_at
    report = say("in", case.description, start - dt.timedelta(seconds=150), "report_issue", None)
    say("out", "请问具体地点在哪里？", start - dt.timedelta(seconds=149), None, report)
    place = say("in", case.place, start - dt.timedelta(seconds=60), None, None)
    say("out", f"已为您登记，案件编号 {case.number}。", start, None, place)
    for number, rating, at in case.ratings:
        batch.add("ratings", case_id, number, rating, "", at)
        given = say("in", rating, at, "rate_service", None)
        say("out", "感谢您的评价。", at, None, given)
    if rng.random() < FOLLOWED and len(people.known) > 3:
        followers = {rng.randrange(len(people.known)) for _ in range(rng.randint(1, 2))}
        for follower in (people.known[n] for n in sorted(followers)):
            since = start + dt.timedelta(hours=rng.uniform(1, 72))
            if follower.id != citizen.id and since <= as_of:
                batch.add("case_followers", case_id, follower.id, follower.id, since)


def copy(conn: psycopg.Connection, batch: Batch) -> dict[str, int]:
    """COPY the batch's rows in, table by table; empties it and returns how many rows went into each table."""
    written = {}
    with conn.cursor() as cursor:
        for table in ORDER:
            rows = batch.rows[table]
            if rows:
                with cursor.copy(f"COPY {table} ({', '.join(TABLES[table])}) FROM STDIN") as pipe:
                    for row in rows:
                        pipe.write_row(row)
            written[table] = len(rows)
            rows.clear()
    return written


def directory_extras(conn: psycopg.Connection, stations: int, deputies: int, rng: random.Random) -> casegen.Directory:
    """`stations` stations and `deputies` deputies more than config.yml's; the ids cases may refer to."""
    with conn.cursor() as cursor:
        for n in range(1, stations + 1):
            cursor.execute(
                "INSERT INTO stations (code, name, address, hours, phone) VALUES (%s, %s, %s, %s, %s)",
                (f"bench-s{n:02d}", f"第{n}街道人大代表联络站", f"第{n}街道办事处一楼", "周一至周五", ""),
            )
        station_ids = [row[0] for row in cursor.execute("SELECT id FROM stations ORDER BY id")]
        for n in range(1, deputies + 1):
            cursor.execute(
                "INSERT INTO deputies (code, name, level, constituency, station_id, channels, phone) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    f"bench-d{n:03d}",
                    rng.choice(casegen.SURNAMES) + rng.choice(casegen.GIVEN),
                    rng.choice(("区县", "区县", "市")),
                    f"第{n}选区",
                    station_ids[n % len(station_ids)],
                    '["wechat"]',
                    "",
                ),
            )
        ids = [
            [row[0] for row in cursor.execute(f"SELECT id FROM {table} ORDER BY id")]
            for table in ("stations", "departments", "deputies")
        ]
    conn.commit()
    return casegen.Directory(*ids)


def set_aside_indexes(conn: psycopg.Connection) -> list[str]:
    """Drop the secondary indexes of the tables filled (not those behind a primary key or a unique constraint);
    the statements that make them again. Building an index once at the end is much faster than keeping it
    up to date through millions of rows."""
    with conn.cursor() as cursor:
        found = cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)",
            (list(TABLES),),
        ).fetchall()
        for name, _ in found:
            cursor.execute(f'DROP INDEX "{name}"')
    conn.commit()
    return [definition for _, definition in found]


def finish(conn: psycopg.Connection, counters: dict[dt.date, int]) -> None:
    """Sequences past the ids written, the conversations' summaries as their messages left them, the case
    numbers' day counters, the desk's counts of the cases not concluded (kept by triggers, which did not fire)."""
    with conn.cursor() as cursor:
        for table in ORDER:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT coalesce(max(id), 1) FROM {table}))"
            )
        cursor.execute(
            "UPDATE conversations c SET last_message_at = m.last_at, last_inbound_at = m.last_in "
            "FROM (SELECT conversation_id, max(created_at) AS last_at, "
            "max(created_at) FILTER (WHERE direction = 'in') AS last_in FROM messages GROUP BY conversation_id) m "
            "WHERE m.conversation_id = c.id"
        )
        cursor.execute("UPDATE channel_identities i SET last_inbound_at = c.last_inbound_at "
                       "FROM conversations c WHERE c.identity_id = i.id")  # fmt: skip
        # As migration 0011 fills them.
        cursor.execute(
            "INSERT INTO desk_counts (state, department_id, topic, station_id, deputy_id, cases) "
            "SELECT state, coalesce(department_id, 0), topic, station_id, coalesce(deputy_id, 0), count(*) FROM cases "
            "WHERE state NOT IN ('closed', 'rejected', 'withdrawn') "
            "GROUP BY state, coalesce(department_id, 0), topic, station_id, coalesce(deputy_id, 0)"
        )
        with cursor.copy("COPY case_counters (day, last) FROM STDIN") as pipe:
            for day, last in sorted(counters.items()):
                pipe.write_row((day, last))
    conn.commit()


def months_of(last: Month, months: int, cases: int) -> list[tuple[Month, int]]:
    """The months, oldest first, and how many cases each receives (the remainder to the earliest)."""
    each, extra = divmod(cases, months)
    return [(last.plus(n - months + 1), each + (1 if n < extra else 0)) for n in range(months)]


def as_of_for(last: Month) -> dt.datetime:
    """When the bench runs: two days into the month after the last, at 10:00 Beijing time."""
    return last.end + dt.timedelta(days=2, hours=10)


def seed(
    url: str,
    cases: int,
    *,
    months: int = 36,
    last: Month = Month(2026, 10),
    stations: int = 30,
    deputies: int = 200,
    seed: int = 1,
    say: Callable[[str], None] = print,
) -> dict[str, int]:
    """Drop, create, migrate and fill the database; the rows written to each table."""
    started = time.perf_counter()
    deployment = load_deployment(ROOT / "config.yml")
    calendar = WorkingCalendar.configured(deployment.calendar)
    fresh_postgres(url)
    upgrade(url)
    asyncio.run(_mirror(url, deployment))
    rng = random.Random(seed)
    people = People(rng)
    batch = Batch()
    totals: Counter[str] = Counter()
    counters: dict[dt.date, int] = {}
    as_of = as_of_for(last)
    days = deployment.deadlines
    say(f"migrated in {time.perf_counter() - started:.0f} s; {cases:,} cases over {months} months up to {last}")
    with psycopg.connect(libpq_url(url)) as conn:
        found = directory_extras(conn, stations, deputies, rng)
        indexes = set_aside_indexes(conn)
        # The rows are written consistent (tests/integration/test_seed.py checks them): no foreign-key trigger
        # fired for each of them (session_replication_role needs a superuser, as the bench's database has).
        conn.execute("SET session_replication_role = replica")
        conn.execute("SET synchronous_commit = off")
        for n, (month, count) in enumerate(months_of(last, months, cases)):
            made = casegen.generate(
                count, month.start, month.end, as_of, found, calendar, seed=seed * 1000 + n,
                prefix=deployment.case_prefix, reply_days=days.reply_working_days,
                transfer_hours=days.transfer_hours, overdue_days=days.overdue_working_days,
                deputy_share=DEPUTY_SHARE,
            )  # fmt: skip
            renumber(made, deployment.case_prefix, counters)
            for case in made:
                add_case(batch, people, case, rng, as_of)
            written = copy(conn, batch)
            conn.commit()
            totals.update(written)
            elapsed = time.perf_counter() - started
            say(
                f"{month}: {written['cases']:,} cases, {written['case_events']:,} events, "
                f"{written['messages']:,} messages; {totals['cases']:,} cases in {elapsed:.0f} s"
            )
        finish(conn, counters)
        say(f"written in {time.perf_counter() - started:.0f} s; {len(indexes)} indexes")
        conn.execute("SET maintenance_work_mem = '256MB'")
        for definition in indexes:
            conn.execute(definition)
        conn.commit()
    say(f"indexed in {time.perf_counter() - started:.0f} s; vacuum analyze")
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("VACUUM (ANALYZE)")
    say(f"done in {time.perf_counter() - started:.0f} s: " + ", ".join(f"{t} {n:,}" for t, n in totals.items()))
    return dict(totals)


async def _mirror(url: str, deployment: Deployment) -> None:
    engine = make_engine(async_url(url))
    await mirror_directory(make_sessionmaker(engine), deployment)
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_URL, help="PostgreSQL URL (dropped and created)")
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--last", type=Month.parse, default=Month(2026, 10), help="the last month, e.g. 2026-10")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    seed(args.database_url, args.cases, months=args.months, last=args.last, seed=args.seed)


if __name__ == "__main__":
    main()
