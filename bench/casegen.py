"""Synthetic cases for the figures: cases that went through the loop by its rules (transfer, acknowledge,
reply, approval, rating, re-handling, escalation; answers on the spot, rejections, withdrawals; ratings never
given and closed as unrated), with deadlines as registration and re-handling set them, stopped at `as_of` so
that some are still open. Written straight into the case store with bulk inserts (no conversation, no NLU):
bench/figures.py measures the figures page on 30,000 of them, and tests/integration/test_figures.py holds
the database's counts to casework's on a few hundred.

The texts are made up here from a few phrases, not taken from any real message.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.deadlines import LOCAL, case_deadlines, end_of_day
from casework.metrics import Milestones
from casework.workdays import WorkingCalendar
from storage.models import Case, CaseEvent, CaseReply, Citizen, Department, Deputy, Rating, Station

PLACES = ("幸福路", "建设路东段", "滨河公园西侧", "实验小学门口", "阳光小区", "人民路与解放路路口", "西湖街道")
PROBLEMS = (
    "的路灯坏了好几盏，晚上一片漆黑",
    "的人行道砖头松了，老人容易绊倒",
    "垃圾桶满了没人清运，气味很大",
    "的公交站台顶棚破了，下雨天没处躲",
    "夜里施工噪音太大，影响休息",
    "的下水道堵了，一下雨就积水",
)
SURNAMES = "王李张刘陈杨黄赵吴周"
GIVEN = ("小明", "建国", "秀英", "志强", "丽华", "海涛", "敏", "军")
TOPICS = ("城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障", "商贸旅游", "卫生计生", "其他")


@dataclass
class Synthetic:
    """One case as it would be stored: the case's columns, its events, approved replies and ratings."""

    number: str
    created_at: dt.datetime
    station_id: int
    department_id: int | None
    deputy_id: int | None
    topic: str
    description: str
    place: str
    transfer_due_at: dt.datetime
    reply_due_at: dt.datetime
    overdue_at: dt.datetime
    state: str = "received"
    contact_phone: str | None = None
    named_people: list[str] = field(default_factory=list)
    closed_at: dt.datetime | None = None
    escalation_level: str | None = None
    # (action, actor, role, from state, to state, reason, at)
    events: list[tuple[str, str, str, str | None, str, str, dt.datetime]] = field(default_factory=list)
    replies: list[tuple[int, str, dt.datetime]] = field(default_factory=list)
    ratings: list[tuple[int, str, dt.datetime]] = field(default_factory=list)


class _Stop(Exception):
    """The next step would come after `as_of`: the case stays as it is."""


@dataclass(frozen=True)
class Directory:
    """The ids of the stored stations, departments and deputies cases may refer to."""

    stations: Sequence[int]
    departments: Sequence[int]
    deputies: Sequence[int]


async def directory(session: AsyncSession) -> Directory:
    ids = [
        (await session.execute(select(table.id).order_by(table.id))).scalars().all()
        for table in (Station, Department, Deputy)
    ]
    return Directory(*ids)


class _Walk:
    """One case's way through the loop, one step at a time, each after a delay."""

    def __init__(self, case: Synthetic, as_of: dt.datetime, calendar: WorkingCalendar, reply_days: int) -> None:
        self.case = case
        self.at = case.created_at
        self.as_of = as_of
        self.calendar = calendar
        self.reply_days = reply_days

    def step(self, action: str, to: str, hours: float, role: str, actor: str, reason: str = "") -> dt.datetime:
        at = self.at + dt.timedelta(hours=hours)
        if at > self.as_of:
            raise _Stop
        self.case.events.append((action, actor, role, self.case.state, to, reason or action, at))
        self.case.state = to
        self.at = at
        if to in ("closed", "escalated", "rejected", "withdrawn"):
            self.case.closed_at = at
        if to == "rehandling":  # re-handling sets new deadlines, counted from now
            self.case.reply_due_at = end_of_day(
                self.calendar.add_working_days(at.astimezone(LOCAL).date(), self.reply_days)
            )
        return at


def _rate(walk: _Walk, rng: random.Random, reply: int, unsatisfied_before: int) -> None:
    """The citizen rates answer `reply` (0: on the spot), or never does and the case closes unrated."""
    if rng.random() < 0.15:
        walk.step("close_unrated", "closed", 7 * 24 + rng.uniform(0, 2), "system", "system", "逾期未评价")
        return
    rating = rng.choices(("满意", "基本满意", "不满意"), (0.55, 0.25, 0.2))[0]
    if rating != "不满意":
        at = walk.step("rate", "closed", rng.uniform(1, 100), "citizen", "web:citizen")
    elif unsatisfied_before:
        at = walk.step("rate", "escalated", rng.uniform(1, 100), "citizen", "web:citizen")
        walk.case.escalation_level = "区县"
    else:
        at = walk.step("rate", "rehandling", rng.uniform(1, 100), "citizen", "web:citizen")
    walk.case.ratings.append((reply, rating, at))
    if walk.case.state == "rehandling":
        _reply(walk, rng, reply + 1 if reply else 1)
        _rate(walk, rng, reply + 1 if reply else 1, unsatisfied_before + 1)


def _reply(walk: _Walk, rng: random.Random, number: int) -> None:
    """The department writes a reply (sometimes sent back once), staff approve it."""
    state = walk.case.state
    walk.step("record_reply", state, rng.uniform(4, 120), "department", "dept")
    if rng.random() < 0.1:
        walk.step("send_back_reply", state, rng.uniform(1, 24), "staff", "staff1", "请补充办理结果")
        walk.step("record_reply", state, rng.uniform(2, 48), "department", "dept")
    at = walk.step("approve_reply", "replied", rng.uniform(0.5, 30), "staff", "staff1")
    walk.case.replies.append((number, f"已安排处理，第{number}次答复。", at))


def _walk(walk: _Walk, rng: random.Random) -> None:
    draw = rng.random()
    if draw < 0.03:
        walk.step("reject", "rejected", rng.uniform(1, 30), "staff", "staff1", "不属于受理范围")
    elif draw < 0.06:
        walk.step("withdraw", "withdrawn", rng.uniform(1, 48), "citizen", "web:citizen", "问题已自行解决")
    elif draw < 0.16:
        walk.step(
            "answer_on_spot", "answered_on_spot", rng.uniform(0.5, 30), "deputy", "deputy1", "人大代表当场答复：已解决"
        )
        _rate(walk, rng, 0, 0)
    elif draw < 0.18:
        walk.step("transfer", "transferred", rng.uniform(30, 200), "staff", "staff1")  # late, if ever
    else:
        walk.step("transfer", "transferred", rng.uniform(0.5, 30), "staff", "staff1")
        walk.step("acknowledge", "in_progress", rng.uniform(1, 48), "department", "dept")
        _reply(walk, rng, 1)
        _rate(walk, rng, 1, 0)


def generate(
    count: int,
    start: dt.datetime,
    end: dt.datetime,
    as_of: dt.datetime,
    found: Directory,
    calendar: WorkingCalendar,
    *,
    seed: int = 1,
    prefix: str = "ZZ",
    reply_days: int = 3,
    transfer_hours: int = 24,
    overdue_days: int = 5,
    deputy_share: float = 0.6,
) -> list[Synthetic]:
    """`count` cases received in [start, min(end, as_of)), each walked through the loop up to `as_of`, about
    `deputy_share` of them followed by a deputy. Case numbers are `prefix`, the Beijing date and a sequence
    number (unique per prefix)."""
    rng = random.Random(seed)
    latest = min(end, as_of)
    seconds = (latest - start).total_seconds()
    # Received in order, as a station's cases are: ids and numbers grow with the time received.
    moments = sorted(start + dt.timedelta(seconds=rng.uniform(0, seconds)) for _ in range(count))
    cases = []
    for n, created in enumerate(moments):
        deadlines = case_deadlines(
            created,
            calendar,
            transfer_hours=transfer_hours,
            reply_working_days=reply_days,
            overdue_working_days=overdue_days,
        )
        place = rng.choice(PLACES)
        case = Synthetic(
            number=f"{prefix}{created.astimezone(LOCAL):%Y%m%d}{n:06d}",
            created_at=created,
            station_id=rng.choice(found.stations),
            department_id=None if rng.random() < 0.05 else rng.choice(found.departments),
            deputy_id=None if rng.random() < 1 - deputy_share else rng.choice(found.deputies),
            topic=rng.choice(TOPICS),
            description=place + rng.choice(PROBLEMS),
            place=place,
            transfer_due_at=deadlines.transfer_due_at,
            reply_due_at=deadlines.reply_due_at,
            overdue_at=deadlines.overdue_at,
        )
        case.events.append(("register", "web:citizen", "citizen", None, "received", "登记", created))
        try:
            _walk(_Walk(case, as_of, calendar, reply_days), rng)
        except _Stop:
            pass
        cases.append(case)
    return cases


def all_replies(case: Synthetic) -> list[tuple[int | None, str, dt.datetime, dt.datetime | None]]:
    """Every reply the department recorded on the case, as (number, status, recorded at, reviewed at): approved
    (numbered), sent back, or still pending review when the walk stopped after it. `Synthetic.replies` holds
    the approved ones only (what the figures count); the case desk's worklist also reads the others."""
    found: list[tuple[int | None, str, dt.datetime, dt.datetime | None]] = []
    recorded: dt.datetime | None = None
    approved = iter(case.replies)
    for action, *_, at in case.events:
        if action == "record_reply":
            recorded = at
        elif action == "send_back_reply" and recorded is not None:
            found.append((None, "sent_back", recorded, at))
            recorded = None
        elif action == "approve_reply" and recorded is not None:
            found.append((next(approved)[0], "approved", recorded, at))
            recorded = None
    if recorded is not None:
        found.append((None, "pending", recorded, None))
    return found


def milestones(case: Synthetic) -> dict[str, Any]:
    """The case's milestone columns and latest rating, as the product sets them with each event and rating
    (services/cases.py `record_event`)."""
    settled = Milestones()
    for action, _, _, before, after, _, at in case.events:
        settled = settled.after(action, before, after, at)
    return asdict(settled) | {"latest_rating": case.ratings[-1][1] if case.ratings else None}


async def write(
    session: AsyncSession,
    cases: Sequence[Synthetic],
    citizens: int = 200,
    chunk: int = 2000,
    names: Sequence[str] = (),
) -> None:
    """Store the cases (with citizens of made-up names to report them, or of `names`, the n-th case's citizen
    named by the n-th name), their events, replies and ratings. The caller commits."""
    rng = random.Random(len(cases))
    people = [
        {"display_name": rng.choice(SURNAMES) + rng.choice(GIVEN), "phone": f"139{rng.randrange(10**8):08d}"}
        for _ in range(citizens)
    ]
    for n, name in enumerate(names[:citizens]):
        people[n]["display_name"] = name
    citizen_ids = (
        (await session.execute(insert(Citizen).returning(Citizen.id, sort_by_parameter_order=True), people))
        .scalars()
        .all()
    )
    for first in range(0, len(cases), chunk):
        part = cases[first : first + chunk]
        rows = [
            {
                "number": c.number,
                "citizen_id": citizen_ids[i % len(citizen_ids)],
                "station_id": c.station_id,
                "department_id": c.department_id,
                "deputy_id": c.deputy_id,
                "state": c.state,
                "topic": c.topic,
                "description": c.description,
                "place": c.place,
                "contact_phone": c.contact_phone,
                "contact_consent": c.contact_phone is not None,
                "named_people": c.named_people,
                "created_at": c.created_at,
                "updated_at": c.events[-1][-1],
                "transfer_due_at": c.transfer_due_at,
                "reply_due_at": c.reply_due_at,
                "overdue_at": c.overdue_at,
                "closed_at": c.closed_at,
                "escalation_level": c.escalation_level,
            }
            | milestones(c)
            for i, c in enumerate(part, start=first)
        ]
        ids = (
            (await session.execute(insert(Case).returning(Case.id, sort_by_parameter_order=True), rows)).scalars().all()
        )
        events = [
            {
                "case_id": case_id,
                "action": a,
                "actor": who,
                "actor_role": role,
                "from_state": before,
                "to_state": after,
                "reason": reason,
                "at": at,
            }
            for case_id, c in zip(ids, part, strict=True)
            for a, who, role, before, after, reason, at in c.events
        ]
        await session.execute(insert(CaseEvent), events)
        replies = [
            {
                "case_id": case_id,
                "text": text,
                "author": "dept",
                "author_role": "department",
                "status": "approved",
                "number": number,
                "created_at": at,
                "reviewed_by": "staff1",
                "reviewed_at": at,
            }
            for case_id, c in zip(ids, part, strict=True)
            for number, text, at in c.replies
        ]
        if replies:
            await session.execute(insert(CaseReply), replies)
        ratings = [
            {"case_id": case_id, "reply_number": number, "rating": rating, "comment": "", "at": at}
            for case_id, c in zip(ids, part, strict=True)
            for number, rating, at in c.ratings
        ]
        if ratings:
            await session.execute(insert(Rating), ratings)
