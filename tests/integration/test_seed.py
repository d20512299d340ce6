"""bench/seed.py on a small count, so that the million-case bench does not rot: the seed migrates and fills a
PostgreSQL database whose rows hold together (cases per month, every case registered first, its events in
order, ids and numbers that new cases can follow), and the product's queries run on it."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Iterator

import psycopg
import pytest

from bench import million, seed
from casework.deadlines import LOCAL
from casework.metrics import Month
from tests.conftest import POSTGRES_ADMIN_URL, drop_postgres, require_service

pytestmark = pytest.mark.integration
SEED_DB = f"liaison_seed_test_{os.getpid()}"
LAST = Month(2026, 10)
MONTHS = 12
CASES = 2000


@pytest.fixture(scope="module")
def seeded() -> Iterator[tuple[str, dict[str, int]]]:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{SEED_DB}"
    lines: list[str] = []
    written = seed.seed(url, CASES, months=MONTHS, last=LAST, stations=3, deputies=10, say=lines.append)
    assert lines[-1].startswith("done in")
    yield url, written
    drop_postgres(SEED_DB)


def _one(url: str, query: str) -> tuple:
    with psycopg.connect(seed.libpq_url(url)) as conn:
        row = conn.execute(query).fetchone()
    assert row is not None
    return tuple(row)


def _all(url: str, query: str) -> list[tuple]:
    with psycopg.connect(seed.libpq_url(url)) as conn:
        return [tuple(row) for row in conn.execute(query).fetchall()]


def test_the_cases_of_each_month(seeded: tuple[str, dict[str, int]]) -> None:
    url, written = seeded
    assert written["cases"] == CASES
    per_month = dict(
        _all(url, "SELECT to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), count(*) FROM cases GROUP BY 1")
    )
    expected = {str(month): count for month, count in seed.months_of(LAST, MONTHS, CASES)}
    assert per_month == expected
    assert len(expected) == MONTHS and min(expected.values()) >= CASES // MONTHS


def test_every_case_is_registered_first_and_its_events_follow_its_state(seeded: tuple[str, dict[str, int]]) -> None:
    url, _ = seeded
    first = _all(
        url,
        "SELECT DISTINCT ON (case_id) action, from_state, to_state, at = c.created_at FROM case_events e "
        "JOIN cases c ON c.id = e.case_id ORDER BY case_id, e.id",
    )
    assert len(first) == CASES
    assert set(first) == {("register", None, "received", True)}
    # The last event leaves the case in its state; each event starts where the one before ended.
    assert _one(
        url,
        "SELECT count(*) FROM cases c JOIN LATERAL (SELECT to_state FROM case_events WHERE case_id = c.id "
        "ORDER BY id DESC LIMIT 1) last ON true WHERE last.to_state <> c.state",
    ) == (0,)
    assert _one(
        url,
        "SELECT count(*) FROM (SELECT from_state, lag(to_state) OVER (PARTITION BY case_id ORDER BY id) AS before "
        "FROM case_events) e WHERE e.before IS NOT NULL AND e.from_state IS DISTINCT FROM e.before",
    ) == (0,)
    assert _one(url, f"SELECT count(*) FROM case_events WHERE at > '{seed.as_of_for(LAST).isoformat()}'") == (0,)


def test_citizens_replies_ratings_messages_and_followers_hold_together(seeded: tuple[str, dict[str, int]]) -> None:
    url, written = seeded
    citizens = written["citizens"]
    assert CASES // 4 < citizens < CASES
    assert written["channel_identities"] == written["conversations"] == citizens
    assert _one(url, "SELECT count(*) FROM cases c JOIN conversations v ON v.id = c.conversation_id "
                "WHERE v.citizen_id <> c.citizen_id") == (0,)  # fmt: skip
    # Every approved reply answers an approve_reply event; a rating, an answer.
    assert _one(url, "SELECT count(*) FROM case_replies WHERE status = 'approved'") == _one(
        url, "SELECT count(*) FROM case_events WHERE action = 'approve_reply'"
    )
    assert _one(url, "SELECT count(*) FROM ratings") == _one(
        url, "SELECT count(*) FROM case_events WHERE action = 'rate'"
    )
    # Four messages a report, two a rating, each in the case citizen's conversation.
    assert written["messages"] == 4 * CASES + 2 * written["ratings"]
    assert _one(url, "SELECT count(*) FROM messages m JOIN cases c ON c.id = m.case_id "
                "WHERE m.conversation_id <> c.conversation_id") == (0,)  # fmt: skip
    assert _one(url, "SELECT count(*) FROM case_followers f JOIN cases c ON c.id = f.case_id "
                "WHERE f.citizen_id = c.citizen_id") == (0,)  # fmt: skip
    assert 0 < written["case_followers"] < CASES // 10
    deputies, followed = _one(url, "SELECT count(DISTINCT deputy_id), count(deputy_id) FROM cases")
    assert deputies > 5 and CASES // 20 < followed < CASES // 5


def test_the_desks_counts_are_those_of_the_open_cases(seeded: tuple[str, dict[str, int]]) -> None:
    url, _ = seeded
    kept = _all(url, "SELECT state, department_id, topic, station_id, deputy_id, cases FROM desk_counts")
    counted = _all(
        url,
        "SELECT state, coalesce(department_id, 0), topic, station_id, coalesce(deputy_id, 0), count(*) FROM cases "
        "WHERE state NOT IN ('closed', 'rejected', 'withdrawn') "
        "GROUP BY state, coalesce(department_id, 0), topic, station_id, coalesce(deputy_id, 0)",
    )
    assert kept and sorted(kept) == sorted(counted)


def test_new_cases_follow_the_seeded_ones(seeded: tuple[str, dict[str, int]]) -> None:
    """The sequences and the day counters of the case numbers are past what the seed wrote."""
    url, written = seeded
    for table in ("cases", "case_events", "messages", "citizens"):
        assert _one(url, f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")[0] > written[table]
    day, last = _one(url, "SELECT day, last FROM case_counters ORDER BY day DESC LIMIT 1")
    latest = _one(url, "SELECT number FROM cases ORDER BY created_at DESC LIMIT 1")[0]
    assert latest == f"LL{day:%Y%m%d}{last:03d}"
    assert day < (seed.as_of_for(LAST).astimezone(LOCAL).date() + dt.timedelta(days=1))


def test_the_bench_runs_on_it(seeded: tuple[str, dict[str, int]], capsys: pytest.CaptureFixture[str]) -> None:
    url, _ = seeded
    asyncio.run(million.bench(url, runs=1, show_plans=True, seed=1))
    out = capsys.readouterr().out
    assert out.count("| 1 |") >= 4 and "Execution Time" in out
