"""The deputy's own page (services/deputy_page.py) on SQLite and PostgreSQL: the cases they follow with what is due,
today's bookings (masked but the call-back phone) and their outcome, the year's points, binding a chat with the
one-time code, the QR card; and the refusals: the page is the deputy's, a record is staff's or its deputy's.

The moments are chosen, in April and May 2031 (weeks no other test of a run books), so nothing here reads the
clock."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from bot.runtime import Runtime
from casework.actors import Actor
from casework.agenda import Urgency
from casework.cases import Report, Role
from casework.deadlines import LOCAL
from casework.errors import Forbidden, NotFound
from services import deputy_page
from services.cases import register_report
from services.senders import PushSender, SendError
from settings import TOPICS
from storage.models import Deputy, Push
from storage.repositories import DirectoryStore
from tests.conftest import make_settings
from tests.factories import ScriptedParser, build_dispatcher, say
from tests.integration.desks import before, book, citizen, open_session
from texts import deputy as texts

STAFF = Actor("page-staff", Role.STAFF)


@pytest.fixture
def settings(database_url, real_redis_url, var_dir):
    return make_settings(database_url, real_redis_url, var_dir)


@pytest.fixture
async def runtime(settings):
    services = await Runtime.start(settings)
    yield services
    await services.close()


async def deputy(runtime, code: str) -> Actor:
    async with runtime.sessionmaker() as session:
        deputy_id = (await DirectoryStore(session).ids(Deputy))[code]
    return Actor(f"{code}-{uuid.uuid4().hex[:4]}", Role.DEPUTY, deputy_code=code, deputy_id=deputy_id)


async def report(runtime, code: str, text: str, at: dt.datetime, named: tuple[str, ...] = ()) -> str:
    party = await citizen(runtime)
    async with runtime.sessionmaker() as session:
        case, _ = await register_report(
            session,
            runtime.deployment,
            runtime.calendar,
            party,
            Report(text, "幸福路", TOPICS[0], 0.9, False, True, "13900001111", deputy_code=code, named_people=named),
            at,
        )
        await session.commit()
    return case.number


async def page_of(runtime, actor, now, year=None):
    async with runtime.sessionmaker() as session:
        return await deputy_page.deputy_page(session, runtime.deployment, actor, now, year)


async def test_a_deputy_reads_their_cases_their_day_and_their_points(runtime):
    row = await open_session(runtime, dt.date(2031, 4, 7))
    code = row.deputies[0]
    me = await deputy(runtime, code)
    during = row.slots[0].starts_at + dt.timedelta(minutes=10)
    older = await report(
        runtime, code, "幸福路路灯坏了三盏，邻居张秀兰说晚上不敢出门", during - dt.timedelta(days=2), ("张秀兰",)
    )
    newer = await report(runtime, code, "小区门口的下水道堵了", during - dt.timedelta(hours=23))
    other = next(d.code for d in runtime.deployment.deputies if d.code != code)
    theirs = await report(runtime, other, "公交站的顶棚漏雨", during - dt.timedelta(hours=1))
    party = await citizen(runtime, "周建国")
    number = await book(
        runtime, party, row.slots[0].id, "周建国想谈谈停车难，电话13800138000", "13800138000", before(row)
    )

    page = await page_of(runtime, me, during)
    assert page.name == runtime.deployment.deputy(code).name
    numbers = [c.number for c in page.cases]
    assert numbers[:2] == [older, newer], "the late transfer first, then the one due soon"
    assert theirs not in numbers, "another deputy's case is not on the page"
    assert page.cases[0].due.urgency is Urgency.LATE and page.cases[1].due.urgency is Urgency.SOON
    assert page.pressing >= 2
    assert "张秀兰" not in page.cases[0].summary, "a deputy reads names masked"
    [today] = page.today
    [line] = today.bookings
    assert line.number == number and line.open_for_outcome
    assert line.phone == "13800138000", "the deputy on duty may call the citizen back"
    assert line.citizen != "周建国" and "周建国" not in line.topic and "13800138000" not in line.topic
    # Other tests of the run may have credited this deputy this year: what counts is what this outcome adds.
    earned = {label: points for label, _, points in page.points.by_rule}
    last_year = (await page_of(runtime, me, during, year=during.year - 1)).points.total

    async with runtime.sessionmaker() as session:
        with pytest.raises(Forbidden):
            await deputy_page.record_outcome(
                session, runtime.deployment, runtime.calendar, STAFF, number, "attended", "", None, during
            )
        done, page = await deputy_page.record_outcome(
            session,
            runtime.deployment,
            runtime.calendar,
            me,
            number,
            "answered",
            "已告知停车位改造的安排",
            None,
            during,
        )
    assert done == f"预约 {number}：当场解答。"
    [line] = page.today[0].bookings
    assert line.outcome_label == "当场解答" and not line.open_for_outcome
    now_earned = {label: points for label, _, points in page.points.by_rule}
    assert now_earned.get("参加接待值班", 0) - earned.get("参加接待值班", 0) == 5, "the duty, once for the session"
    assert now_earned.get("接待时当场解答群众", 0) - earned.get("接待时当场解答群众", 0) == 2
    assert page.points.total == sum(now_earned.values())
    assert (await page_of(runtime, me, during, year=during.year - 1)).points.total == last_year


async def test_a_deputy_binds_a_chat_with_the_one_time_code(runtime, settings):
    me = await deputy(runtime, "chen-li")
    code = await deputy_page.bind_code(runtime, me)
    assert len(code) == 8
    dispatcher, close = await build_dispatcher(settings, ScriptedParser({}))
    try:
        chat = f"web-{uuid.uuid4().hex[:8]}"
        assert "绑定成功" in await say(dispatcher, chat, f"绑定 {code}")
        assert "绑定码无效" in await say(dispatcher, f"{chat}-2", f"绑定 {code}"), "the code works once"
    finally:
        await close()
    page = await page_of(runtime, me, dt.datetime(2031, 4, 20, tzinfo=LOCAL))
    assert [c.channel_label for c in page.chats] == ["网页"]


class EntryLinks(PushSender):
    """A channel that gives QR codes (as WeChat's sender does, tested against a recorded WeChat in the browser
    tests), or refuses."""

    def __init__(self, refuse: bool = False) -> None:
        self.refuse = refuse
        self.asked: list[str] = []

    async def send(self, push: Push) -> None:
        raise AssertionError("nothing is pushed here")

    async def entry_link(self, scene: str) -> str | None:
        self.asked.append(scene)
        if self.refuse:
            raise SendError("refused", retryable=True)
        return f"http://weixin.qq.com/q/{scene}"


async def test_the_card_carries_the_channels_code_for_the_deputy(runtime):
    me = await deputy(runtime, "zhang-hua")
    card = await deputy_page.qr_card(runtime, me)
    assert card.svg is None and card.problem == texts.QR_NOT_CONFIGURED, "no channel gives QR codes here"

    runtime.senders["wechat"] = channel = EntryLinks()
    card = await deputy_page.qr_card(runtime, me)
    assert channel.asked == ["deputy:zhang-hua"]
    assert card.content == "http://weixin.qq.com/q/deputy:zhang-hua" and card.problem is None
    assert card.svg == deputy_page.qr_svg(card.content) and card.svg.startswith("<svg")
    assert card.name == "张华" and "示范街道" in card.station
    image = await deputy_page.qr_image(runtime, me)
    assert image is not None and image[:8] == b"\x89PNG\r\n\x1a\n"

    runtime.senders["wechat"] = EntryLinks(refuse=True)
    card = await deputy_page.qr_card(runtime, me)
    assert card.svg is None and card.problem == texts.QR_FAILED
    del runtime.senders["wechat"]


async def test_the_page_is_the_deputys_and_a_record_is_staffs_or_its_deputys(runtime):
    me = await deputy(runtime, "li-jianguo")
    now = dt.datetime(2031, 5, 6, 10, 0, tzinfo=LOCAL)
    for refused in (STAFF, Actor("admin", Role.ADMIN), Actor("dept", Role.DEPARTMENT, department_id=1)):
        with pytest.raises(Forbidden):
            await page_of(runtime, refused, now)
        with pytest.raises(Forbidden):
            await deputy_page.bind_code(runtime, refused)
        with pytest.raises(Forbidden):
            await deputy_page.qr_card(runtime, refused)
    async with runtime.sessionmaker() as session:
        own = await deputy_page.yearly_record(session, runtime.deployment, me, "li-jianguo", now)
        assert own.identity.code == "li-jianguo" and own.year == 2031
        with pytest.raises(Forbidden) as other:
            await deputy_page.yearly_record(session, runtime.deployment, me, "wang-min", now)
        assert other.value.status == 403
        read_by_staff = await deputy_page.yearly_record(session, runtime.deployment, STAFF, "wang-min", now, 2030)
        assert read_by_staff.year == 2030
        with pytest.raises(NotFound):
            await deputy_page.yearly_record(session, runtime.deployment, STAFF, "nobody", now)
