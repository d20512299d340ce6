import datetime as dt

from sqlalchemy import select

from casework.deadlines import LOCAL
from storage.db import make_engine, make_sessionmaker
from storage.models import Push


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
