"""The case desk's services on both databases: the worklist's order of work computed in SQL agrees with the rule
(casework.worklist), its filters, counts, paging and search, who sees which cases, and one case's page."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest
from sqlalchemy import func, select, text

from bot.http.app import create_app
from casework.actors import Actor
from casework.cases import CaseState, Role
from casework.errors import InvalidInput
from casework.metrics import Month
from casework.worklist import Need, WorkItem, need
from services import casedesk, cases
from services.cases import CaseNotFound
from storage.models import (
    Case,
    CaseAttachment,
    CaseEvent,
    CaseReply,
    Citizen,
    Department,
    Deputy,
    DeskCount,
    Push,
    Rating,
    Station,
)
from storage.repositories import CaseStore, DirectoryStore
from tests.conftest import client_for

pytestmark = pytest.mark.integration
STAFF = Actor("desk-staff", Role.STAFF)
NOW = dt.datetime(2031, 6, 4, 3, 0, tzinfo=dt.UTC)  # a Wednesday of 2031: the run's date never matters
HOUR = dt.timedelta(hours=1)
_serial = itertools.count(1)


@pytest.fixture
async def desk(settings):
    app = create_app(settings)
    async for _ in client_for(app):
        runtime = app.state.runtime
        async with runtime.sessionmaker() as session:
            departments = await DirectoryStore(session).ids(Department)
            station = (await session.execute(select(Station.id).limit(1))).scalar_one()
            citizen = Citizen(display_name="赵六")
            session.add(citizen)
            await session.commit()
        yield runtime.sessionmaker, departments, station, citizen.id, runtime.deployment


async def add_case(db, departments, station, citizen, **fields) -> Case:
    """A case as registration leaves it, with the fields given; a transferred one has its transfer event."""
    number = f"ZZ20310604{next(_serial):03d}{uuid.uuid4().int % 1000:03d}"
    values = {
        "number": number,
        "citizen_id": citizen,
        "station_id": station,
        "department_id": departments["jianshe"],
        "state": "received",
        "topic": "城乡建设",
        "topic_confidence": 0.9,
        "description": "路灯坏了",
        "created_at": NOW - 3 * HOUR,
        "updated_at": NOW - 3 * HOUR,
        "transfer_due_at": NOW + 21 * HOUR,
        "reply_due_at": NOW + 72 * HOUR,
        "overdue_at": NOW + 120 * HOUR,
        **fields,
    }
    async with db() as session:
        case = Case(**values)
        session.add(case)
        await session.flush()
        if values["state"] != "received":
            session.add(
                CaseEvent(case_id=case.id, action="transfer", actor="x", actor_role="staff", to_state="transferred")
            )
        await session.commit()
    return case


def words(tag: str) -> str:
    return f"{tag}路灯坏了"


async def test_the_worklist_puts_what_needs_action_first_as_the_rule_says(desk):
    db, departments, station, citizen, deployment = desk
    tag = uuid.uuid4().hex[:6]
    made = {
        Need.OVERDUE: await add_case(
            db, departments, station, citizen, description=words(tag), transfer_due_at=NOW - HOUR
        ),
        Need.TRANSFER_SOON: await add_case(
            db, departments, station, citizen, description=words(tag), transfer_due_at=NOW + HOUR
        ),
        Need.REVIEW: await add_case(db, departments, station, citizen, description=words(tag), state="in_progress"),
        Need.UNSATISFIED: await add_case(db, departments, station, citizen, description=words(tag), state="rehandling"),
        Need.ESCALATED: await add_case(db, departments, station, citizen, description=words(tag), state="escalated"),
        Need.NONE: await add_case(db, departments, station, citizen, description=words(tag), state="closed"),
    }
    # Late to reply, with the department: overdue as well.
    late = await add_case(
        db, departments, station, citizen, description=words(tag), state="in_progress", reply_due_at=NOW - HOUR
    )
    async with db() as session:
        session.add(CaseReply(case_id=made[Need.REVIEW].id, text="已修复", author="jianshe", author_role="department"))
        await session.commit()
        listing = await casedesk.worklist(session, STAFF, casedesk.WorklistFilters(q=tag), NOW)
    assert listing.total == 7
    order = [row.number for row in listing.rows]
    assert order.index(made[Need.OVERDUE].number) < order.index(made[Need.TRANSFER_SOON].number)
    assert order[-1] == made[Need.NONE].number
    by_number = {row.number: row for row in listing.rows}
    for expected, case in made.items():
        row = by_number[case.number]
        assert row.need is expected
        # The database's order and the rule agree on every row.
        assert row.need is need(
            WorkItem(case.state, case.transfer_due_at, case.reply_due_at, expected is Need.REVIEW), NOW
        )
    assert by_number[late.number].need is Need.OVERDUE
    assert [r.need for r in listing.rows] == sorted(r.need for r in listing.rows)
    counts = {f.value: f.count for f in listing.facets["need"]}
    assert counts == {"overdue": 2, "transfer_soon": 1, "review": 1, "unsatisfied": 1, "escalated": 1}


async def test_filters_counts_paging_and_search(desk):
    db, departments, station, citizen, deployment = desk
    tag = uuid.uuid4().hex[:6]
    for i in range(casedesk.PAGE_SIZE + 5):
        await add_case(db, departments, station, citizen, description=f"{tag} 第{i}盏路灯不亮")
    other = await add_case(
        db,
        departments,
        station,
        citizen,
        description=f"{tag} 公交站台的顶棚漏雨",
        topic="交通运输",
        department_id=departments["jiaotong"],
        created_at=NOW - dt.timedelta(days=40),
    )
    async with db() as session:
        first = await casedesk.worklist(session, STAFF, casedesk.WorklistFilters(q=tag), NOW, sort="newest")
        second = await casedesk.worklist(session, STAFF, casedesk.WorklistFilters(q=tag), NOW, sort="newest", page=2)
        assert first.total == casedesk.PAGE_SIZE + 6 and first.pages == 2
        assert len(first.rows) == casedesk.PAGE_SIZE and len(second.rows) == 6
        assert not {r.number for r in first.rows} & {r.number for r in second.rows}
        assert second.rows[-1].number == other.number  # the oldest last
        departments_counted = {f.value: f.count for f in first.facets["department"]}
        assert departments_counted == {
            str(departments["jianshe"]): casedesk.PAGE_SIZE + 5,
            str(departments["jiaotong"]): 1,
        }

        # A department's filter keeps the other facets' counts under it, and its own facet's under the rest.
        filters = casedesk.WorklistFilters.parse({"q": tag, "department": str(departments["jiaotong"])})
        narrowed = await casedesk.worklist(session, STAFF, filters, NOW)
        assert [r.number for r in narrowed.rows] == [other.number]
        assert {f.value: f.count for f in narrowed.facets["topic"]} == {"交通运输": 1}
        assert len(narrowed.facets["department"]) == 2

        month = Month.of(other.created_at)
        by_month = casedesk.WorklistFilters(q=tag, month=month)
        assert [r.number for r in (await casedesk.worklist(session, STAFF, by_month, NOW)).rows] == [other.number]
        by_words = casedesk.WorklistFilters(q=f"{tag} 顶棚")
        assert [r.number for r in (await casedesk.worklist(session, STAFF, by_words, NOW)).rows] == [other.number]
        by_number = casedesk.WorklistFilters(q=other.number.lower())
        assert [r.number for r in (await casedesk.worklist(session, STAFF, by_number, NOW)).rows] == [other.number]
        # Wildcards typed in the search box are words, not patterns.
        assert (await casedesk.worklist(session, STAFF, casedesk.WorklistFilters(q=f"{tag}%_"), NOW)).total == 0


async def test_the_desk_opens_on_unconcluded_cases_a_state_or_search_reaches_others(desk, monkeypatch):
    db, departments, station, citizen, deployment = desk
    tag = uuid.uuid4().hex[:6]
    open_case = await add_case(db, departments, station, citizen, description=tag, state="escalated", created_at=NOW)
    await add_case(db, departments, station, citizen, description=tag, state="closed")
    closed = await add_case(db, departments, station, citizen, description=tag, state="closed", created_at=NOW)
    monkeypatch.setattr(casedesk, "COUNT_CAP", 1)
    async with db() as session:
        opening = await casedesk.worklist(session, STAFF, casedesk.WorklistFilters(), NOW, sort="newest")
        assert opening.filters.at_desk and opening.rows[0].number == open_case.number
        assert closed.number not in {r.number for r in opening.rows}
        states = {f.value: f for f in opening.facets["state"]}
        assert states["closed"] == casedesk.FacetCount("closed", "已办结", 1, capped=True)  # 2 or more, counted to 1
        assert states["escalated"].count >= 1 and not states["escalated"].capped
        by_state = casedesk.WorklistFilters.parse({"state": "closed"})
        assert (await casedesk.worklist(session, STAFF, by_state, NOW, sort="newest")).rows[0].number == closed.number
        searched = await casedesk.worklist(session, STAFF, casedesk.WorklistFilters(q=tag), NOW)
        assert closed.number in {r.number for r in searched.rows} and searched.total == 3


@pytest.mark.parametrize(
    "query",
    [{"state": "nonsense"}, {"department": "x1"}, {"month": "2031-13"}, {"topic": "不存在"}, {"need": "soon"}],
)
def test_a_bad_filter_is_refused_by_name(query):
    with pytest.raises(InvalidInput) as refused:
        casedesk.WorklistFilters.parse(query)
    assert next(iter(query)) in refused.value.message


async def test_a_department_sees_its_transferred_cases_masked_and_a_deputy_none_of_others(desk):
    db, departments, station, citizen, deployment = desk
    tag = uuid.uuid4().hex[:6]
    text = f"{tag} 我叫王小明，电话13812345678，楼道灯坏了"
    mine = await add_case(db, departments, station, citizen, description=text, state="transferred")
    not_yet = await add_case(db, departments, station, citizen, description=text)
    elsewhere = await add_case(
        db, departments, station, citizen, description=text, state="transferred", department_id=departments["jiaotong"]
    )
    department = Actor("jianshe-user", Role.DEPARTMENT, department_id=departments["jianshe"])
    async with db() as session:
        seen = await casedesk.worklist(session, department, casedesk.WorklistFilters(q=tag), NOW)
        assert [r.number for r in seen.rows] == [mine.number]
        assert "13812345678" not in seen.rows[0].summary and "王小明" not in seen.rows[0].summary
        staff_view = await casedesk.worklist(session, STAFF, casedesk.WorklistFilters(q=tag), NOW)
        assert {r.number for r in staff_view.rows} == {mine.number, not_yet.number, elsewhere.number}
        assert any("13812345678" in r.summary for r in staff_view.rows)
        deputy = Actor("deputy-user", Role.DEPUTY, deputy_id=999_999)
        assert (await casedesk.worklist(session, deputy, casedesk.WorklistFilters(q=tag), NOW)).total == 0
        with pytest.raises(CaseNotFound):
            await casedesk.case_page(session, deployment, department, elsewhere.number, NOW)


async def test_the_case_page_shows_the_timeline_and_what_the_user_may_do(desk):
    db, departments, station, citizen, deployment = desk
    case = await add_case(
        db, departments, station, citizen, description="幸福路路灯坏了", topic_confidence=0.2, state="in_progress"
    )
    async with db() as session:
        session.add(CaseReply(case_id=case.id, text="路灯已修复", author="jianshe", author_role="department"))
        await session.commit()
        page = await casedesk.case_page(session, deployment, STAFF, case.number, NOW)
    assert page.low_topic_confidence
    assert page.need is Need.REVIEW
    assert {"approve_reply", "send_back_reply", "escalate"} <= set(page.allowed)
    assert [e.kind for e in page.timeline].count("reply") == 1
    assert any(code == "jiaotong" for code, _ in page.departments)
    assert page.data["state"] == CaseState.IN_PROGRESS.value


def _expected_order(rows, now):
    """The order of work as one sort by the rule would give it: need, then reply deadline, then id."""
    return [
        number
        for *_, number in sorted(
            (need(WorkItem(state, transfer_due, reply_due, pending), now), reply_due, case_id, number)
            for case_id, number, state, transfer_due, reply_due, pending in rows
        )
    ]


@pytest.mark.parametrize("searched", [True, False], ids=["search", "opening-view"])
async def test_the_order_of_work_pages_need_by_need_as_one_sort_would(desk, monkeypatch, searched):
    db, departments, station, citizen, deployment = desk
    tag = uuid.uuid4().hex[:6]
    made = [
        dict(transfer_due_at=NOW - 2 * HOUR, reply_due_at=NOW + 50 * HOUR),
        dict(state="in_progress", reply_due_at=NOW - HOUR),
        dict(transfer_due_at=NOW + HOUR, reply_due_at=NOW + 51 * HOUR),
        dict(state="in_progress", reply_due_at=NOW + 60 * HOUR),  # a reply waits for review
        dict(state="replied", reply_due_at=NOW - 3 * HOUR),  # a reply waits for review
        dict(state="rehandling", reply_due_at=NOW + 70 * HOUR),
        dict(state="escalated", reply_due_at=NOW - 90 * HOUR),
        dict(state="escalated", reply_due_at=NOW - 80 * HOUR),
        dict(state="in_progress", reply_due_at=NOW + 30 * HOUR),
        dict(state="replied", reply_due_at=NOW + 40 * HOUR),
        dict(state="closed", reply_due_at=NOW - 100 * HOUR),
    ]
    cases = [await add_case(db, departments, station, citizen, description=words(tag), **fields) for fields in made]
    async with db() as session:
        for case in (cases[3], cases[4]):
            session.add(CaseReply(case_id=case.id, text="已修复", author="jianshe", author_role="department"))
        await session.commit()
        pending = set((await session.execute(select(CaseReply.case_id).where(CaseReply.status == "pending"))).scalars())
        query = select(Case.id, Case.number, Case.state, Case.transfer_due_at, Case.reply_due_at)
        if searched:
            query = query.where(Case.description.contains(tag))
        else:
            query = query.where(Case.state.not_in(casedesk.CONCLUDED))
        rows = [(*row, row[0] in pending) for row in (await session.execute(query)).all()]
        expected = _expected_order(rows, NOW)
        monkeypatch.setattr(casedesk, "PAGE_SIZE", 3)
        filters = casedesk.WorklistFilters(q=tag if searched else "")
        first = await casedesk.worklist(session, STAFF, filters, NOW)
        listed = [r.number for r in first.rows]
        for page in range(2, first.pages + 1):
            listed += [r.number for r in (await casedesk.worklist(session, STAFF, filters, NOW, page=page)).rows]
    assert first.total == len(expected)
    assert listed == expected
    if searched:  # the two that need nothing now and the concluded one come last
        assert set(listed[-3:]) == {c.number for c in cases[-3:]}


async def test_a_case_read_in_one_statement_agrees_with_the_rules_reads(desk):
    db, departments, station, citizen, deployment = desk
    case = await add_case(db, departments, station, citizen, description="幸福路路灯坏了", state="rehandling")
    async with db() as session:
        session.add_all(
            [
                CaseReply(
                    case_id=case.id,
                    text="第一次答复",
                    author="jianshe",
                    author_role="department",
                    status="approved",
                    number=1,
                ),
                CaseReply(case_id=case.id, text="第二次答复", author="jianshe", author_role="department"),
                Rating(case_id=case.id, reply_number=1, rating="不满意", comment="没修好"),
                CaseEvent(case_id=case.id, action="rate", actor="x", actor_role="citizen", to_state="rehandling"),
                CaseAttachment(case_id=case.id, kind="image", media_ref="photo-1"),
                CaseAttachment(case_id=case.id, kind="location", label="幸福路", latitude=30.1, longitude=120.2),
                Push(
                    dedupe_key=f"t1-{case.number}",
                    kind="reply",
                    recipient_type="citizen",
                    recipient="1",
                    case_id=case.id,
                    text="一",
                ),
                Push(
                    dedupe_key=f"t2-{case.number}",
                    kind="rating",
                    recipient_type="citizen",
                    recipient="1",
                    case_id=case.id,
                    text="二",
                ),
            ]
        )
        await session.commit()
    async with db() as session:
        record = await CaseStore(session).record(case.number.lower())
        assert record is not None and record.case.id == case.id
        # The events and attachments are joined to the case: each read once, in order, though their rows multiply.
        assert [e.action for e in record.case.events] == ["transfer", "rate"]
        assert [a.kind for a in record.case.attachments] == ["image", "location"]
        assert record.department == (await DirectoryStore(session).names(Department))[departments["jianshe"]]
        assert [r["text"] for r in record.replies] == ["第一次答复", "第二次答复"]
        assert [p["kind"] for p in record.pushes] == ["rating", "reply"]  # newest first
        assert record.followers == []
        assert cases.record_facts(record) == await cases.case_facts(CaseStore(session), record.case)
        _, data = await cases.case_detail(session, STAFF, case.number)
        assert [r["status"] for r in data["replies"]] == ["approved", "pending"]
        assert [p["kind"] for p in data["pushes"]] == ["rating", "reply"]
        assert await CaseStore(session).record("ZZ00000000000") is None
        bare = await CaseStore(session).record(case.number, children=False)
        assert bare is not None and bare.replies == [] and bare.pushes == []


async def test_the_kept_counts_give_the_facets_the_cases_counted_give(desk, monkeypatch):
    """The desk's counts kept by the triggers (DeskCount) and the need's levels counted apart agree with the cases
    counted one by one, after cases were added, moved between states, departments and deputies, and deleted."""
    db, departments, station, citizen, deployment = desk
    async with db() as session:
        deputy = next(iter((await DirectoryStore(session).ids(Deputy)).values()))
    made = [
        dict(transfer_due_at=NOW - 2 * HOUR),
        dict(transfer_due_at=NOW + HOUR, deputy_id=deputy),
        dict(state="transferred", reply_due_at=NOW - HOUR, department_id=departments["jiaotong"]),
        dict(state="in_progress", reply_due_at=NOW + 60 * HOUR),
        dict(state="in_progress", reply_due_at=NOW + 60 * HOUR, topic="交通运输"),
        dict(state="rehandling", reply_due_at=NOW + 70 * HOUR, deputy_id=deputy),
        dict(state="rehandling", reply_due_at=NOW - 70 * HOUR),
        dict(state="escalated", reply_due_at=NOW - 90 * HOUR),
        dict(state="escalated", reply_due_at=NOW - 90 * HOUR, department_id=None),
        dict(state="replied", reply_due_at=NOW - 3 * HOUR),
        dict(state="answered_on_spot"),
        dict(state="closed"),
    ]
    made_cases = [await add_case(db, departments, station, citizen, **fields) for fields in made]
    async with db() as session:
        for case in (made_cases[3], made_cases[6], made_cases[7], made_cases[9]):  # replies waiting for review
            session.add(CaseReply(case_id=case.id, text="已修复", author="jianshe", author_role="department"))
        moved = await session.get(Case, made_cases[4].id)
        moved.state, moved.department_id = "closed", departments["jiaotong"]
        reopened = await session.get(Case, made_cases[11].id)
        reopened.state, reopened.deputy_id = "rehandling", deputy
        transferred = await session.get(Case, made_cases[0].id)
        transferred.state, transferred.department_id = "transferred", departments["jiaotong"]
        await session.delete(await session.get(Case, made_cases[1].id))
        await session.commit()
    views = [
        casedesk.WorklistFilters(),
        casedesk.WorklistFilters(department=departments["jianshe"]),
        casedesk.WorklistFilters(state="escalated"),
        casedesk.WorklistFilters(state="rehandling", deputy=deputy),
        casedesk.WorklistFilters(topic="城乡建设", station=station),
        casedesk.WorklistFilters(department=0),
    ]
    async with db() as session:
        kept = [await casedesk.worklist(session, STAFF, view, NOW) for view in views]
        open_cases = select(func.count()).select_from(Case).where(Case.state.not_in(casedesk.CONCLUDED))
        assert (await session.execute(select(func.sum(DeskCount.cases)))).scalar_one() == (
            await session.execute(open_cases)
        ).scalar_one()
    monkeypatch.setattr(casedesk, "_kept_answers", lambda actor, filters: False)
    async with db() as session:
        counted = [await casedesk.worklist(session, STAFF, view, NOW) for view in views]
    for view, from_kept, from_cases in zip(views, kept, counted, strict=True):
        assert (from_kept.total, from_kept.facets) == (from_cases.total, from_cases.facets), view
        assert [r.number for r in from_kept.rows] == [r.number for r in from_cases.rows], view


async def test_an_update_that_keeps_a_case_in_its_row_of_counts_writes_no_count(desk):
    """Most updates of a case (a reply noted, a deadline moved: compare_and_set sets the state to what it was)
    leave its row of counts alone: nothing written, no lock taken on the row its peers share."""
    db, departments, station, citizen, deployment = desk
    case = await add_case(db, departments, station, citizen, state="in_progress", reply_due_at=NOW + HOUR)
    keep = text("UPDATE cases SET state = state, reply_due_at = reply_due_at WHERE id = :id")
    async with db() as session:
        if session.bind.dialect.name == "postgresql":
            # The row's xmin is the transaction that last wrote it.
            written = text("SELECT xmin::text FROM desk_counts WHERE state = 'in_progress' ORDER BY xmin::text")
            before = (await session.execute(written)).scalars().all()
            await session.execute(keep, {"id": case.id})
            await session.commit()
            assert (await session.execute(written)).scalars().all() == before
        else:
            # SQLite counts the rows every statement of the connection wrote, its triggers' included.
            changes = text("SELECT total_changes()")
            before = (await session.execute(changes)).scalar_one()
            await session.execute(keep, {"id": case.id})
            assert (await session.execute(changes)).scalar_one() == before + 1
            await session.commit()
