"""services/reports.py: stored rows become plain casework rows; who may read the reports."""

from __future__ import annotations

import datetime as dt

import pytest

from casework.actors import Actor
from casework.cases import Role
from casework.metrics import Month
from services import reports
from storage.reports import CASE_COLUMNS, EVENT_COLUMNS, RATING_COLUMNS, REPLY_COLUMNS, CaseRow, HistoryRows

NAIVE = dt.datetime(2026, 11, 27, 2, 0)  # SQLite hands back naive UTC
AWARE = NAIVE.replace(tzinfo=dt.UTC)


def _row(columns, **values) -> tuple:
    """A stored row as the store hands it: the values of `columns`, in their order."""
    return tuple(values.get(column.key) for column in columns)


def _case(id_: int, number: str, anonymous: bool) -> tuple:
    return _row(
        CASE_COLUMNS,
        id=id_,
        number=number,
        state="closed",
        topic="城乡建设",
        description="路灯坏了",
        place="幸福路",
        anonymous=anonymous,
        contact_phone="13812348000",
        created_at=NAIVE,
        transfer_due_at=NAIVE,
        reply_due_at=NAIVE,
        closed_at=None,
        merged_into=None,
        escalation_level=None,
        named_people=[],
    )


def test_stored_rows_become_case_histories_in_utc_with_identities_only_when_not_anonymous():
    rows = HistoryRows(
        cases=[
            CaseRow(_case(1, "LL20261127001", False), "张三", "幸福街道联络站", "住建局", "wang-min", "王敏"),
            CaseRow(_case(2, "LL20261127002", True), "李四", "幸福街道联络站", None, None, None),
        ],
        events=[
            _row(
                EVENT_COLUMNS,
                id=11,
                case_id=1,
                action="register",
                actor="web:1",
                actor_role="citizen",
                from_state=None,
                to_state="received",
                reason="",
                at=NAIVE,
            ),
            _row(
                EVENT_COLUMNS,
                id=12,
                case_id=2,
                action="answer_on_spot",
                actor="wangmin",
                actor_role="deputy",
                from_state="received",
                to_state="answered_on_spot",
                reason="当场答复：已修",
                at=NAIVE,
            ),
            _row(
                EVENT_COLUMNS,
                id=13,
                case_id=1,
                action="transfer",
                actor="staff1",
                actor_role="staff",
                from_state="received",
                to_state="transferred",
                reason="",
                at=NAIVE,
            ),
        ],
        replies=[_row(REPLY_COLUMNS, case_id=1, number=1, text="已修复", created_at=NAIVE, reviewed_at=None)],
        ratings=[_row(RATING_COLUMNS, case_id=1, reply_number=1, rating="满意", comment="", at=NAIVE)],
        deputy_users={"wangmin": "wang-min"},
    )
    named, anonymous = reports.histories(rows)
    assert (named.citizen_name, named.citizen_phone) == ("张三", "13812348000")
    assert (anonymous.citizen_name, anonymous.citizen_phone) == (None, None)
    assert [e.id for e in named.events] == [11, 13] and [e.id for e in anonymous.events] == [12]
    assert anonymous.events[0].actor_deputy == "wang-min" and named.events[0].actor_deputy is None
    assert named.created_at == AWARE and named.events[0].at == AWARE and named.replies[0].approved_at == AWARE
    assert named.ratings[0].rating == "满意" and anonymous.replies == () and anonymous.ratings == ()
    assert (named.department, named.deputy_name, anonymous.department) == ("住建局", "王敏", None)


@pytest.mark.parametrize("role", [Role.DEPARTMENT, Role.DEPUTY, Role.CITIZEN])
async def test_only_staff_read_figures_and_lists_and_a_deputy_only_their_own_record(role):
    actor = Actor("someone", role, department_id=1, deputy_code="wang-min", deputy_id=1, citizen_id=1)
    month = Month(2026, 11)
    # Refused before anything is read: no session, deployment or calendar is needed.
    with pytest.raises(reports.NotAllowed):
        await reports.load_figures(None, None, None, actor, month, "department", AWARE)  # type: ignore[arg-type]
    with pytest.raises(reports.NotAllowed):
        await reports.load_list(None, None, None, actor, month, "suggestions")  # type: ignore[arg-type]
    with pytest.raises(reports.NotAllowed):
        await reports.export_lists(None, None, None, actor, month, "csv")  # type: ignore[arg-type]
    with pytest.raises(reports.NotAllowed):
        await reports.load_deputy_record(None, None, actor, "li-jianguo", 2026)  # type: ignore[arg-type]


def test_display_width_counts_chinese_characters_twice():
    assert reports.display_width("合计") == 4 and reports.display_width("50.0% (2/4)") == 11
