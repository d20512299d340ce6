"""The console's figures and the public lists on both databases, on synthetic cases written straight into the
store (bench/casegen.py: cases walked through the loop by its rules):

- the figures the database counts (services/figures.py, one GROUP BY) are the figures casework counts from
  every case's history (services/reports.py load_figures), for every grouping, month and moment;
- a department counts its own cases only, a deputy none; the Excel workbook holds the same numbers;
- only published months reach the public, a page at a time, and nothing on a public page or in its download
  shows a name, a phone number, an ID number or an address below the street.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import os
import random
import string
import uuid
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest
from alembic import command
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench import casegen
from bot.runtime import mirror_directory
from casework.actors import Actor
from casework.cases import Report, Role
from casework.deadlines import LOCAL
from casework.lifecycle import Action, Command
from casework.lists import RESULT_STATES, ListedCase, listed_case
from casework.metrics import Month, case_record, figures_by
from casework.workdays import WorkingCalendar
from services import cases, deputies, figures, publication, reports
from services.figures import NotAllowed
from services.publication import MayNotPublish, NotPublished
from services.reports import LIST_KINDS
from settings import TOPICS, Deployment, load_deployment
from storage import reports as storage_reports
from storage.db import alembic_config, make_engine, make_sessionmaker, upgrade
from storage.models import Case, Department, Deputy, Station, User
from storage.reports import ReportStore
from storage.repositories import ConversationStore, Party
from tests.conftest import DATABASES, ROOT, drop_postgres, fresh_postgres
from texts import staff as staff_texts

pytestmark = pytest.mark.integration
FIGURES_DB = f"liaison_figures_test_{os.getpid()}"
STAFF = Actor("staff-figures", Role.STAFF)
AUGUST, SEPTEMBER, OCTOBER = Month(2026, 8), Month(2026, 9), Month(2026, 10)
# The cases stop where they were at noon on 20 October (Beijing); the figures are counted then and later.
GENERATED = dt.datetime(2026, 10, 20, 12, tzinfo=LOCAL)
MOMENTS = (GENERATED, dt.datetime(2026, 12, 20, 12, tzinfo=LOCAL))


@dataclass
class Store:
    session: async_sessionmaker[AsyncSession]
    deployment: Deployment
    calendar: WorkingCalendar
    url: str


def _prefix() -> str:
    return "".join(random.choices(string.ascii_uppercase, k=3))


@pytest.fixture(params=DATABASES)
async def store(request: pytest.FixtureRequest, tmp_path: Path):
    """An empty case store with the deployment's directory and a second station."""
    if request.param == "postgres":
        url = fresh_postgres(FIGURES_DB)
        engine = make_engine(url)
    else:
        url = f"sqlite:///{tmp_path / 'figures.db'}"
        upgrade(url)
        engine = make_engine(url.replace("sqlite://", "sqlite+aiosqlite://", 1))
    deployment = load_deployment(ROOT / "config.yml")
    db = make_sessionmaker(engine)
    await mirror_directory(db, deployment)
    async with db() as session:
        session.add(Station(code="east", name="东区人大代表联络站", address="东区", hours="", phone=""))
        await session.commit()
    try:
        yield Store(db, deployment, WorkingCalendar.configured(deployment.calendar), url)
    finally:
        await engine.dispose()
        if request.param == "postgres":
            drop_postgres(FIGURES_DB)


async def seed(
    store: Store, count: int, start: dt.datetime, end: dt.datetime, as_of: dt.datetime, seed: int
) -> list[casegen.Synthetic]:
    async with store.session() as session:
        found = await casegen.directory(session)
        made = casegen.generate(count, start, end, as_of, found, store.calendar, seed=seed, prefix=_prefix())
        await casegen.write(session, made)
        await session.commit()
    return made


def _rows(report) -> list[dict]:
    return [f.as_dict() for f in report.groups] + [report.total.as_dict()]


async def test_the_database_counts_what_casework_counts_from_every_history(store):
    made = await seed(store, 500, AUGUST.start, OCTOBER.end, GENERATED, seed=7)
    assert {c.state for c in made} >= {"received", "in_progress", "replied", "closed", "escalated", "rehandling"}
    async with store.session() as session:
        for as_of in MOMENTS:
            for month in (AUGUST, SEPTEMBER, OCTOBER):
                for by in ("department", "station", "deputy", "month"):
                    counted = await figures.month_figures(
                        session, store.deployment, store.calendar, STAFF, month, by, as_of
                    )
                    expected = await reports.load_figures(
                        session, store.deployment, store.calendar, STAFF, month, by, as_of
                    )
                    assert _rows(counted) == _rows(expected), (month, by, as_of)
                    if by != "month":
                        assert all(f.key for f in counted.groups if not f.group.startswith("（"))
        totals = {
            m: (await reports.load_figures(session, store.deployment, store.calendar, STAFF, m, "station", MOMENTS[1]))
            for m in (AUGUST, SEPTEMBER, OCTOBER)
        }
        trend = await figures.trend(session, store.deployment, store.calendar, STAFF, OCTOBER, MOMENTS[1])
    assert [f.key for f in trend] == [str(OCTOBER.plus(n)) for n in range(-11, 1)]
    assert [f.group for f in trend][-3:] == ["2026年8月", "2026年9月", "2026年10月"]
    for f, month in zip(trend[-3:], (AUGUST, SEPTEMBER, OCTOBER), strict=True):
        assert {**f.as_dict(), "group": ""} == {**totals[month].total.as_dict(), "group": ""}
    assert all(f.received == 0 and f.closed_rate is None for f in trend[:-3])
    assert sum(f.received for f in trend) == 500
    by_station = {f.group for f in totals[SEPTEMBER].groups}
    assert by_station == {"东区人大代表联络站", store.deployment.stations[0].name}


async def test_a_department_counts_its_own_cases_and_a_deputy_none(store):
    await seed(store, 300, SEPTEMBER.start, SEPTEMBER.end, GENERATED, seed=11)
    async with store.session() as session:
        departments = dict((await session.execute(select(Department.name, Department.id))).all())
        name, department_id = next(iter(sorted(departments.items())))
        department = Actor("dept-figures", Role.DEPARTMENT, department_id=department_id)
        counted = await figures.month_figures(
            session, store.deployment, store.calendar, department, SEPTEMBER, "department", MOMENTS[1]
        )
        everything = reports.histories(await ReportStore(session).received_between(SEPTEMBER.start, SEPTEMBER.end))
        # What a department sees: its own cases once transferred to it (services/access.py).
        theirs = [h for h in everything if h.department == name and any(e.action == "transfer" for e in h.events)]
        records = [case_record(h, store.calendar, store.deployment.deadlines.reply_working_days) for h in theirs]
        expected = figures_by(records, "department", store.calendar, MOMENTS[1])
        assert theirs and len(theirs) < len([h for h in everything if h.department == name])
        assert _rows(counted) == _rows(expected)
        assert [f.key for f in counted.groups] == [str(department_id)]
        deputy = Actor("deputy-figures", Role.DEPUTY, deputy_id=1, deputy_code="wang-min")
        with pytest.raises(NotAllowed):
            await figures.figures_page(
                session, store.deployment, store.calendar, deputy, SEPTEMBER, "department", MOMENTS[1]
            )


async def test_the_figures_page_and_its_workbook_hold_the_same_numbers(store):
    await seed(store, 200, AUGUST.start, OCTOBER.end, GENERATED, seed=5)
    async with store.session() as session:
        page = await figures.figures_page(
            session, store.deployment, store.calendar, STAFF, SEPTEMBER, "deputy", MOMENTS[0]
        )
        alone = await figures.month_figures(
            session, store.deployment, store.calendar, STAFF, SEPTEMBER, "deputy", MOMENTS[0]
        )
        export = await figures.export_figures(session, store.deployment, store.calendar, STAFF, SEPTEMBER, MOMENTS[0])
    assert _rows(page.report) == _rows(alone)
    assert [f.key for f in page.trend][-2:] == ["2026-08", "2026-09"] and page.trend[
        -1
    ].received == alone.total.received
    book = openpyxl.load_workbook(io.BytesIO(export.content))
    assert book.sheetnames == ["按承办部门", "按联络站", "按跟进代表", "近12个月"]
    sheet = [list(row) for row in book["按跟进代表"].iter_rows(values_only=True)]
    assert sheet[0][0].startswith("2026年9月受理案件（按跟进代表）")
    assert sheet[1] == list(staff_texts.FIGURE_HEADERS.values())
    assert sheet[-1] == list(alone.total.as_dict().values())
    assert [row[0] for row in sheet[2:-1]] == [f.group for f in alone.groups]
    months = [list(row) for row in book["近12个月"].iter_rows(values_only=True)][2:]
    assert len(months) == 12 and months[-1][0] == "2026年9月" and months[-1][1] == alone.total.received
    assert export.name == "figures-2026-09.xlsx"


# The milestones on the case rows


async def _stored_and_derived(store: Store, numbers: list[str] | None = None) -> tuple[list[tuple], list[tuple]]:
    """Each case's milestones and latest rating as its row holds them, and as casework derives them from its
    events and ratings (`case_record`), in the same order."""
    async with store.session() as session:
        query = select(Case).order_by(Case.id)
        found = (await session.execute(query if numbers is None else query.where(Case.number.in_(numbers)))).scalars()
        rows = {c.number: c for c in found}
        histories = reports.histories(await ReportStore(session).of_cases([c.id for c in rows.values()]))
    days = store.deployment.deadlines.reply_working_days
    stored, derived = [], []
    for history in histories:
        row, record = rows[history.number], case_record(history, store.calendar, days)
        stored.append(
            (
                history.number,
                row.transferred_at,
                row.left_received_at,
                row.answered_at,
                row.closed_unrated,
                row.rehandled,
                row.escalated,
                row.latest_rating,
            )
        )
        derived.append(
            (
                history.number,
                record.transferred_at,
                record.left_received_at,
                record.answered_at,
                record.closed_unrated,
                record.rehandled,
                record.escalated,
                record.ratings[-1] if record.ratings else None,
            )
        )
    return stored, derived


async def test_the_services_keep_on_each_case_the_milestones_casework_derives_from_its_history(store):
    """Every road that writes a case's events (registration, each action, a merge, a deputy following and
    contacting) keeps its row's milestones and latest rating equal to what `case_record` reads of them."""
    monday = dt.datetime(2026, 9, 7, 9, tzinfo=LOCAL)
    staff, reviewer = Actor("staff-milestones", Role.STAFF), Actor("staff-milestones-2", Role.STAFF)
    system = Actor("system", Role.SYSTEM)
    async with store.session() as session:
        deputy_id, deputy_code = (await session.execute(select(Deputy.id, Deputy.code).limit(1))).one()
        deputy_user = User(
            name=f"deputy-milestones-{_prefix()}", role="deputy", token_hash=uuid.uuid4().hex, deputy_id=deputy_id
        )
        session.add(deputy_user)
        await session.commit()
    numbers: dict[str, str] = {}
    parties: dict[str, Party] = {}
    for n, name in enumerate(("escalated", "on_the_spot", "rejected", "unrated", "merged", "followed")):
        async with store.session() as session:
            party = await ConversationStore(session).identify("web", f"web-milestones-{_prefix()}-{n}")
            report = Report(f"幸福路第{n}盏路灯坏了", "幸福路", TOPICS[0], 0.9, False, False, None, deputy_code=None)
            case, _ = await cases.register_report(
                session, store.deployment, store.calendar, party, report, monday + dt.timedelta(minutes=n)
            )
            await session.commit()
        numbers[name], parties[name] = case.number, party
    moment = iter(monday + dt.timedelta(hours=hours) for hours in range(1, 200))

    async def act(name: str, actor: Actor, action: Action, **fields) -> None:
        if actor.role is Role.DEPARTMENT or action is Action.ACKNOWLEDGE:
            async with store.session() as session:
                department_id = (
                    await session.execute(select(Case.department_id).where(Case.number == numbers[name]))
                ).scalar_one()
            actor = Actor("dept-milestones", Role.DEPARTMENT, department_id=department_id)
        if actor.role is Role.CITIZEN:
            actor = Actor("citizen", Role.CITIZEN, citizen_id=parties[name].citizen_id)
        async with store.session() as session:
            await cases.perform(
                session,
                store.deployment,
                store.calendar,
                numbers[name],
                actor,
                Command(action, actor.role, actor.name, **fields),
                next(moment),
            )

    citizen = Actor("citizen", Role.CITIZEN)
    reply = [(staff, Action.RECORD_REPLY, {"reason": "已安排维修。"}), (reviewer, Action.APPROVE_REPLY, {})]
    handled = [(staff, Action.TRANSFER, {}), (staff, Action.ACKNOWLEDGE, {}), *reply]
    steps = {
        "escalated": [
            *handled,
            (citizen, Action.RATE, {"rating": "不满意", "reason": "还没修好"}),
            *reply,
            (citizen, Action.RATE, {"rating": "不满意", "reason": "还是没修好"}),
        ],
        "on_the_spot": [
            (staff, Action.ANSWER_ON_SPOT, {"answer": "已修复。"}),
            (citizen, Action.RATE, {"rating": "满意"}),
        ],
        "rejected": [(staff, Action.REJECT, {"reason": "不属于受理范围"})],
        "unrated": [*handled, (system, Action.CLOSE_UNRATED, {})],
        "merged": [(staff, Action.MERGE, {"merged_into": numbers["followed"], "reason": "重复"})],
    }
    for name, walk in steps.items():
        for actor, action, fields in walk:
            await act(name, actor, action, **fields)
    async with store.session() as session:
        user = await session.get(User, deputy_user.id)
        await deputies.take_up(session, user, numbers["followed"], next(moment))
        await deputies.note_contact(session, user, numbers["followed"], "已电话联系", next(moment))
        await session.commit()

    stored, derived = await _stored_and_derived(store, list(numbers.values()))
    assert stored == derived
    settled = {
        field: [row[0] for row in stored if row[position] not in (None, False)]
        for position, field in enumerate(
            ("transferred", "left", "answered", "unrated", "rehandled", "escalated", "rating"), 1
        )
    }
    assert settled == {
        "transferred": [numbers["escalated"], numbers["unrated"]],
        "left": [numbers[n] for n in ("escalated", "on_the_spot", "rejected", "unrated", "merged")],
        "answered": [numbers["escalated"], numbers["on_the_spot"], numbers["unrated"]],
        "unrated": [numbers["unrated"]],
        "rehandled": [numbers["escalated"]],
        "escalated": [numbers["escalated"]],
        "rating": [numbers["escalated"], numbers["on_the_spot"]],
    }


async def test_the_milestones_migration_fills_what_casework_derives_from_the_stored_events(store):
    await seed(store, 300, AUGUST.start, OCTOBER.end, GENERATED, seed=13)
    # The migration's columns dropped and made again, filled from the events and ratings stored.
    await asyncio.to_thread(command.downgrade, alembic_config(store.url), "-1")
    await asyncio.to_thread(command.upgrade, alembic_config(store.url), "head")
    stored, derived = await _stored_and_derived(store)
    assert len(stored) == 300 and stored == derived


# The public lists

SECRET_NAMES = ["欧阳娜娜", "司马相如", "赵丽华"]
SECRETS = ["欧阳娜娜", "司马相如", "赵丽华", "13812345678", "138-1234-5678", "330106199001011234", "0571-88881234"]
ADDRESS_PARTS = ["88号", "3栋", "2单元", "501室", "5号楼", "1202"]


def _private(cases: list[casegen.Synthetic]) -> None:
    """Identities and full addresses in the texts of the first cases, as citizens write them."""
    texts = [
        (
            "我叫欧阳娜娜，住幸福路88号阳光小区3栋2单元501室，电话13812345678，身份证330106199001011234，楼道灯坏了",
            "幸福路88号阳光小区3栋2单元501室",
        ),
        ("司马相如反映：锦绣花园5号楼1202楼上漏水，联系138-1234-5678", "锦绣花园5号楼1202"),
        ("赵丽华家门口的下水道堵了，座机0571-88881234", "建设路东段3栋"),
    ]
    for case, (description, place) in zip(cases, texts, strict=False):
        case.description = description
        case.place = place
        case.contact_phone = "13812345678"
        case.named_people = ["欧阳娜娜"]


async def test_only_published_months_reach_the_public_and_never_unmasked(store):
    start = SEPTEMBER.start
    async with store.session() as session:
        found = await casegen.directory(session)
        made = casegen.generate(70, start, SEPTEMBER.end, MOMENTS[1], found, store.calendar, seed=3, prefix=_prefix())
        _private(made)
        await casegen.write(session, made, names=SECRET_NAMES)
        await session.commit()
    department = Actor("dept-publish", Role.DEPARTMENT, department_id=1)
    now = MOMENTS[1]
    async with store.session() as session:
        with pytest.raises(NotPublished, match="2026年9月的清单尚未公布"):
            await publication.public_month(session, store.deployment, store.calendar, SEPTEMBER, "suggestions", 1, now)
        with pytest.raises(NotPublished):
            await publication.public_workbook(session, store.deployment, store.calendar, SEPTEMBER)
        preview = await publication.preview_month(
            session, store.deployment, store.calendar, STAFF, SEPTEMBER, "suggestions", 1, now
        )
        assert preview.published is None and preview.counts["suggestions"] == 70
        with pytest.raises(MayNotPublish):
            await publication.publish(session, department, SEPTEMBER, now)
        assert await publication.publish(session, STAFF, SEPTEMBER, now)
        assert not await publication.publish(session, STAFF, SEPTEMBER, now)

    async with store.session() as session:
        assert [p.month for p in await publication.published_months(session)] == [SEPTEMBER]
        offered = {m.month: m for m in await publication.publication_months(session, STAFF, OCTOBER)}
        assert offered[SEPTEMBER].received == 70 and offered[SEPTEMBER].published.published_by == STAFF.name
        assert list(offered) == [SEPTEMBER], "months without cases are not offered"
        shown = []
        for kind in publication.LIST_KINDS:
            view = await publication.public_month(session, store.deployment, store.calendar, SEPTEMBER, kind, 1, now)
            total = view.counts[kind]
            rows = list(view.shown.rows.records())
            if view.shown.pages > 1:
                second = await publication.public_month(
                    session, store.deployment, store.calendar, SEPTEMBER, kind, 2, now
                )
                rows += second.shown.rows.records()
                assert second.shown.page == 2 and len(second.shown.rows.rows) == total - publication.PAGE_SIZE
            assert len(rows) == total, kind
            shown += rows
        whole = await publication.public_workbook(session, store.deployment, store.calendar, SEPTEMBER)
    assert view.headline.received == 70 and view.published.month == SEPTEMBER
    numbers = [r["number"] for r in shown[:70]]
    assert numbers == sorted(numbers), "the 代表建议清单 in the order received"
    book = openpyxl.load_workbook(io.BytesIO(whole.content))
    cells = [[c for c in row] for name in book.sheetnames for row in book[name].iter_rows(values_only=True)]
    everything = json.dumps([shown, cells], ensure_ascii=False, default=str)
    for secret in SECRETS + ADDRESS_PARTS:
        assert secret not in everything, secret
    first = next(r for r in shown if r["number"] == made[0].number)
    assert first["citizen"] == "欧***" and first["phone"] == "138****5678" and first["place"] == "幸福路"
    assert first["summary"].startswith(
        "我叫欧***，住幸福路*号阳光小区*栋*单元*室，电话138****5678，身份证330106********1234"
    )
    assert next(r for r in shown if r["number"] == made[1].number)["place"] == "锦绣花园"

    async with store.session() as session:
        assert await publication.withdraw(session, STAFF, SEPTEMBER)
        assert not await publication.withdraw(session, STAFF, SEPTEMBER)
        with pytest.raises(NotPublished):
            await publication.public_month(session, store.deployment, store.calendar, SEPTEMBER, "results", 1, now)
        assert await publication.published_months(session) == []


async def test_the_lists_of_a_month_read_at_once_in_batches_are_the_lists_read_one_by_one(store, monkeypatch):
    await seed(store, 200, AUGUST.start, OCTOBER.end, GENERATED, seed=13)
    async with store.session() as session:
        one_by_one = tuple(
            [await reports.month_list(session, store.deployment, store.calendar, SEPTEMBER, k) for k in LIST_KINDS]
        )
        monkeypatch.setattr(storage_reports, "BATCH", 7)  # many batches, one of them short
        at_once = await reports.month_lists(session, store.deployment, store.calendar, SEPTEMBER)
    assert at_once == one_by_one
    assert all(public_list.rows for public_list in at_once)


async def test_the_store_reads_each_listed_case_as_the_lists_read_its_history(store):
    async with store.session() as session:
        found = await casegen.directory(session)
        made = casegen.generate(
            300, AUGUST.start, OCTOBER.end, GENERATED, found, store.calendar, seed=17, prefix=_prefix()
        )
        _private(made)
        await casegen.write(session, made, names=SECRET_NAMES)
        # What the walk never does: a case reported anonymously, one merged into another.
        await session.execute(update(Case).where(Case.number == made[5].number).values(anonymous=True))
        await session.execute(update(Case).where(Case.number == made[6].number).values(merged_into=made[7].number))
        await session.commit()
    assert {c.state for c in made} >= {"received", "rehandling", "escalated", "closed"}
    everyone: list[ListedCase] = []
    async with store.session() as session:
        reads = ReportStore(session)
        for month in (AUGUST, SEPTEMBER, OCTOBER):
            rows = await reads.listed_between(month.start, month.end, RESULT_STATES, reports.LIST_RULES)
            read = sorted(reports.listed_cases(rows), key=lambda c: c.number)
            histories = {
                h.number: h
                for found in (
                    await reads.received_between(month.start, month.end),
                    await reads.transferred_between(month.start, month.end),
                    await reads.ended_between(month.start, month.end, RESULT_STATES),
                )
                for h in reports.histories(found)
            }
            assert read == [listed_case(histories[number]) for number in sorted(histories)]
            everyone += read
    for fact in ("anonymous", "merged_into", "named_people", "rehandled", "closed_unrated", "reply", "spot_reason"):
        assert any(getattr(c, fact) for c in everyone) and not all(getattr(c, fact) for c in everyone), fact
