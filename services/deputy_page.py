"""A deputy's own page in the console (/console/me), made for a phone: the cases they follow and what is due on
each, their reception bookings today, their points (履职积分) and yearly record, their card with the QR code
citizens scan to reach them, and the chats their pushes go to (binding a new one with a one-time code).

    deputy_page ──► cases and what is due (casework.agenda), today's bookings (services.reception_desk), the
                    year's record (services.reports.load_deputy_record), bound chats
    record_outcome ► a booking's outcome, by the reception use case (services.reception.perform)
    bind_code ────► a one-time code the deputy sends from WeChat as “绑定 CODE” (handlers/deputies.py)
    qr_card ──────► the card: the channel's entry code for the scene deputy:<code> (a WeChat permanent QR code,
                    asked of the channel's sender), drawn as SVG here; qr_png the same as a PNG to share

Each is for the deputy themself (services.access.may_use_deputy_page); what a deputy reads of a case or a booking
is masked as services.access says.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections import Counter
from dataclasses import dataclass

import qrcode
import qrcode.image.svg
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.agenda import Due, agenda_order, case_due
from casework.cases import CaseState
from casework.deadlines import LOCAL
from casework.errors import Forbidden, NotFound
from casework.lifecycle import OPEN_STATES
from casework.points import DeputyRecord
from casework.workdays import WorkingCalendar
from services import access
from services.context import Context
from services.conversations import issue_bind_code
from services.reception import perform
from services.reception_desk import Choices, SessionCard, choices, today_of_deputy
from services.reports import load_deputy_record
from services.senders import SendError
from settings import Deployment
from storage.dialogues import BIND_CODE_TTL_SECONDS
from storage.models import Case, User
from texts import deputy as texts
from texts import staff as staff_texts

log = logging.getLogger("liaison.deputies")
# The scene a deputy's QR code carries; handlers/events.py (DEPUTY_SCENE) reads it back when a citizen scans it.
SCENE_PREFIX = "deputy:"
# How much of a case's text the list shows.
SUMMARY_CHARS = 60
# How long a bind code may be used (storage.dialogues keeps it in Redis this long).
BIND_CODE_HOURS = BIND_CODE_TTL_SECONDS // 3600


@dataclass(frozen=True)
class CaseLine:
    number: str
    topic: str
    state_label: str
    summary: str
    received_at: dt.datetime
    due: Due | None


@dataclass(frozen=True)
class Chat:
    channel: str
    channel_label: str


@dataclass(frozen=True)
class Points:
    year: int
    total: int
    by_rule: tuple[tuple[str, int, int], ...]  # (label, count, points), most points first
    cases_followed: int


@dataclass(frozen=True)
class DeputyPage:
    code: str
    name: str
    level: str
    constituency: str
    station: str
    cases: tuple[CaseLine, ...]
    today: tuple[SessionCard, ...]
    points: Points
    chats: tuple[Chat, ...]
    choices: Choices

    @property
    def pressing(self) -> int:
        return sum(1 for c in self.cases if c.due is not None and c.due.pressing)

    @property
    def bookings_today(self) -> int:
        return sum(len(s.bookings) for s in self.today)


@dataclass(frozen=True)
class Card:
    """A deputy's card: who they are, where the station is, and the QR code (or why there is none)."""

    code: str
    name: str
    level: str
    constituency: str
    station: str
    address: str
    invite: str
    hint: str
    content: str | None
    svg: str | None
    problem: str | None


def _require_deputy(actor: Actor) -> str:
    if not access.may_use_deputy_page(actor) or actor.deputy_code is None:
        raise Forbidden(texts.DEPUTY_PAGE_ONLY, code="forbidden_role")
    return actor.deputy_code


async def deputy_page(
    session: AsyncSession, deployment: Deployment, actor: Actor, now: dt.datetime, year: int | None = None
) -> DeputyPage:
    """Everything on the deputy's own page as of `now`; the points of `year` (default: this year, Beijing time)."""
    code = _require_deputy(actor)
    deputy = deployment.deputy(code)
    if deputy is None:
        raise NotFound(texts.DEPUTY_UNKNOWN.format(code=code))
    year = year or now.astimezone(LOCAL).year
    record = await load_deputy_record(session, deployment, actor, code, year)
    assert record is not None  # the deputy is in config.yml
    station = next((s.name for s in deployment.stations if s.code == deputy.station), deputy.station)
    return DeputyPage(
        code=code,
        name=deputy.name,
        level=deputy.level,
        constituency=deputy.constituency,
        station=station,
        cases=tuple(await _cases(session, actor, now)),
        today=tuple(await today_of_deputy(session, deployment, actor, now)),
        points=points_of(record),
        chats=tuple(await _chats(session, actor)),
        choices=choices(deployment),
    )


async def record_outcome(
    session: AsyncSession,
    deployment: Deployment,
    calendar: WorkingCalendar,
    actor: Actor,
    number: str,
    outcome: str,
    answer: str,
    topic: str | None,
    now: dt.datetime,
) -> tuple[str, DeputyPage]:
    """The deputy records what came of a booking of their session (`services.reception.perform`, which commits and
    checks they were on duty); returns the line saying what was done and the page as it now is. Raises Refused."""
    _require_deputy(actor)
    done = await perform(
        session, deployment, calendar, actor, "outcome", now, number=number, outcome=outcome, answer=answer, topic=topic
    )
    return str(done["detail"]), await deputy_page(session, deployment, actor, now)


async def yearly_record(
    session: AsyncSession, deployment: Deployment, actor: Actor, code: str, now: dt.datetime, year: int | None = None
) -> DeputyRecord:
    """A deputy's 履职档案 of `year` (default: this year), for staff and the deputy themself (NotAllowed for anyone
    else, services.access); NotFound when no deputy has this code."""
    record = await load_deputy_record(session, deployment, actor, code, year or now.astimezone(LOCAL).year)
    if record is None:
        raise NotFound(texts.DEPUTY_UNKNOWN.format(code=code))
    return record


def points_of(record: DeputyRecord) -> Points:
    """The year's points summed by rule, for the page's summary (the record page lists every item)."""
    counts: Counter[str] = Counter()
    sums: Counter[str] = Counter()
    for item in record.points:
        counts[item.label] += 1
        sums[item.label] += item.points
    by_rule = tuple(sorted(((label, counts[label], sums[label]) for label in sums), key=lambda r: (-r[2], r[0])))
    return Points(record.year, record.total, by_rule, len(record.cases))


async def bind_code(ctx: Context, actor: Actor) -> str:
    """A new one-time code binding a chat to the deputy: sent to the official account as “绑定 CODE” within a day."""
    return await issue_bind_code(ctx.redis, ctx.keys, _require_deputy(actor))


async def qr_card(ctx: Context, actor: Actor) -> Card:
    """The deputy's card, with the QR code of the first channel that gives one (WeChat's permanent code)."""
    code = _require_deputy(actor)
    deputy = ctx.deployment.deputy(code)
    if deputy is None:
        raise NotFound(texts.DEPUTY_UNKNOWN.format(code=code))
    station = next((s for s in ctx.deployment.stations if s.code == deputy.station), ctx.deployment.main_station)
    content, problem = await entry_link(ctx, code)
    return Card(
        code=code,
        name=deputy.name,
        level=deputy.level,
        constituency=deputy.constituency,
        station=station.name,
        address=station.address,
        invite=texts.QR_CARD_INVITE.format(name=deputy.name),
        hint=texts.QR_CARD_HINT,
        content=content,
        svg=qr_svg(content) if content else None,
        problem=problem,
    )


async def qr_image(ctx: Context, actor: Actor) -> bytes | None:
    """The deputy's QR code as a PNG to save or share; None when no channel gives one."""
    content, _ = await entry_link(ctx, _require_deputy(actor))
    return qr_png(content) if content else None


async def entry_link(ctx: Context, deputy_code: str) -> tuple[str | None, str | None]:
    """(what the deputy's QR code carries, None) or (None, why there is none)."""
    scene = f"{SCENE_PREFIX}{deputy_code}"
    failed = False
    for channel, sender in ctx.senders.items():
        try:
            link = await sender.entry_link(scene)
        except SendError as exc:
            log.warning("no QR code for %s from %s: %s", scene, channel, exc)
            failed = True
            continue
        if link:
            return link, None
    return None, texts.QR_FAILED if failed else texts.QR_NOT_CONFIGURED


def qr_svg(content: str) -> str:
    """The QR code as an SVG element (sized by the page's CSS), crisp on screen and in print."""
    image = qrcode.make(content, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    return str(image.to_string(encoding="unicode"))


def qr_png(content: str) -> bytes:
    buffer = io.BytesIO()
    qrcode.make(content, border=4, box_size=12).save(buffer)
    return buffer.getvalue()


async def _cases(session: AsyncSession, actor: Actor, now: dt.datetime) -> list[CaseLine]:
    """The open cases the deputy follows (services.access), the most pressing first, their texts masked."""
    rows = (
        (
            await session.execute(
                select(Case)
                .where(access.case_filter(actor), Case.state.in_([s.value for s in OPEN_STATES]))
                .order_by(Case.id.desc())
                .limit(200)
            )
        )
        .scalars()
        .all()
    )
    public = await access.public_names(session)
    lines = []
    for case in rows:
        state = CaseState(case.state)
        due = case_due(
            state,
            transfer_due_at=case.transfer_due_at,
            reply_due_at=case.reply_due_at,
            overdue_at=case.overdue_at,
            now=now,
        )
        text = " ".join(case.description.split())
        summary = access.masked_for(actor, text[: SUMMARY_CHARS * 2], case.named_people, public)
        lines.append(
            CaseLine(
                number=case.number,
                topic=case.topic,
                state_label=state.label,
                summary=summary if len(summary) <= SUMMARY_CHARS else summary[:SUMMARY_CHARS] + "…",
                received_at=case.created_at,
                due=due,
            )
        )
    return sorted(lines, key=lambda c: agenda_order(c.due, c.received_at) if c.due else (9, 0.0, 0.0))


async def _chats(session: AsyncSession, actor: Actor) -> list[Chat]:
    """The chats the deputy's pushes go to (their users bound with 绑定 CODE, services.deputies.bind_chat)."""
    channels = (
        await session.execute(
            select(User.channel)
            .where(User.deputy_id == actor.deputy_id, User.active.is_(True), User.channel.is_not(None))
            .order_by(User.id)
        )
    ).scalars()
    return [Chat(c, staff_texts.CHANNEL_LABELS.get(c, c)) for c in dict.fromkeys(c for c in channels if c)]
