"""The reception desk's week (services/reception_desk.py) on SQLite and PostgreSQL: sessions with their deputies, slots,
bookings and waiting list as staff read them (identities as written) and as a deputy on duty reads them (masked
but the call-back phone); closing a session, naming its deputies and recording an outcome through the reception
use cases, as the desk's forms do; a deputy refused the desk.

The moments are chosen, in March 2031 (weeks no other test of a run books), so nothing here reads the clock."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.runtime import Runtime
from casework.actors import Actor
from casework.bookings import Refused
from casework.cases import Role
from casework.deadlines import LOCAL
from casework.errors import Forbidden
from services import reception
from services import reception_desk as desk
from storage.models import Push
from tests.conftest import make_settings
from tests.integration.desks import before, book, booking, citizen, open_session

STAFF = Actor("desk-staff", Role.STAFF)


@pytest.fixture
async def runtime(database_url, real_redis_url, var_dir):
    services = await Runtime.start(make_settings(database_url, real_redis_url, var_dir))
    yield services
    await services.close()


def deputy(code: str) -> Actor:
    return Actor(f"{code}-user", Role.DEPUTY, deputy_code=code)


async def week_of(runtime, actor, day: dt.date, now: dt.datetime) -> desk.Week:
    async with runtime.sessionmaker() as session:
        return await desk.reception_week(session, runtime.deployment, runtime.calendar, actor, day.isoformat(), now)


def card_of(week: desk.Week, key: str) -> desk.SessionCard:
    return next(c for _, _, cards in week.days for c in cards if c.key == key)


async def test_the_week_lists_each_session_with_its_bookings_and_waiting_list(runtime):
    row = await open_session(runtime, dt.date(2031, 3, 3), weekday=1)
    slot = row.slots[0]
    numbers = []
    for n, name in enumerate(["张卫东", "李秀英", "王建华"]):
        party = await citizen(runtime, name)
        phone = f"1391234567{n}"
        numbers.append(await book(runtime, party, slot.id, f"{name}反映楼道灯坏了，电话 {phone}", phone, before(row)))
    waiting = await citizen(runtime, "赵小红")
    async with runtime.sessionmaker() as session:
        place, _ = await reception.join_waitlist(
            session, runtime.deployment, waiting, slot.id, "想反映噪音扰民", "13700001111", before(row)
        )
    assert place == 1

    week = await week_of(runtime, STAFF, row.day, before(row))
    assert week.monday == dt.date(2031, 3, 3) and week.previous == dt.date(2031, 2, 24) and week.next.day == 10
    assert [d for d, _, _ in week.days] == [dt.date(2031, 3, 3) + dt.timedelta(days=n) for n in range(7)]
    card = card_of(week, row.key)
    assert (
        card.weekday == "周二"
        and card.time == f"{row.starts_at.astimezone(LOCAL):%H:%M}-{row.ends_at.astimezone(LOCAL):%H:%M}"
    )
    assert [name for _, name in card.deputies] == [runtime.deployment.deputy(c).name for c in row.deputies]
    assert card.slots[0].full and card.slots[0].booked == 3
    assert [b.number for b in card.bookings] == numbers
    first = card.bookings[0]
    # Staff read the citizen, the phone and their words as written.
    assert (first.citizen, first.phone) == ("张卫东", "13912345670")
    assert first.topic == "张卫东反映楼道灯坏了，电话 13912345670"
    assert not first.open_for_outcome, "the slot has not begun"
    [wait] = card.waits
    assert (wait.place, wait.citizen, wait.phone, wait.status_label) == (1, "赵小红", "13700001111", "候补中")

    # A deputy on duty reads the same session masked, but for the call-back phone.
    on_duty = deputy(row.deputies[0])
    async with runtime.sessionmaker() as session:
        [seen] = await desk.session_cards(session, runtime.deployment, on_duty, [row], before(row))
    assert seen.bookings[0].phone == "13912345670"
    assert seen.bookings[0].citizen != "张卫东" and "张卫东" not in seen.bookings[0].topic
    assert "13912345670" not in seen.bookings[0].topic
    # A deputy not on duty sees the session but none of its bookings.
    other = next(d.code for d in runtime.deployment.deputies if d.code not in row.deputies)
    async with runtime.sessionmaker() as session:
        [stranger] = await desk.session_cards(session, runtime.deployment, deputy(other), [row], before(row))
    assert stranger.bookings == () and stranger.waits == ()


async def act(runtime, actor, key: str, operation: str, at: dt.datetime, **fields):
    """What a form of the desk does: one change, then the session as it now is."""
    async with runtime.sessionmaker() as session:
        return await desk.act(session, runtime.deployment, runtime.calendar, actor, key, operation, at, **fields)


async def test_the_desk_closes_a_session_names_its_deputies_and_records_an_outcome(runtime):
    row = await open_session(runtime, dt.date(2031, 3, 10), weekday=3)
    party = await citizen(runtime, "孙立")
    number = await book(runtime, party, row.slots[1].id, "想问问小区加装电梯的补贴", "13811112222", before(row))
    replacement = [d.code for d in runtime.deployment.deputies if d.code not in row.deputies][:2]

    done, card = await act(runtime, STAFF, row.key, "deputies", before(row), deputies=replacement)
    assert done.startswith(f"接待 {row.key} 的值班代表")
    assert [code for code, _ in card.deputies] == replacement and card.changed_by == STAFF.name

    # After the session began: the outcome, as the desk's form sends it.
    during = row.slots[1].starts_at + dt.timedelta(minutes=5)
    async with runtime.sessionmaker() as session:
        [line] = (await desk.session_card(session, runtime.deployment, STAFF, row.key, during)).bookings
    assert line.open_for_outcome
    with pytest.raises(Refused) as which:
        await act(runtime, STAFF, row.key, "outcome", during, number=number, outcome="attended")
    assert which.value.code == "deputy_required", "two deputies on duty: staff name the one who received"
    answer = "补贴按市里政策执行，可到街道办申请"
    done, card = await act(
        runtime,
        STAFF,
        row.key,
        "outcome",
        during,
        number=number,
        outcome="answered",
        answer=answer,
        deputy=replacement[1],
    )
    assert done == f"预约 {number}：当场解答。"
    [line] = card.bookings
    assert (line.outcome_label, line.received_by) == ("当场解答", runtime.deployment.deputy(replacement[1]).name)
    assert line.outcome_note == answer and not line.open_for_outcome

    # Closing a later session tells its booked citizen why.
    later = await open_session(runtime, dt.date(2031, 3, 17), weekday=1)
    other = await citizen(runtime)
    closed_number = await book(runtime, other, later.slots[0].id, "反映路灯不亮", None, before(later))
    done, card = await act(runtime, STAFF, later.key, "close", before(later), reason="代表集中参加区人代会")
    async with runtime.sessionmaker() as session:
        told = (
            await session.execute(
                select(Push.text).where(
                    Push.dedupe_key.like(f"booking:{(await booking(runtime, closed_number)).id}:closed%")
                )
            )
        ).scalar_one()
    assert done == f"接待 {later.key} 已关闭，已通知 1 位预约群众。"
    assert card.closed and card.close_reason == "代表集中参加区人代会"
    assert [(b.number, b.status_label) for b in card.bookings] == [(closed_number, "接待取消")]
    assert "代表集中参加区人代会" in told


async def test_a_deputy_is_refused_the_desk_and_its_changes(runtime):
    row = await open_session(runtime, dt.date(2031, 3, 24))
    on_duty = deputy(row.deputies[0])
    with pytest.raises(Forbidden) as refused:
        await week_of(runtime, on_duty, row.day, before(row))
    assert refused.value.message == "只有工作人员可以使用接待台。"
    async with runtime.sessionmaker() as session:
        with pytest.raises(Forbidden):
            await desk.session_card(session, runtime.deployment, on_duty, row.key, before(row))
        with pytest.raises(Refused) as closing:
            await reception.perform(
                session, runtime.deployment, runtime.calendar, on_duty, "close", before(row), key=row.key, reason="x"
            )
    assert closing.value.status == 403
    # The desk's own rule comes first: a deputy on duty, who may record outcomes on their own page, records none here.
    number = await book(runtime, await citizen(runtime), row.slots[0].id, "反映噪音", None, before(row))
    during = row.slots[0].starts_at + dt.timedelta(minutes=1)
    with pytest.raises(Forbidden):
        await act(runtime, on_duty, row.key, "outcome", during, number=number, outcome="attended")
    assert (await booking(runtime, number)).outcome is None


def test_a_week_is_named_by_any_of_its_days():
    assert desk.parse_week("2031-03-06", dt.date(2031, 1, 1)) == dt.date(2031, 3, 3)
    assert desk.parse_week("", dt.date(2031, 3, 9)) == dt.date(2031, 3, 3)
    with pytest.raises(Exception, match="日期格式"):
        desk.parse_week("下周", dt.date(2031, 3, 9))
