"""Sessions and slots from the duty rota, across the 2026 National Day break and its adjusted working weekends."""

import datetime as dt

from casework.rota import COUNCIL_REASON, HOLIDAY_REASON, is_council_day, on_duty, plan_sessions
from casework.workdays import WorkingCalendar
from settings import Deployment, load_deployment
from tests.conftest import ROOT

D = dt.date
SATURDAY = {
    "station": "demo",
    "weekday": "周六",
    "start": "09:00",
    "end": "11:00",
    "slot_minutes": 60,
    "capacity": 4,
    "deputies": ["chen-li", "zhao-qiang"],
    "per_week": 1,
}


def deployment(**reception) -> Deployment:
    """The demo deployment with a Saturday session, and the reception settings given."""
    raw = load_deployment(ROOT / "config.yml").model_dump(mode="json")
    raw["duty_rota"].append(SATURDAY)
    raw["reception"].update(reception)
    return Deployment.model_validate(raw)


def by_key(plans):
    return {p.key: p for p in plans}


def test_the_calendar_tells_a_holiday_from_a_weekend():
    calendar = WorkingCalendar(holidays=[D(2026, 11, 23)])
    assert calendar.is_holiday(D(2026, 10, 3))  # Saturday in the National Day break
    assert not calendar.is_holiday(D(2026, 9, 19))  # an ordinary Saturday
    assert not calendar.is_holiday(D(2026, 10, 10))  # Saturday worked instead
    assert calendar.is_holiday(D(2026, 9, 25))  # Mid-autumn Festival, a Friday
    assert calendar.is_holiday(D(2026, 11, 23))  # declared locally
    assert not calendar.is_holiday(D(2099, 3, 1))  # a year the library does not know


def test_national_day_2026_closes_sessions_and_the_adjusted_saturday_opens_as_configured():
    plans = by_key(plan_sessions(deployment(), WorkingCalendar(), D(2026, 9, 14), D(2026, 10, 18)))
    held = sorted(k for k, p in plans.items() if not p.closed)
    closed = {k: p.reason for k, p in plans.items() if p.closed}
    assert closed == {
        "demo:2026-09-26:0900": HOLIDAY_REASON,  # Saturday of the Mid-autumn break
        "demo:2026-10-01:1430": HOLIDAY_REASON,
        "demo:2026-10-03:0900": HOLIDAY_REASON,  # Saturday of the National Day break
        "demo:2026-10-06:0900": HOLIDAY_REASON,
    }
    assert held == [
        "demo:2026-09-15:0900",
        "demo:2026-09-17:1430",
        "demo:2026-09-19:0900",  # an ordinary Saturday: held
        "demo:2026-09-22:0900",
        "demo:2026-09-24:0900",
        "demo:2026-09-24:1430",  # 24 Sept: the fourth Thursday
        "demo:2026-09-29:0900",
        "demo:2026-10-08:1430",
        "demo:2026-10-10:0900",  # worked Saturday: its own session, and config opens a Tuesday's (same start)
        "demo:2026-10-13:0900",
        "demo:2026-10-15:1430",
        "demo:2026-10-17:0900",
    ]
    # Sunday 20 Sept is worked too, but there is no Sunday session and config opens none.
    assert not any(p.day == D(2026, 9, 20) for p in plans.values())
    council = plans["demo:2026-09-24:0900"]
    assert council.kind == "council" and council.deputies == ("wang-min", "zhang-hua", "sun-yue")
    assert council.capacity == 5 and len(council.slots()) == 5
    tuesday = plans["demo:2026-09-29:0900"]
    assert [(s.hour, s.minute) for s, _ in tuesday.slots()] == [(9, 0), (9, 30), (10, 0), (10, 30), (11, 0)]
    assert tuesday.slots()[0][0].utcoffset() == dt.timedelta(hours=8)


def test_a_worked_saturday_opened_like_a_tuesday_when_no_saturday_session_is_there():
    plans = by_key(
        plan_sessions(load_deployment(ROOT / "config.yml"), WorkingCalendar(), D(2026, 10, 5), D(2026, 10, 11))
    )
    extra = plans["demo:2026-10-10:0900"]
    assert extra.kind == "extra" and not extra.closed and extra.end == dt.time(11, 30)
    assert extra.deputies == on_duty(load_deployment(ROOT / "config.yml").duty_rota[0], D(2026, 10, 10))
    assert plans["demo:2026-10-06:0900"].closed


def test_exceptions_open_a_holiday_close_a_day_name_deputies_and_add_a_session():
    plans = by_key(
        plan_sessions(
            deployment(
                exceptions=[
                    {"date": "2026-10-06", "action": "open"},
                    {"date": "2026-10-08", "action": "close", "reason": "联络站装修"},
                    {"date": "2026-10-13", "action": "deputies", "deputies": ["sun-yue"], "start": "09:00"},
                    {
                        "date": "2026-10-14",
                        "action": "open",
                        "start": "19:00",
                        "end": "20:30",
                        "deputies": ["zhang-hua"],
                        "reason": "夜间接待",
                    },
                ]
            ),
            WorkingCalendar(),
            D(2026, 10, 5),
            D(2026, 10, 18),
        )
    )
    assert not plans["demo:2026-10-06:0900"].closed
    assert plans["demo:2026-10-08:1430"].closed and plans["demo:2026-10-08:1430"].reason == "联络站装修"
    assert plans["demo:2026-10-13:0900"].deputies == ("sun-yue",)
    evening = plans["demo:2026-10-14:1900"]
    assert evening.kind == "extra" and evening.deputies == ("zhang-hua",) and len(evening.slots()) == 3
    assert "demo:2026-10-10:0900" in plans and plans["demo:2026-10-10:0900"].kind == "weekly"


def test_deputies_take_turns_week_by_week():
    rota = load_deployment(ROOT / "config.yml").duty_rota
    tuesdays = [D(2026, 11, 3) + dt.timedelta(weeks=i) for i in range(6)]
    on_tuesdays = [on_duty(rota[0], d) for d in tuesdays]
    assert all(len(d) == 1 for d in on_tuesdays)
    assert on_tuesdays[:3] == on_tuesdays[3:] and len({d[0] for d in on_tuesdays[:3]}) == 3
    thursdays = [on_duty(rota[1], d + dt.timedelta(days=2)) for d in tuesdays[:3]]
    assert all(len(set(d)) == 2 for d in thursdays) and thursdays[0] != thursdays[1]


def test_the_council_day_is_the_fourth_thursday_and_takes_over_an_overlapping_session():
    rule = load_deployment(ROOT / "config.yml").reception.council_day
    november = [D(2026, 11, 1) + dt.timedelta(days=i) for i in range(30)]
    assert [d.day for d in november if is_council_day(rule, d)] == [26]
    overlapping = deployment(
        council_day={"station": "demo", "start": "14:00", "end": "16:00", "deputies": ["wang-min"]}
    )
    plans = by_key(plan_sessions(overlapping, WorkingCalendar(), D(2026, 11, 26), D(2026, 11, 26)))
    assert plans["demo:2026-11-26:1430"].closed and plans["demo:2026-11-26:1430"].reason == COUNCIL_REASON
    assert not plans["demo:2026-11-26:1400"].closed and plans["demo:2026-11-26:1400"].kind == "council"
