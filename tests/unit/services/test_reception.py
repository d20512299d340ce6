"""The reception use cases on SQLite: who commits, what a refusal keeps, and the refusals in Chinese.

The clock is Monday 23 November 2026, 10:00 Beijing time (sessions on Tuesday 24 and Thursday 26)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from casework.actors import Actor
from casework.bookings import Refused
from casework.cases import Role
from casework.deadlines import LOCAL
from services import reception
from settings import load_deployment
from storage.db import upgrade
from storage.models import Booking, BookingWait, Case, CaseEvent, Push, ReceptionSlot
from storage.reception import BookingTaken, ReceptionStore
from storage.repositories import ConversationStore
from tests.conftest import ROOT, make_settings
from tests.factories import ScriptedParser, build_dispatcher

MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=LOCAL).astimezone(dt.UTC)
DEPLOYMENT = load_deployment(ROOT / "config.yml")


@pytest.fixture
async def bot(tmp_path, var_dir):
    url = f"sqlite:///{tmp_path / 'liaison.db'}"
    upgrade(url)
    dispatcher, close = await build_dispatcher(make_settings(url, "embedded", var_dir), ScriptedParser({}))
    yield dispatcher
    await close()


async def citizen(bot, user_id):
    async with bot.sessionmaker() as session:
        party = await ConversationStore(session).identify("web", user_id)
        await session.commit()
    return party


async def first_open_slot(bot):
    async with bot.sessionmaker() as session:
        return next(
            s
            for s in await reception.open_slots(session, bot.deployment, bot.calendar, MONDAY)
            if not s.closed and s.free
        )


async def count(bot, statement):
    async with bot.sessionmaker() as session:
        return (await session.execute(statement)).scalar_one()


async def booked(bot, slot_id):
    async with bot.sessionmaker() as session:
        return (await session.execute(select(ReceptionSlot.booked).where(ReceptionSlot.id == slot_id))).scalar_one()


def test_a_change_within_the_cut_off_is_refused_in_the_citizens_words():
    start = dt.datetime(2026, 11, 26, 14, 30, tzinfo=LOCAL)
    reception.check_change(start, start - dt.timedelta(hours=2), DEPLOYMENT)
    with pytest.raises(Refused) as late:
        reception.check_change(start, start - dt.timedelta(hours=2) + dt.timedelta(minutes=1), DEPLOYMENT)
    assert late.value.code == "too_late" and "不足2小时" in late.value.message
    with pytest.raises(Refused, match="已经开始") as started:
        reception.check_change(start, start, DEPLOYMENT)
    assert started.value.code == "started"


async def test_a_turn_commits_what_the_service_did_and_a_rollback_keeps_nothing(bot, user_id):
    party = await citizen(bot, user_id)
    slot = await first_open_slot(bot)
    async with bot.sessionmaker() as session:
        await reception.book(session, bot.deployment, party, slot.id, "路灯不亮", None, MONDAY, commit=False)
        await session.rollback()  # the turn failed: nothing of the booking is kept
    assert await booked(bot, slot.id) == slot.booked
    mine = select(func.count()).select_from(Booking).where(Booking.citizen_id == party.citizen_id)
    assert await count(bot, mine) == 0
    assert await count(bot, select(func.count()).select_from(Push)) == 0

    async with bot.sessionmaker() as session:
        booking, view = await reception.book(
            session, bot.deployment, party, slot.id, "路灯不亮", None, MONDAY, commit=False
        )
        await session.commit()  # the turn's one commit
    assert view.booked == slot.booked + 1 and await booked(bot, slot.id) == slot.booked + 1
    assert await count(
        bot, select(func.count()).select_from(Push).where(Push.dedupe_key.like(f"booking:{booking.id}:booked:%"))
    ) == len(slot.deputies)


async def test_a_refusal_after_the_seat_was_taken_gives_it_back_and_keeps_the_turns_other_writes(
    bot, user_id, monkeypatch
):
    party, other = await citizen(bot, user_id), await citizen(bot, user_id + "-other")
    slot = await first_open_slot(bot)

    async def lost_the_race(self, **fields):  # another of the citizen's confirmations won the week meanwhile
        raise BookingTaken(fields["week"])

    async with bot.sessionmaker() as session:
        kept, _ = await reception.book(session, bot.deployment, other, slot.id, "噪音扰民", None, MONDAY, commit=False)
        with monkeypatch.context() as patch:
            patch.setattr(ReceptionStore, "add_booking", lost_the_race)
            with pytest.raises(Refused) as refused:
                await reception.book(session, bot.deployment, party, slot.id, "路灯不亮", None, MONDAY, commit=False)
        await session.commit()
    assert refused.value.code == "week_taken" and "每周只能预约一次" in refused.value.message
    # The seat the refused booking took is back; the booking made before it in the same turn is kept.
    assert await booked(bot, slot.id) == slot.booked + 1
    assert await count(bot, select(func.count()).select_from(Booking).where(Booking.number == kept.number)) == 1


async def test_an_offer_taken_in_a_week_already_booked_passes_the_place_on_and_is_refused(bot, user_id):
    holder, waiting = await citizen(bot, user_id), await citizen(bot, user_id + "-w")
    slot = await first_open_slot(bot)
    async with bot.sessionmaker() as session:
        for i in range(slot.free - 1):
            filler = await citizen(bot, f"{user_id}-{i}")
            await reception.book(session, bot.deployment, filler, slot.id, "占位", None, MONDAY)
        held, _ = await reception.book(session, bot.deployment, holder, slot.id, "路灯不亮", None, MONDAY)
        place, _ = await reception.join_waitlist(session, bot.deployment, waiting, slot.id, "噪音", None, MONDAY)
        assert place == 1
        later = next(
            s
            for s in await reception.open_slots(session, bot.deployment, bot.calendar, MONDAY)
            if s.week == slot.week and s.id != slot.id and s.free and not s.closed
        )
        await reception.cancel(session, bot.deployment, holder, held.number, MONDAY)
        # The one waiting books another slot of that week before answering the offer.
        await reception.book(session, bot.deployment, waiting, later.id, "噪音", None, MONDAY)
        with pytest.raises(Refused) as refused:
            await reception.answer_offer(session, bot.deployment, waiting, True, MONDAY)
    assert refused.value.code == "week_taken" and "已让给下一位" in refused.value.message
    assert await count(bot, select(BookingWait.status)) == "declined"
    assert await booked(bot, slot.id) == slot.capacity - 1


async def test_sessions_the_rota_closes_are_stored_with_the_reason_in_words(bot):
    async with bot.sessionmaker() as session:
        listed = await reception.list_sessions(
            session,
            bot.deployment,
            bot.calendar,
            dt.date(2026, 10, 1),
            1,
            dt.datetime(2026, 9, 28, 10, 0, tzinfo=LOCAL),
        )
    assert [(s["key"], s["closed"], s["close_reason"], s["kind_label"]) for s in listed] == [
        ("demo:2026-10-01:1430", True, "法定节假日", "接待日")
    ]


async def test_a_case_from_a_booking_is_the_one_registration_of_reports_committed_with_the_outcome(bot, user_id):
    party = await citizen(bot, user_id)
    slot = await first_open_slot(bot)
    staff = Actor(name="staff1", role=Role.STAFF)
    async with bot.sessionmaker() as session:
        topic = "楼道里电动车充电有隐患"
        booking, _ = await reception.book(session, bot.deployment, party, slot.id, topic, None, MONDAY)
        day = slot.starts_at.astimezone(LOCAL).date()
        [held] = await reception.list_sessions(session, bot.deployment, bot.calendar, day, 1, MONDAY)
        code = held["deputies"][0]["code"]
        during = slot.starts_at + dt.timedelta(minutes=10)
        with pytest.raises(Refused) as refused:  # only a deputy on duty (or staff) records it
            await reception.record_outcome(
                session,
                bot.deployment,
                bot.calendar,
                booking.number,
                "case",
                Actor(name="deputy", role=Role.DEPUTY),
                during,
            )
        assert refused.value.code == "not_on_duty"
        done = await reception.perform(
            session,
            bot.deployment,
            bot.calendar,
            staff,
            "outcome",
            during,
            guess_topic=lambda text: "城乡建设",
            number=booking.number,
            outcome="case",
            answer="请街道排查",
            deputy=code,
        )
    assert done["outcome"] == "case" and done["received_by"] == code and done["case_no"] in done["detail"]
    async with bot.sessionmaker() as session:
        [case] = (await session.execute(select(Case).where(Case.citizen_id == party.citizen_id))).scalars().all()
        events = (await session.execute(select(CaseEvent.action).where(CaseEvent.case_id == case.id))).scalars().all()
        stored = (await session.execute(select(Booking).where(Booking.id == booking.id))).scalar_one()
    assert case.number == done["case_no"] and case.topic == "城乡建设" and case.state == "received"
    assert "楼道里电动车充电有隐患" in case.description and "接待记录：请街道排查" in case.description
    assert len(events) == 1 and stored.case_id == case.id and stored.outcome == "case"
    assert (
        await count(
            bot, select(func.count()).select_from(Push).where(Push.dedupe_key.like(f"booking:{booking.id}:case:%"))
        )
        == 1
    )
