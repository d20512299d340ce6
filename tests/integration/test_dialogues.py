"""The dialogue corpus (tests/dialogues/*.yml) played through the real dispatcher on the real Rasa model:
every dialogue on its own copy of a fresh database, the clock at a Monday morning, and what must be true
at its end checked in the store. Prints the completion rate, the turns to completion and the misunderstandings.

A dialogue:

    - id: report-light-place-first          # unique
      at: 2026-11-23 10:00                  # optional: the clock (Beijing time), default Monday 23 Nov 2026 10:00
      before:                               # optional: other citizens' turns, played first
        - [楼下路灯坏了, 幸福路18号, "2", 确认]
      turns:                                # the citizen's messages, in order
        - 幸福路18号门口的路灯坏了三天了
        - "~ 联络站几点下班"                 # "~ ": off the path on purpose (not an answer to the question)
        - {location: 阳光小区东门}           # a location; {image: true} a photo
        - {staff: answer, text: 路灯已修复}  # staff answer the citizen's latest case on the spot
        - {staff: reply, text: 已再次检修}   # staff record and approve a reply (a case being re-handled)
        - {clock: 2026-11-26 13:00}          # move the clock
      expect:                               # what must be true at the end (all of it)
        case: {place: 幸福路18号, topic: 城乡建设, description: [路灯]}   # exactly one case, these fields
        cases: 2                            # or: this many cases
        booking: {slot: 11月26日（周四）14:30, topic: 停车, phone: null}  # exactly one active booking
        bookings: 0                         # active bookings
        waiting: 1                          # places on a waiting list
        rated: 满意                          # the latest rating of the citizen's cases
        state: closed                       # the state of the citizen's latest case
        human: true                         # a request for a person recorded
        added: 垃圾桶                        # a citizen's addition (补充) on one of their cases…
        added_to: 1                         # …on their case registered first (1) or second (2)…
        withdrawn: 1                        # their first case withdrawn
        following: true                     # they follow someone else's case
        said: [编号]                         # each somewhere in the replies
        never: [已补充到问题描述中]            # none anywhere in the replies
      goal: 已受理                           # optional: the reply that completes it (else by the expectations)

Figures: completion (dialogues whose expectations all hold), turns to completion (the citizen's turns up to
the reply that completes it), misunderstandings (replies saying the bot did not understand, to turns that
were not off the path on purpose).
"""

from __future__ import annotations

import datetime as dt
import shutil
import statistics
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from bot.runtime import mirror_directory
from casework.actors import Actor
from casework.cases import Role
from casework.deadlines import LOCAL
from casework.lifecycle import Action, Command
from casework.workdays import WorkingCalendar
from handlers.dispatch import Dispatcher
from nlu.client import RasaParser, Understanding
from nlu.topics import TopicClassifier
from services import cases as case_service
from services.conversations import Inbound, Inbox
from settings import load_deployment
from storage import redis as redis_connection
from storage.db import make_engine, make_sessionmaker, upgrade
from storage.keys import Keys
from storage.models import (
    Booking,
    BookingWait,
    Case,
    CaseEvent,
    CaseFollower,
    ChannelIdentity,
    Conversation,
    HumanRequest,
    Rating,
)
from tests.conftest import RASA_TOKEN, make_settings

pytestmark = pytest.mark.integration

CORPUS = Path(__file__).resolve().parent.parent / "dialogues"
MONDAY = dt.datetime(2026, 11, 23, 10, 0, tzinfo=LOCAL)
OFF_PATH = "~ "
# What the bot says when it did not understand (texts.citizen: FALLBACK, the re-asks, the unknown question).
NOT_UNDERSTOOD = (
    "没太明白",
    "没看明白",
    "好像不是一个地点",
    "请回复列表中的序号",
    "这个号码好像不完整",
    "请回复 1、2 或 3",
    "请用一句话说说想和代表谈的事情，比如",
    "这个问题我暂时答不上来",
    "请回复序号。",
    "还没看到问题的具体内容",
    "请发送11位手机号",
)
# The reply that completes a dialogue, by what it expects (the first expectation found, in this order).
GOALS = (
    ("withdrawn", "已撤回"),
    ("rated", "感谢您的评价|很抱歉没能让您满意|提请人大常委会"),
    ("following", "已为您关注"),
    ("added", "加入案件"),
    ("human", "已为您转接"),
    ("waiting", "排队候补"),
    ("booking", "预约成功|改约成功"),
    ("case", "已受理，编号"),
    ("cases", "已受理，编号"),
    ("bookings", "已取消预约|预约保持不变|保留|您的预约|没有有效的预约|没有提交"),
)


def load_corpus() -> list[dict[str, Any]]:
    dialogues = []
    for path in sorted(CORPUS.glob("*.yml")):
        for dialogue in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            dialogue["family"] = path.stem
            dialogues.append(dialogue)
    return dialogues


@dataclass
class Played:
    id: str
    family: str
    turns: int
    replies: list[str]
    failures: list[str] = field(default_factory=list)
    completed_at: int | None = None  # the citizen's turn whose reply completed the dialogue
    misunderstood: int = 0
    names_place_first: bool = False

    @property
    def completed(self) -> bool:
        return not self.failures


class Station:
    """A fresh database per dialogue (a copy of one migrated template), one Redis, one Rasa."""

    def __init__(self, tmp: Path, redis_url: str, rasa_url: str) -> None:
        self.tmp = tmp
        self.template = tmp / "template.db"
        self.settings = make_settings(f"sqlite:///{self.template}", redis_url, tmp / "var", rasa_url=rasa_url)
        self.deployment = load_deployment(self.settings.config_path)
        self.calendar = WorkingCalendar.configured(self.deployment.calendar)
        self.understanding = Understanding(RasaParser(rasa_url, 30.0, RASA_TOKEN), TopicClassifier.from_project())
        self.redis = redis_connection.connect(redis_url, tmp / "var")
        self.keys = Keys(f"dialogues-{uuid.uuid4().hex[:8]}")

    async def prepare(self) -> None:
        upgrade(f"sqlite:///{self.template}")
        engine = make_engine(self.settings.async_database_url)
        await mirror_directory(make_sessionmaker(engine), self.deployment)
        await engine.dispose()

    async def close(self) -> None:
        await self.understanding.parser.close()
        await self.redis.aclose()

    async def play(self, dialogue: dict[str, Any]) -> Played:
        path = self.tmp / f"{dialogue['id']}.db"
        shutil.copy(self.template, path)
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        sessionmaker = make_sessionmaker(engine)
        moment = [_moment(dialogue.get("at")) or MONDAY]
        bot = Dispatcher(
            Inbox(sessionmaker, self.redis, self.keys, self.deployment),
            self.understanding,
            self.deployment,
            self.calendar,
            clock=lambda: moment[0].astimezone(dt.UTC),
        )
        user = f"{dialogue['id']}-{uuid.uuid4().hex[:6]}"
        try:
            for i, others in enumerate(dialogue.get("before", [])):
                for text in others:
                    await _say(bot, f"{user}-other{i}", text)
            played = Played(dialogue["id"], dialogue["family"], 0, [])
            goals = _goals(dialogue)
            reached: dict[str, int] = {}
            for turn in dialogue["turns"]:
                if isinstance(turn, dict) and "clock" in turn:
                    moment[0] = _moment(turn["clock"]) or moment[0]
                    continue
                if isinstance(turn, dict) and "staff" in turn:
                    async with sessionmaker() as session:
                        await _staff(session, bot, user, turn, moment[0])
                    continue
                played.turns += 1
                reply = await _say(bot, user, turn)
                played.replies.append(reply)
                off_path = isinstance(turn, str) and turn.startswith(OFF_PATH)
                if not off_path and any(marker in reply for marker in NOT_UNDERSTOOD):
                    played.misunderstood += 1
                for goal in goals:
                    if goal not in reached and any(g in reply for g in goal.split("|")):
                        reached[goal] = played.turns
            async with sessionmaker() as session:
                played.failures = await _check(session, user, dialogue.get("expect", {}), played.replies)
            for goal in goals:
                if goal not in reached:
                    played.failures.append(f"never said {goal}")
            # Completed at the turn that reached the last of its goals.
            played.completed_at = max(reached.values()) if reached and len(reached) == len(goals) else None
            first = dialogue["turns"][0]
            place = (dialogue.get("expect", {}).get("case") or {}).get("place")
            played.names_place_first = bool(place and isinstance(first, str) and place in first)
            return played
        finally:
            await engine.dispose()
            path.unlink(missing_ok=True)


def _moment(text: str | dt.datetime | None) -> dt.datetime | None:
    if text is None:
        return None
    moment = text if isinstance(text, dt.datetime) else dt.datetime.fromisoformat(str(text))
    return moment.replace(tzinfo=LOCAL) if moment.tzinfo is None else moment


async def _say(bot: Dispatcher, user: str, turn: str | dict[str, Any]) -> str:
    if isinstance(turn, dict) and "location" in turn:
        inbound = Inbound(
            channel="web", user_id=user, kind="location", latitude=28.2, longitude=112.9, label=turn["location"]
        )
    elif isinstance(turn, dict) and "image" in turn:
        inbound = Inbound(channel="web", user_id=user, kind="image", media_ref=f"media-{uuid.uuid4().hex[:8]}")
    else:
        text = str(turn).removeprefix(OFF_PATH)
        inbound = Inbound(channel="web", user_id=user, text=text)
    return "\n".join(r.text for r in await bot.handle(inbound))


async def _staff(session: AsyncSession, bot: Dispatcher, user: str, turn: dict[str, Any], now: dt.datetime) -> None:
    """Staff act on the citizen's latest case: answer it on the spot, or record a reply that another member of
    staff approves (four eyes)."""
    case = (await _cases(session, user))[-1]
    writer, reviewer = Actor("staff-dialogues", Role.STAFF), Actor("staff-dialogues-review", Role.STAFF)
    if turn["staff"] == "answer":
        steps = [(writer, Command(Action.ANSWER_ON_SPOT, Role.STAFF, writer.name, answer=turn["text"]))]
    else:
        steps = [
            (writer, Command(Action.RECORD_REPLY, Role.STAFF, writer.name, reason=turn["text"])),
            (reviewer, Command(Action.APPROVE_REPLY, Role.STAFF, reviewer.name)),
        ]
    for actor, command in steps:
        await case_service.perform(session, bot.deployment, bot.calendar, case.number, actor, command, now)


async def _citizen(session: AsyncSession, user: str) -> int:
    return (
        await session.execute(select(ChannelIdentity.citizen_id).where(ChannelIdentity.external_id == user))
    ).scalar_one()


async def _cases(session: AsyncSession, user: str) -> list[Case]:
    citizen = await _citizen(session, user)
    query = select(Case).where(Case.citizen_id == citizen).order_by(Case.id).options(selectinload(Case.attachments))
    return list((await session.execute(query)).scalars())


async def _check(session: AsyncSession, user: str, expect: dict[str, Any], replies: list[str]) -> list[str]:
    """What of `expect` does not hold (empty when the dialogue completed)."""
    failures = []
    said = "\n".join(replies)
    for text in expect.get("said", []):
        if text not in said:
            failures.append(f"never said {text!r}")
    for text in expect.get("never", []):
        if text in said:
            failures.append(f"said {text!r}")
    own = await _cases(session, user)
    citizen = await _citizen(session, user)
    if "case" in expect:
        if len(own) != 1:
            failures.append(f"{len(own)} cases, not 1")
        else:
            failures += _fields(own[0], expect["case"] or {})
    if "cases" in expect and len(own) != expect["cases"]:
        failures.append(f"{len(own)} cases, not {expect['cases']}")
    if "state" in expect and (not own or own[-1].state != expect["state"]):
        failures.append(f"latest case {own[-1].state if own else None}, not {expect['state']}")
    if "rated" in expect:
        rating = (
            await session.execute(
                select(Rating.rating).where(Rating.case_id.in_([c.id for c in own])).order_by(Rating.id.desc())
            )
        ).scalar()
        if rating != expect["rated"]:
            failures.append(f"rated {rating}, not {expect['rated']}")
    if "added" in expect:
        target = own[expect.get("added_to", 1) - 1 : expect.get("added_to", 1)] if "added_to" in expect else own
        reasons = (
            await session.execute(
                select(CaseEvent.reason).where(
                    CaseEvent.case_id.in_([c.id for c in target]), CaseEvent.action == Action.ADD_INFO.value
                )
            )
        ).scalars()
        if not any(expect["added"] in r for r in reasons):
            failures.append(f"no addition {expect['added']!r}")
    if "withdrawn" in expect:
        index = expect["withdrawn"] - 1
        if index >= len(own) or own[index].state != "withdrawn":
            failures.append(f"case {expect['withdrawn']} not withdrawn")
    if "following" in expect:
        follows = (
            await session.execute(
                select(func.count()).select_from(CaseFollower).where(CaseFollower.citizen_id == citizen)
            )
        ).scalar_one()
        if bool(follows) != expect["following"]:
            failures.append(f"following {follows}")
    if "human" in expect:
        asked = (
            await session.execute(
                select(func.count())
                .select_from(HumanRequest)
                .join(Conversation, Conversation.id == HumanRequest.conversation_id)
                .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(ChannelIdentity.external_id == user)
            )
        ).scalar_one()
        if bool(asked) != expect["human"]:
            failures.append(f"{asked} requests for a person")
    bookings = list(
        (
            await session.execute(select(Booking).where(Booking.citizen_id == citizen, Booking.status == "booked"))
        ).scalars()
    )
    if "booking" in expect:
        if len(bookings) != 1:
            failures.append(f"{len(bookings)} bookings, not 1")
        else:
            failures += await _booking_fields(session, bookings[0], expect["booking"] or {})
    if "bookings" in expect and len(bookings) != expect["bookings"]:
        failures.append(f"{len(bookings)} bookings, not {expect['bookings']}")
    if "waiting" in expect:
        waits = (
            await session.execute(
                select(func.count())
                .select_from(BookingWait)
                .where(BookingWait.citizen_id == citizen, BookingWait.status == "waiting")
            )
        ).scalar_one()
        if waits != expect["waiting"]:
            failures.append(f"{waits} places on waiting lists, not {expect['waiting']}")
    return failures


def _fields(case: Case, wanted: dict[str, Any]) -> list[str]:
    failures = []
    if "place" in wanted and wanted["place"] not in case.place:
        failures.append(f"place {case.place!r}, not {wanted['place']!r}")
    for text in _listed(wanted.get("description")):
        if text not in case.description:
            failures.append(f"description {case.description!r} lacks {text!r}")
    for text in _listed(wanted.get("not_description")):
        if text in case.description:
            failures.append(f"description {case.description!r} has {text!r}")
    if "topic" in wanted and case.topic != wanted["topic"]:
        failures.append(f"topic {case.topic}, not {wanted['topic']}")
    if "anonymous" in wanted and case.anonymous != wanted["anonymous"]:
        failures.append(f"anonymous {case.anonymous}")
    if "phone" in wanted and case.contact_phone != wanted["phone"]:
        failures.append(f"phone {case.contact_phone}, not {wanted['phone']}")
    if "attachments" in wanted and len(case.attachments) != wanted["attachments"]:
        failures.append(f"{len(case.attachments)} attachments, not {wanted['attachments']}")
    return failures


async def _booking_fields(session: AsyncSession, booking: Booking, wanted: dict[str, Any]) -> list[str]:
    from casework.bookings import slot_label
    from storage.models import ReceptionSlot

    failures = []
    slot = (await session.execute(select(ReceptionSlot).where(ReceptionSlot.id == booking.slot_id))).scalar_one()
    label = slot_label(slot.starts_at, slot.ends_at)
    if "slot" in wanted and wanted["slot"] not in label:
        failures.append(f"slot {label}, not {wanted['slot']}")
    if "topic" in wanted and wanted["topic"] not in booking.topic:
        failures.append(f"topic {booking.topic!r}, not {wanted['topic']!r}")
    if "phone" in wanted and booking.phone != wanted["phone"]:
        failures.append(f"phone {booking.phone}, not {wanted['phone']}")
    return failures


def _listed(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _goals(dialogue: dict[str, Any]) -> list[str]:
    """The replies that complete the dialogue: its `goal`, else one for each thing it expects done."""
    if "goal" in dialogue:
        return [dialogue["goal"]]
    expect = dialogue.get("expect", {})
    goals = [
        marker
        for key, marker in GOALS
        if key in expect and expect[key] not in (False, 0) and not (key == "cases" and "case" in expect)
    ]
    return list(dict.fromkeys(goals))


def report(results: list[Played]) -> str:
    done = [r for r in results if r.completed]
    turns = [r.completed_at for r in done if r.completed_at]
    to_case = [r.completed_at for r in done if r.names_place_first and r.completed_at]
    lines = [
        f"dialogues: {len(results)}",
        f"completion: {len(done) / len(results):.3f} ({len(done)}/{len(results)})",
        f"turns to completion: median {statistics.median(turns) if turns else 0}, "
        f"mean {statistics.mean(turns) if turns else 0:.2f}",
        f"turns to a case number when the first message names the place: median "
        f"{statistics.median(to_case) if to_case else 0} ({len(to_case)} dialogues)",
        f"misunderstandings: {sum(r.misunderstood for r in results)} "
        f"in {sum(r.turns for r in results)} turns ({sum(1 for r in results if r.misunderstood)} dialogues)",
    ]
    families: dict[str, list[Played]] = {}
    for r in results:
        families.setdefault(r.family, []).append(r)
    for family, members in sorted(families.items()):
        ok = sum(1 for r in members if r.completed)
        lines.append(f"  {family}: {ok}/{len(members)}")
    for r in results:
        if r.failures:
            lines.append(f"FAILED {r.id}: {'; '.join(r.failures)}")
            lines += [f"    > {reply[:160]!r}" for reply in r.replies]
        elif r.misunderstood:
            lines.append(f"misunderstood in {r.id}: {r.misunderstood}")
    return "\n".join(lines)


def test_the_corpus_has_unique_ids_and_covers_every_family():
    dialogues = load_corpus()
    ids = [d["id"] for d in dialogues]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    assert {d["family"] for d in dialogues} >= {"report", "booking", "progress", "rating", "followups", "offpath"}


async def test_the_dialogue_corpus(tmp_path, real_redis_url, rasa_url, capsys):
    station = Station(tmp_path, real_redis_url, rasa_url)
    await station.prepare()
    try:
        results = [await station.play(d) for d in load_corpus()]
    finally:
        await station.close()
    figures = report(results)
    with capsys.disabled():
        print("\n" + figures)
    (tmp_path.parent / "dialogues-report.txt").write_text(figures, encoding="utf-8")
    done = [r for r in results if r.completed]
    assert len(done) / len(results) >= 0.97, figures
    to_case = [r.completed_at for r in done if r.names_place_first and r.completed_at]
    assert to_case and statistics.median(to_case) <= 4, figures
