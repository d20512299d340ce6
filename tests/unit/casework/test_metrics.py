"""Figures of the loop, counted by hand on five cases around the 2026 National Day holiday.

The holiday: 1-7 October off, Sunday 20 September and Saturday 10 October worked. A case received on
Wednesday 30 September has its answer due on Saturday 10 October (8, 9, 10 October), three working
days later although ten calendar days; one received on Tuesday 29 September is due on Friday 9 October.
"""

from __future__ import annotations

import datetime as dt
import itertools
import statistics
from collections import defaultdict
from dataclasses import astuple, fields, replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from casework.deadlines import LOCAL, end_of_day
from casework.history import CaseHistory, EventRow, RatingRow, ReplyRow
from casework.metrics import COUNTS, Figures, Month, Tally, case_record, combine, figures_by, tally, weighted_median
from casework.workdays import WorkingCalendar

CALENDAR = WorkingCalendar()
JIANSHE = "区住房和城乡建设局"
JIAOTONG = "区交通运输局"
STATION = "示范街道人大代表联络站"
_ids = itertools.count(1)


def at(*args: int) -> dt.datetime:
    """A Beijing-time moment (the store hands back UTC; comparisons do not mind)."""
    return dt.datetime(*args, tzinfo=LOCAL).astimezone(dt.UTC)


def event(
    action: str,
    before: str | None,
    after: str,
    when: dt.datetime,
    *,
    role: str = "staff",
    actor: str = "staff1",
    deputy: str | None = None,
    reason: str = "",
) -> EventRow:
    return EventRow(
        id=next(_ids),
        action=action,
        actor=actor,
        actor_role=role,
        actor_deputy=deputy,
        from_state=before,
        to_state=after,
        reason=reason or action,
        at=when,
    )


def history(
    number: str,
    received: dt.datetime,
    events: list[EventRow],
    *,
    state: str,
    department: str | None = JIANSHE,
    deputy: tuple[str, str] | None = None,
    reply_due_at: dt.datetime | None = None,
    closed_at: dt.datetime | None = None,
    replies: tuple[ReplyRow, ...] = (),
    ratings: tuple[RatingRow, ...] = (),
    description: str = "路灯坏了",
    citizen: tuple[str | None, str | None] = (None, None),
    anonymous: bool = False,
    escalation_level: str | None = None,
) -> CaseHistory:
    """A case as ReportStore returns it; deadlines as registration sets them unless given."""
    day = received.astimezone(LOCAL).date()
    register = event("register", None, "received", received, role="citizen", actor="web:u1")
    return CaseHistory(
        number=number,
        state=state,
        topic="城乡建设",
        description=description,
        place="幸福路18号",
        anonymous=anonymous,
        citizen_name=citizen[0],
        citizen_phone=citizen[1],
        station=STATION,
        department=department,
        deputy_code=deputy[0] if deputy else None,
        deputy_name=deputy[1] if deputy else None,
        created_at=received,
        transfer_due_at=received + dt.timedelta(hours=24),
        reply_due_at=reply_due_at or end_of_day(CALENDAR.add_working_days(day, 3)),
        closed_at=closed_at,
        merged_into=None,
        escalation_level=escalation_level,
        events=(register, *events),
        replies=replies,
        ratings=ratings,
    )


WANG = ("wang-min", "王敏")
LI = ("li-jianguo", "李建国")
AS_OF = at(2026, 10, 20, 12)


def national_day_cases() -> list[CaseHistory]:
    """A: on time over the holiday, satisfied. B: late twice, re-handled, escalated. C: answered on the spot
    by a deputy, closed unrated. D: never touched. E: withdrawn at once (in October)."""
    a = history(
        "LL20260930001",
        at(2026, 9, 30, 16),
        [
            event("transfer", "received", "transferred", at(2026, 9, 30, 17)),
            event("acknowledge", "transferred", "in_progress", at(2026, 10, 8, 9), role="department"),
            event("record_reply", "in_progress", "in_progress", at(2026, 10, 9, 9), role="department"),
            event("approve_reply", "in_progress", "replied", at(2026, 10, 9, 10)),
            event("rate", "replied", "closed", at(2026, 10, 10, 8), role="citizen", actor="web:u1"),
        ],
        state="closed",
        deputy=LI,
        closed_at=at(2026, 10, 10, 8),
        replies=(ReplyRow(1, "幸福路三盏路灯已于10月9日修复。", at(2026, 10, 9, 10)),),
        ratings=(RatingRow(1, "满意", "", at(2026, 10, 10, 8)),),
        citizen=("张三", "13812348000"),
        description="幸福路路灯坏了，张三的电话13812348000",
    )
    b = history(
        "LL20260929001",
        at(2026, 9, 29, 9),
        [
            event("transfer", "received", "transferred", at(2026, 9, 30, 10)),  # 25 hours: late
            event("acknowledge", "transferred", "in_progress", at(2026, 10, 8, 9), role="department"),
            event("record_reply", "in_progress", "in_progress", at(2026, 10, 12, 10), role="department"),
            event("approve_reply", "in_progress", "replied", at(2026, 10, 12, 11)),  # due 9 October: late
            event("rate", "replied", "rehandling", at(2026, 10, 13, 9), role="citizen", actor="web:u2"),
            event("record_reply", "rehandling", "rehandling", at(2026, 10, 15, 9), role="department"),
            event("approve_reply", "rehandling", "replied", at(2026, 10, 15, 10)),
            event("rate", "replied", "escalated", at(2026, 10, 16, 9), role="citizen", actor="web:u2"),
        ],
        state="escalated",
        deputy=WANG,
        closed_at=at(2026, 10, 16, 9),
        escalation_level="区县",
        reply_due_at=end_of_day(dt.date(2026, 10, 16)),  # re-handling replaced the first deadline
        replies=(ReplyRow(1, "已协调。", at(2026, 10, 12, 11)), ReplyRow(2, "已再次协调。", at(2026, 10, 15, 10))),
        ratings=(RatingRow(1, "不满意", "", at(2026, 10, 13, 9)), RatingRow(2, "不满意", "", at(2026, 10, 16, 9))),
        citizen=(None, None),
        anonymous=True,
    )
    c = history(
        "LL20260930002",
        at(2026, 9, 30, 11),
        [
            event(
                "answer_on_spot",
                "received",
                "answered_on_spot",
                at(2026, 9, 30, 15),
                role="deputy",
                actor="wangmin",
                deputy="wang-min",
                reason="人大代表当场答复：公交站台顶棚本周内修复。",
            ),
            event(
                "close_unrated",
                "answered_on_spot",
                "closed",
                at(2026, 10, 13, 0),
                role="system",
                actor="system",
                reason="逾期未评价",
            ),
        ],
        state="closed",
        department=JIAOTONG,
        deputy=WANG,
        closed_at=at(2026, 10, 13, 0),
    )
    d = history("LL20260930003", at(2026, 9, 30, 18), [], state="received")
    e = history(
        "LL20261008001",
        at(2026, 10, 8, 9),
        [
            event("withdraw", "received", "withdrawn", at(2026, 10, 8, 10), role="citizen", actor="web:u5"),
        ],
        state="withdrawn",
        department=JIAOTONG,
        closed_at=at(2026, 10, 8, 10),
    )
    return [a, b, c, d, e]


def records():
    return [case_record(h, CALENDAR, reply_working_days=3) for h in national_day_cases()]


def test_a_case_record_reads_its_events():
    a, b, c, d, e = records()
    assert a.transferred_at == at(2026, 9, 30, 17) and a.answered_at == at(2026, 10, 9, 10)
    assert a.reply_due_at == dt.datetime(2026, 10, 10, 23, 59, 59, tzinfo=LOCAL)  # the worked Saturday
    assert a.answered_on_time and a.working_days_to_answer(CALENDAR) == 2  # 8 and 9 October
    # B's stored deadline is the re-handling one; its first answer is judged by the first deadline.
    assert b.reply_due_at == dt.datetime(2026, 10, 9, 23, 59, 59, tzinfo=LOCAL)
    assert b.answered_on_time is False and b.working_days_to_answer(CALENDAR) == 5  # 30/9, 8, 9, 10, 12/10
    assert b.rehandled and b.escalated and b.ratings == ("不满意", "不满意")
    assert c.transferred_at is None and c.left_received_at == at(2026, 9, 30, 15) and c.closed_unrated
    assert d.answered_at is None and d.left_received_at is None
    assert e.month == Month(2026, 10) and d.month == Month(2026, 9)


def test_the_figures_of_all_cases():
    total = figures_by(records(), "department", CALENDAR, AS_OF).total
    assert total == Figures(
        group="合计",
        received=5,
        transfers_due=3,
        transferred_on_time=1,  # A on time, B late, D never; C and E left 已受理 in time
        answers_due=4,
        answered_on_time=2,  # A and C on time, B late, D overdue; E withdrawn before its deadline
        closed=2,
        rated=2,
        satisfied=1,
        unrated=1,
        rehandled=1,
        escalated=1,
        median_working_days=2.0,  # A 2, B 5, C 0
    )
    assert (total.transfer_rate, total.on_time_rate, total.closed_rate, total.satisfaction_rate) == (
        33.3,
        50.0,
        40.0,
        50.0,
    )


def test_the_figures_per_department():
    report = figures_by(records(), "department", CALENDAR, AS_OF)
    jiaotong, jianshe = report.groups  # sorted by name
    assert jianshe == Figures(
        group=JIANSHE,
        received=3,
        transfers_due=3,
        transferred_on_time=1,
        answers_due=3,
        answered_on_time=1,
        closed=1,
        rated=2,
        satisfied=1,
        rehandled=1,
        escalated=1,
        median_working_days=3.5,
    )
    assert jiaotong == Figures(
        group=JIAOTONG, received=2, answers_due=1, answered_on_time=1, closed=1, unrated=1, median_working_days=0.0
    )
    assert jiaotong.transfer_rate is None and jiaotong.satisfaction_rate is None and jiaotong.closed_rate == 50.0


def test_the_figures_per_deputy_and_month():
    by_deputy = {f.group: f for f in figures_by(records(), "deputy", CALENDAR, AS_OF).groups}
    assert {name: f.received for name, f in by_deputy.items()} == {"王敏": 2, "李建国": 1, "（无跟进代表）": 2}
    assert by_deputy["王敏"].escalated == 1 and by_deputy["王敏"].unrated == 1
    by_month = {f.group: f.received for f in figures_by(records(), "month", CALENDAR, AS_OF).groups}
    assert by_month == {"2026-09": 4, "2026-10": 1}


def test_an_open_case_is_late_only_once_its_deadline_has_passed():
    d = records()[3]
    before = figures_by([d], "station", CALENDAR, at(2026, 10, 1, 12)).total  # transfer due 1 Oct 18:00
    assert (before.transfers_due, before.answers_due) == (0, 0)
    after = figures_by([d], "station", CALENDAR, at(2026, 10, 11, 0)).total  # answer due 10 Oct
    assert (after.transfers_due, after.transferred_on_time, after.answers_due, after.answered_on_time) == (1, 0, 1, 0)


def test_no_cases_no_rates():
    total = figures_by([], "station", CALENDAR, AS_OF).total
    assert total.received == 0 and total.closed_rate is None and total.median_working_days is None


def test_months_are_beijing_months():
    assert Month.parse("2026-11") == Month(2026, 11) and str(Month(2026, 3)) == "2026-03"
    assert Month.of(dt.datetime(2026, 10, 31, 16, 30, tzinfo=dt.UTC)) == Month(2026, 11)  # 00:30 on 1 Nov
    assert Month(2026, 12).end == dt.datetime(2027, 1, 1, tzinfo=LOCAL)
    assert at(2026, 11, 30, 23) in Month(2026, 11) and at(2026, 12, 1) not in Month(2026, 11)
    assert Month(2026, 1).plus(-1) == Month(2025, 12) and Month(2026, 11).plus(13) == Month(2027, 12)
    assert Month(2026, 3).plus(-11) == Month(2025, 4) and Month(2026, 3).plus(0) == Month(2026, 3)
    assert len(Month(2028, 2).days()) == 29 and Month(2026, 12).days()[-1] == dt.date(2026, 12, 31)
    for wrong in ("2026-13", "2026/11", "11-2026", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            Month.parse(wrong)


@given(st.lists(st.tuples(st.integers(0, 30), st.integers(0, 5)), max_size=30))
def test_the_weighted_median_is_the_median_of_the_repeated_values(values):
    repeated = [value for value, count in values for _ in range(count)]
    expected = float(statistics.median(repeated)) if repeated else None
    assert weighted_median(values) == expected


def test_tallies_of_one_case_each_add_up_as_tallies_summed_per_day():
    """What the database returns (one tally per group, day received and day answered, summed) gives the
    figures the cases give one by one."""
    cases = records() * 3  # the same five cases three times: days shared
    one_each = [tally(r, "合计", AS_OF) for r in cases]
    summed: dict[tuple, list[int]] = defaultdict(lambda: [0] * (1 + len(COUNTS)))
    for t in one_each:
        counts = summed[(t.received_on, t.answered_on)]
        for i, value in enumerate((t.cases, *(getattr(t, name) for name in COUNTS))):
            counts[i] += value
    per_day = [
        Tally("合计", received, answered, counts[0], *counts[1:]) for (received, answered), counts in summed.items()
    ]
    assert len(per_day) < len(one_each)
    assert combine("合计", per_day, CALENDAR) == combine("合计", one_each, CALENDAR)
    assert combine("合计", per_day, CALENDAR) == replace(
        figures_by(cases, "station", CALENDAR, AS_OF).total, group="合计"
    )


def test_a_tally_of_one_case_counts_each_fact_once():
    a, b, c, d, e = (tally(r, "g", AS_OF) for r in records())
    assert astuple(a)[3:-1] == (1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0)  # cases..escalated: A did everything right
    assert (b.transferred_on_time, b.answered_on_time, b.satisfied, b.rehandled, b.escalated) == (0, 0, 0, 1, 1)
    assert (c.transfers_due, c.answers_due, c.answered_on_time, c.unrated) == (0, 1, 1, 1)
    assert (d.answered_on, d.transfers_due, d.answers_due) == (None, 1, 1)
    assert e.received_on == dt.date(2026, 10, 8) and sum(getattr(e, n) for n in COUNTS) == 0
    assert [f.name for f in fields(Tally)][3:-1] == ["cases", *COUNTS]
