"""The rules of reception bookings: proposals, the cut-off, reminders, waiting-list offers, points."""

import datetime as dt

from casework.bookings import (
    OutcomeRow,
    SlotView,
    answers_reminder,
    change_refused,
    deeds_from_outcomes,
    digest_due,
    offer_deadline,
    propose,
    reminders_due,
    slot_label,
    week_of,
)
from casework.dates import When, parse_when
from casework.deadlines import LOCAL
from casework.points import points_of
from settings import load_deployment
from tests.conftest import ROOT

RULES = load_deployment(ROOT / "config.yml").reception
NOW = dt.datetime(2026, 11, 23, 10, 0, tzinfo=LOCAL)  # Monday morning


def at(day, hour, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=LOCAL)


def slot(id_, day, hour, minute=0, booked=0, capacity=3, closed=False):
    start = at(day, hour, minute)
    return SlotView(
        id=id_,
        session_key=f"demo:2026-11-{day}:{hour:02d}{minute:02d}",
        station="示范站",
        kind="weekly",
        starts_at=start,
        ends_at=start + dt.timedelta(minutes=30),
        capacity=capacity,
        booked=booked,
        deputies=("王敏",),
        closed=closed,
    )


SLOTS = [
    slot(1, 24, 9),
    slot(2, 24, 9, 30, booked=3),
    slot(3, 26, 14, 30, booked=3),
    slot(4, 26, 15),
    slot(5, 26, 15, 30),
    slot(6, 23, 9),
    slot(7, 30, 9, closed=True),
    slot(8, 30, 9, 30),
]


def ids(proposal):
    return [s.id for s in proposal.slots]


def test_the_nearest_open_slots_answer_what_was_asked():
    assert ids(propose(SLOTS, When(), NOW)) == [1, 4, 5, 8]  # past, full and closed ones are left out
    thursday = propose(SLOTS, parse_when("周四下午", NOW.date()), NOW)
    assert thursday.matched and ids(thursday) == [4, 5]
    three = propose(SLOTS, parse_when("周四下午3点半", NOW.date()), NOW)
    assert ids(three) == [5, 4]  # the closest to the time asked first


def test_a_full_slot_offers_its_waiting_list_and_the_nearest_others():
    asked = parse_when("周四下午两点半", NOW.date())
    only_full = [s for s in SLOTS if s.id in (1, 3, 8)]
    proposal = propose(only_full, asked, NOW)
    assert not proposal.matched and proposal.full.id == 3 and ids(proposal) == [8]


def test_nothing_on_the_day_asked_or_a_day_past_or_a_week_already_booked():
    saturday = propose(SLOTS, parse_when("周六上午", NOW.date()), NOW)
    assert not saturday.matched and saturday.full is None and ids(saturday) == [8]
    past = propose(SLOTS, parse_when("上周四", NOW.date()), NOW)
    assert past.past and ids(past) == [1, 4, 5, 8]
    taken = propose(SLOTS, parse_when("周四", NOW.date()), NOW, weeks_taken={week_of(at(26, 9))})
    assert taken.week_taken and ids(taken) == [8]


def test_cancel_or_change_up_to_two_hours_before():
    start = at(26, 14, 30)
    assert change_refused(start, at(26, 12, 30), RULES) is None
    assert change_refused(start, at(26, 12, 31), RULES) == "too_late"
    assert change_refused(start, start, RULES) == "started"
    assert answers_reminder(at(26, 12, 30), start, at(26, 12, 50))
    assert not answers_reminder(at(26, 12, 30), start, at(26, 13, 5))  # not an answer to it any more
    assert not answers_reminder(None, start, at(26, 12, 50))


def test_reminders_the_day_before_and_two_hours_before_each_once():
    booked_at, start = at(20, 10), at(26, 14, 30)
    assert reminders_due(booked_at, start, at(25, 17, 59), RULES) == []
    assert reminders_due(booked_at, start, at(25, 18, 0), RULES) == ["day_before"]
    assert reminders_due(booked_at, start, at(26, 12, 29), RULES) == ["day_before"]
    assert reminders_due(booked_at, start, at(26, 12, 30), RULES) == ["hours_before"]
    assert reminders_due(booked_at, start, start, RULES) == []
    # Booked after the day-before time: only the two-hour reminder comes.
    assert reminders_due(at(25, 20), start, at(25, 21), RULES) == []
    assert reminders_due(at(26, 13), start, at(26, 13, 30), RULES) == []


def test_a_freed_place_is_held_for_the_waiting_list_but_not_too_close_to_the_slot():
    start = at(26, 14, 30)
    assert offer_deadline(at(26, 9), start, RULES) == at(26, 11)
    assert offer_deadline(at(26, 13), start, RULES) == at(26, 14, 15)
    assert offer_deadline(at(26, 14, 20), start, RULES) is None


def test_the_digest_is_due_on_the_morning_of_the_session():
    start, end = at(26, 14, 30), at(26, 17)
    assert not digest_due(start, end, at(26, 7, 29), RULES)
    assert digest_due(start, end, at(26, 7, 30), RULES) and digest_due(start, end, at(26, 16), RULES)
    assert not digest_due(start, end, end, RULES)


def test_labels_and_weeks_in_beijing_time():
    assert slot_label(at(26, 14, 30), at(26, 15)) == "11月26日（周四）14:30-15:00"
    assert week_of(dt.datetime(2026, 11, 29, 16, 30, tzinfo=dt.UTC)) == "2026-W49"  # Monday 00:30 in Beijing


def test_outcomes_earn_the_duty_once_a_session_and_each_answer():
    rows = [
        OutcomeRow(1, "YY1", 10, dt.date(2026, 11, 26), "demo", "attended", "wang-min", at(26, 15)),
        OutcomeRow(2, "YY2", 10, dt.date(2026, 11, 26), "demo", "answered", "wang-min", at(26, 15, 30)),
        OutcomeRow(3, "YY3", 10, dt.date(2026, 11, 26), "demo", "absent", None, at(26, 16)),
        OutcomeRow(4, "YY4", 10, dt.date(2026, 11, 26), "demo", "case", "zhang-hua", at(26, 16)),
    ]
    deeds = deeds_from_outcomes(rows)
    rules = load_deployment(ROOT / "config.yml").points.rules
    wang = [(i.rule, i.points, i.ref) for i in points_of("wang-min", deeds, rules)]
    assert wang == [("reception_duty", 5, "reception:2026-11-26:demo"), ("reception_answer", 2, "YY2")]
    assert [i.rule for i in points_of("zhang-hua", deeds, rules)] == ["reception_duty"]
