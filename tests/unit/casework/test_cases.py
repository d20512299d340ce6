import datetime as dt

import pytest

from casework.cases import (
    CaseState,
    Report,
    Role,
    Source,
    find_case_numbers,
    format_case_number,
    online_intake,
    reception_intake,
    register,
    split_intake,
)
from casework.deadlines import LOCAL, case_deadlines
from casework.handoff import human_answer_by
from casework.routing import route
from casework.workdays import WorkingCalendar
from settings import load_deployment
from tests.conftest import ROOT


def test_case_numbers_are_readable_and_found_in_messages():
    number = format_case_number("LL", dt.date(2026, 11, 22), 7)
    assert number == "LL20261122007"
    assert find_case_numbers("请问 ll20261122007 和LL20261122123处理得怎样", "LL") == ["LL20261122007", "LL20261122123"]
    assert find_case_numbers("电话13800001111", "LL") == []
    assert format_case_number("LL", dt.date(2026, 11, 22), 1234) == "LL202611221234"


def test_deadlines_count_working_days_after_the_day_received():
    received = dt.datetime(2026, 9, 30, 16, 0, tzinfo=LOCAL)
    deadlines = case_deadlines(
        received, WorkingCalendar(), transfer_hours=24, reply_working_days=3, overdue_working_days=5
    )
    assert deadlines.transfer_due_at == dt.datetime(2026, 10, 1, 16, 0, tzinfo=LOCAL)
    assert deadlines.reply_due_at.date() == dt.date(2026, 10, 10)
    assert deadlines.overdue_at.date() == dt.date(2026, 10, 13)


def test_registering_produces_a_received_case_routed_by_topic():
    deployment = load_deployment(ROOT / "config.yml")
    report = Report(
        description="路灯坏了",
        place="幸福路",
        topic="城乡建设",
        topic_confidence=0.8,
        anonymous=False,
        contact_consent=False,
        contact_phone=None,
    )
    department = route(report.topic, deployment)
    deadlines = case_deadlines(
        dt.datetime(2026, 11, 23, 10, tzinfo=LOCAL),
        WorkingCalendar(),
        transfer_hours=24,
        reply_working_days=3,
        overdue_working_days=5,
    )
    registration = register(report, department.code, deadlines)
    assert registration.state is CaseState.RECEIVED
    assert registration.department_code == "jianshe"
    assert route("不存在的类别", deployment).code == "jiedao"
    with pytest.raises(ValueError):
        register(Report("  ", "", "其他", 0.0, False, False, None), "jiedao", deadlines)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (dt.datetime(2026, 11, 23, 10, 0), dt.datetime(2026, 11, 23, 12, 0)),  # Monday morning: within 2 h
        (dt.datetime(2026, 11, 23, 16, 0), dt.datetime(2026, 11, 24, 12, 0)),  # too late today: next noon
        (dt.datetime(2026, 11, 21, 10, 0), dt.datetime(2026, 11, 23, 12, 0)),  # Saturday: Monday noon
        (dt.datetime(2026, 11, 23, 7, 0), dt.datetime(2026, 11, 23, 12, 0)),  # before opening: noon today
        (dt.datetime(2026, 9, 30, 18, 0), dt.datetime(2026, 10, 8, 12, 0)),  # before National Day
    ],
)
def test_a_person_answers_within_office_hours(now, expected):
    answer_by = human_answer_by(now.replace(tzinfo=LOCAL), WorkingCalendar())
    assert answer_by == expected.replace(tzinfo=LOCAL)


def test_how_a_case_came_in_is_recorded_with_its_registration():
    deadlines = case_deadlines(
        dt.datetime(2026, 11, 23, 10, tzinfo=LOCAL),
        WorkingCalendar(),
        transfer_hours=24,
        reply_working_days=3,
        overdue_working_days=5,
    )
    report = Report("路灯坏了", "", "城乡建设", 1.0, False, True, "13812345678", deputy_code="wang-min")
    online = register(report, "jianshe", deadlines, online_intake("wechat:o1", "城乡建设"))
    assert (online.source, online.event_actor, online.event_role) == (Source.ONLINE, "wechat:o1", Role.CITIZEN)
    assert online.event_reason == "群众在线反映，预测类别：城乡建设"

    by_deputy = reception_intake("wangmin", "wang-min", "王敏", "YY20261123001", "城乡建设")
    at_reception = register(report, "jianshe", deadlines, by_deputy)
    assert (at_reception.source, at_reception.event_actor, at_reception.event_role) == (
        Source.RECEPTION,
        "wangmin",
        Role.DEPUTY,
    )
    assert at_reception.event_reason == "王敏代表接待群众时登记（预约号 YY20261123001），类别：城乡建设"
    assert by_deputy.detail == {"booking": "YY20261123001", "deputy": "wang-min"}
    for_them = reception_intake("wangmin", "wang-min", "王敏", "YY20261123001", "城乡建设", recorded_by="staff1")
    assert for_them.reason.endswith("（staff1 代为录入）") and for_them.detail["recorded_by"] == "staff1"

    part = split_intake("staff1", Role.STAFF, "LL20261122001", "交通运输")
    assert (part.source, part.reason, part.detail) == (
        Source.SPLIT,
        "由案件 LL20261122001 拆分登记，类别：交通运输",
        {"split_from": "LL20261122001"},
    )
