"""The three public lists and the masking of identities in them."""

from __future__ import annotations

from dataclasses import replace

from casework.lists import (
    LISTED_EVENTS,
    AssignmentRow,
    assignment_list,
    listed_case,
    month_lists,
    result_list,
    suggestion_list,
)
from casework.metrics import RECORD_EVENTS, Month, case_record
from tests.unit.casework.test_metrics import CALENDAR, national_day_cases

SEPTEMBER, OCTOBER = Month(2026, 9), Month(2026, 10)


def test_the_suggestion_list_masks_whoever_reported():
    suggestions = suggestion_list(SEPTEMBER, national_day_cases())
    assert [row.number for row in suggestions.rows] == [
        "LL20260929001",
        "LL20260930002",
        "LL20260930001",
        "LL20260930003",
    ]  # E was received in October
    a = suggestions.rows[2]
    assert (a.citizen, a.phone, a.received_on, a.deputy, a.state) == (
        "张*",
        "138****8000",
        "2026-09-30",
        "李建国",
        "已办结",
    )
    assert a.summary == "幸福路路灯坏了，张*的电话138****8000"
    assert a.place == "幸福路"  # 幸福路18号, cut to the street
    b = suggestions.rows[0]
    assert (b.citizen, b.phone) == ("匿名", "")
    assert suggestions.title == "代表建议清单"
    assert suggestions.table()[0] == [
        "案件编号",
        "受理日期",
        "类别",
        "反映人",
        "联系电话",
        "问题摘要",
        "地点",
        "跟进代表",
        "当前状态",
    ]


def test_the_assignment_list_has_the_transfers_of_the_month_and_the_first_deadline():
    assignments = assignment_list(SEPTEMBER, national_day_cases(), CALENDAR, 3)
    assert assignments.rows == (
        AssignmentRow(
            "LL20260929001",
            "2026-09-30",
            "城乡建设",
            "路灯坏了",
            "幸福路",  # 幸福路18号 at street level
            "区住房和城乡建设局",
            "2026-10-09",
            "已升级",
        ),
        AssignmentRow(
            "LL20260930001",
            "2026-09-30",
            "城乡建设",
            "幸福路路灯坏了，张*的电话138****8000",
            "幸福路",  # 幸福路18号 at street level
            "区住房和城乡建设局",
            "2026-10-10",
            "已办结",
        ),
    )
    assert assignment_list(OCTOBER, national_day_cases(), CALENDAR, 3).rows == ()


def test_the_result_list_has_the_cases_ended_in_the_month_with_answer_and_rating():
    results = {row.number: row for row in result_list(OCTOBER, national_day_cases(), CALENDAR, 3).rows}
    assert set(results) == {"LL20260930001", "LL20260929001", "LL20260930002"}  # not the withdrawn one
    a, b, c = results["LL20260930001"], results["LL20260929001"], results["LL20260930002"]
    assert (a.handled_by, a.answer, a.working_days, a.on_time, a.rating, a.result, a.ended_on) == (
        "区住房和城乡建设局",
        "幸福路三盏路灯已于10月9日修复。",
        2,
        "是",
        "满意",
        "已办结",
        "2026-10-10",
    )
    assert (b.answer, b.working_days, b.on_time, b.rating, b.result) == (
        "已再次协调。",
        5,
        "否",
        "不满意",
        "已升级至区县人大",
    )
    assert (c.handled_by, c.answer, c.working_days, c.rating) == (
        "人大代表当场答复",
        "公交站台顶棚本周内修复。",
        0,
        "逾期未评价",
    )
    as_json = result_list(OCTOBER, national_day_cases(), CALENDAR, 3).as_dict()
    assert as_json["title"] == "办理效果清单" and as_json["month"] == "2026-10"
    assert as_json["columns"][0] == {"key": "number", "header": "案件编号"} and len(as_json["rows"]) == 3


def test_no_list_shows_an_address_below_the_street():
    a = replace(
        national_day_cases()[0],
        description="我叫赵丽华，住锦绣花园5号楼302，身份证110101199003071234，电话0571-88881234，楼道灯坏了",
        place="锦绣花园5号楼302室",
        named_people=("赵丽华",),
    )
    suggestions = suggestion_list(SEPTEMBER, [a])
    row = suggestions.rows[0]
    assert row.place == "锦绣花园"
    assert row.summary == "我叫赵**，住锦绣花园*号楼*，身份证110101********1234，电话0571-****1234，楼道灯坏了"
    results = result_list(OCTOBER, [a], CALENDAR, 3)
    assert results.rows[0].summary == row.summary


def test_the_three_lists_of_a_month_at_once_are_the_lists_one_by_one():
    cases = national_day_cases()
    for month in (SEPTEMBER, OCTOBER):
        assert month_lists(month, cases, CALENDAR, 3) == (
            suggestion_list(month, cases),
            assignment_list(month, cases, CALENDAR, 3),
            result_list(month, cases, CALENDAR, 3),
        )


def test_the_lists_read_no_event_but_the_listed_ones():
    cases = national_day_cases()
    assert any(e not in LISTED_EVENTS for h in cases for e in h.events)
    listed = [replace(h, events=tuple(e for e in h.events if e in LISTED_EVENTS)) for h in cases]
    assert [listed_case(h) for h in listed] == [listed_case(h) for h in cases]
    for month in (SEPTEMBER, OCTOBER):
        assert month_lists(month, listed, CALENDAR, 3) == month_lists(month, cases, CALENDAR, 3)


def test_the_records_read_no_event_but_the_recorded_ones():
    cases = national_day_cases()
    assert any(e not in RECORD_EVENTS for h in cases for e in h.events)
    recorded = [replace(h, events=tuple(e for e in h.events if e in RECORD_EVENTS)) for h in cases]
    assert [case_record(h, CALENDAR, 3) for h in recorded] == [case_record(h, CALENDAR, 3) for h in cases]
