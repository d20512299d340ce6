import dataclasses
import datetime as dt

from sqlalchemy import select

from casework.deadlines import LOCAL
from casework.metrics import COUNTS
from storage import figures
from storage.db import make_engine, make_sessionmaker
from storage.models import Push
from storage.repositories import PushStore


async def test_a_beijing_deadline_comes_back_as_the_same_moment_on_sqlite(sqlite_url):
    engine = make_engine(sqlite_url.replace("sqlite://", "sqlite+aiosqlite://"))
    deadline = dt.datetime(2026, 11, 26, 23, 59, 59, tzinfo=LOCAL)
    try:
        async with make_sessionmaker(engine)() as session:
            session.add(
                Push(
                    dedupe_key="utc-roundtrip",
                    kind="test",
                    recipient_type="staff",
                    recipient="x",
                    text="t",
                    next_attempt_at=deadline,
                )
            )
            await session.commit()
        async with make_sessionmaker(engine)() as session:
            stored = (
                await session.execute(select(Push.next_attempt_at).where(Push.dedupe_key == "utc-roundtrip"))
            ).scalar_one()
            due = (
                (
                    await session.execute(
                        select(Push.dedupe_key).where(
                            Push.next_attempt_at <= dt.datetime(2026, 11, 26, 16, 0, tzinfo=dt.UTC)
                        )
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await engine.dispose()
    assert stored == deadline and stored.utcoffset() == dt.timedelta(0)
    assert "utc-roundtrip" in due  # compared in UTC: 23:59:59 Beijing is 15:59:59 UTC


async def test_a_push_seen_due_is_not_claimed_again_after_another_sender_retried_it(sqlite_url):
    """Two senders see the same due push; the first claims it, fails and puts it back as a retry in 30 s; the
    second's claim, made from what it saw, must not take it again (it was sent twice back to back)."""
    engine = make_engine(sqlite_url.replace("sqlite://", "sqlite+aiosqlite://"))
    now = dt.datetime(2026, 12, 31, 15, 50, tzinfo=dt.UTC)
    try:
        async with make_sessionmaker(engine)() as session:
            session.add(
                Push(
                    dedupe_key="claimed-twice",
                    kind="test",
                    recipient_type="staff",
                    recipient="x",
                    text="t",
                    next_attempt_at=now,
                )
            )
            await session.commit()
            seen = (
                await session.execute(select(Push.id, Push.attempts).where(Push.dedupe_key == "claimed-twice"))
            ).one()
        maker = make_sessionmaker(engine)
        async with maker() as first_session, maker() as second_session:
            first, second = PushStore(first_session), PushStore(second_session)
            taken = await first.claim(seen.id, attempts=seen.attempts, now=now)
            assert taken is not None and taken.attempts == 1
            await first.finish(seen.id, status="retry", error="502", next_attempt_at=now + dt.timedelta(seconds=30))
            assert await second.claim(seen.id, attempts=seen.attempts, now=now) is None
            # (the database is the session's: the other tests' pushes may be due too)
            assert seen.id not in [push.id async for push in _claim_all(second, now)]
            later = {push.id: push.attempts async for push in _claim_all(second, now + dt.timedelta(seconds=30))}
            assert later[seen.id] == 2
    finally:
        await engine.dispose()


async def _claim_all(store: PushStore, now: dt.datetime):
    while push := await store.claim_next(now):
        yield push


def test_the_database_counts_what_a_tally_holds():
    """storage/ sits below casework/ and cannot import its list of counts: the two lists must stay one."""
    assert [field.name for field in dataclasses.fields(figures.TallyRow)][4:] == ["cases", *COUNTS]
