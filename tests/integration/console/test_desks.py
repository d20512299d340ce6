"""The console's desks in real headless Chromium (Playwright, Debian's chromium) against the real app served by
uvicorn, on PostgreSQL and Redis, with WeChat's API played by a local recorder: staff work a week at the reception
desk; a deputy does their part on a phone-sized screen (cases, today's booking, points, card, binding a chat) and
is refused what is not theirs; an admin manages users and a disabled user is signed out at once. Screenshots go to
test-output/console/ (docs/console/ keeps copies for the README)."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import select

from bot.http.app import create_app
from casework.cases import Report
from casework.deadlines import LOCAL
from casework.workdays import WorkingCalendar
from services import deputy_page
from services.cases import register_report
from settings import TOPICS, load_deployment
from storage.db import make_engine, make_sessionmaker
from storage.models import Deputy, Push, Station
from storage.reception import ReceptionStore
from storage.repositories import DirectoryStore, UserStore
from tests.conftest import make_settings
from tests.integration.conftest import _at_real_time
from tests.integration.console.conftest import LiveServer
from tests.integration.console.test_browser import PASSWORD, shoot, sign_in
from tests.integration.desks import before, book, booking, citizen, open_session
from tests.integration.recorder import RecordingApi
from tests.integration.test_wechat import WeChatAnswers

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture
async def desks(postgres_url, real_redis_url, var_dir, free_port):
    """The app (WeChat configured against the recorder, so deputies' cards carry a QR code), Chromium, and the
    test's own view of the store: its sessionmaker (the server's lives on the server's event loop), deployment and
    calendar, as the builders of tests/integration/desks.py take them."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (scripts/need-chromium.sh)")
    with RecordingApi() as wechat:
        wechat.answers.append(WeChatAnswers())
        settings = make_settings(postgres_url, real_redis_url, var_dir).model_copy(
            update={
                "wechat_app_id": "wx0000000000000002",
                "wechat_app_secret": "s3cret",
                "wechat_api_base": f"{wechat.url}/cgi-bin/",
            }
        )
        engine = make_engine(settings.async_database_url)
        deployment = load_deployment(settings.config_path)
        store = SimpleNamespace(
            sessionmaker=make_sessionmaker(engine),
            deployment=deployment,
            calendar=WorkingCalendar.configured(deployment.calendar),
        )
        with LiveServer(create_app(settings), free_port) as server:
            with pytest.MonkeyPatch.context() as monkeypatch:
                _at_real_time(monkeypatch)
                playwright = await async_playwright().start()
                browser = await playwright.chromium.launch(
                    executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
                )
            try:
                yield server, store, browser, wechat
            finally:
                await browser.close()
                await playwright.stop()
                await engine.dispose()


async def add_user(store, role: str, deputy: str | None = None) -> str:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    async with store.sessionmaker() as session:
        deputy_id = (await DirectoryStore(session).ids(Deputy))[deputy] if deputy else None
        await UserStore(session).add(name=name, role=role, deputy_id=deputy_id, password=PASSWORD)
        await session.commit()
    return name


def local_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def slug(key: str) -> str:
    return "#session-" + key.replace(":", "-")


async def no_sideways_scrolling(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"no sideways scrolling on a phone ({width}px wide)"


# The reception desk


async def test_staff_work_a_week_at_the_reception_desk(desks):
    server, store, browser, _ = desks
    now = local_now()
    today = now.astimezone(LOCAL).date()
    # A session ahead with a full first slot and a waiting list; one held weeks ago, its outcome not yet recorded.
    ahead = await open_session(store, today + dt.timedelta(days=2), after=now + dt.timedelta(days=1))
    names = ["韩梅梅", "李雷", "林涛"]
    for n, name in enumerate(names):
        await book(
            store, await citizen(store, name), ahead.slots[0].id, f"{name}想反映小区停车难", f"1360000000{n}", now
        )
    waiting = await citizen(store, "吴芳")
    async with store.sessionmaker() as session:
        from services import reception

        await reception.join_waitlist(session, store.deployment, waiting, ahead.slots[0].id, "楼道堆物", None, now)
    past = await open_session(store, today - dt.timedelta(days=35), weekday=1)
    assert past.ends_at < now
    held = await book(store, await citizen(store, "冯晓"), past.slots[0].id, "想了解老旧小区改造", None, before(past))

    staff = await sign_in(browser, server, await add_user(store, "staff"), **DESK)
    await staff.get_by_role("navigation").get_by_role("link", name="接待台").click()
    await expect(staff.get_by_role("heading", name="接待台", exact=True)).to_be_visible()
    await expect(staff.get_by_role("table", name="本周接待日历")).to_be_visible()
    monday = today - dt.timedelta(days=today.weekday())
    await staff.get_by_role("link", name="‹ 上一周").click()
    previous = monday - dt.timedelta(weeks=1)
    await expect(staff.get_by_text(f"{previous.year}年{previous.month}月{previous.day}日 –")).to_be_visible()

    await staff.goto(f"{server.url}/console/reception?week={ahead.day}")
    card = staff.locator(slug(ahead.key))
    await expect(card).to_be_visible()
    for n, name in enumerate(names):
        row = card.locator("tr", has_text=name)
        await expect(row).to_contain_text(f"1360000000{n}")  # staff read identities as written
    await expect(card.locator(".waits")).to_contain_text("吴芳")
    await expect(card.locator(".waits")).to_contain_text("第 1 位")
    await expect(card.locator(".slot").first).to_contain_text("已约 3/3")
    await shoot(staff, "reception")

    # Name the deputies: the card is replaced in place (htmx), with what was done.
    outside = next(d for d in store.deployment.deputies if d.code not in ahead.deputies)
    await card.get_by_text("调整值班代表").click()
    await card.get_by_label(outside.name).check()
    await card.get_by_role("button", name="保存值班代表").click()
    await expect(card.locator(".deputies")).to_contain_text(outside.name)
    await expect(card.get_by_role("status")).to_contain_text("值班代表")

    await card.get_by_text("关闭这场接待").click()
    await card.get_by_label("关闭原因").fill("代表集中参加区人代会")
    await card.get_by_role("button", name="关闭接待").click()
    await expect(card.get_by_text("关闭原因：代表集中参加区人代会")).to_be_visible()
    await expect(card.locator(".badge", has_text="已关闭")).to_be_visible()
    async with store.sessionmaker() as session:
        told = (
            (await session.execute(select(Push.text).where(Push.dedupe_key.like("booking:%:closed%")))).scalars().all()
        )
    assert sum("代表集中参加区人代会" in text for text in told) >= 3, "each booked citizen is told why"

    # A session held weeks ago: record what came of its booking.
    await staff.goto(f"{server.url}/console/reception?week={past.day}")
    past_card = staff.locator(slug(past.key))
    row = past_card.locator(f"#booking-{held}")
    await row.get_by_text("记录结果").click()
    await row.get_by_label("结果").select_option(label="当场解答")
    if await row.get_by_label("接待代表").count():
        await row.get_by_label("接待代表").select_option(index=1)
    await row.get_by_label("答复或备注").fill("改造计划已公示，明年开工")
    await row.get_by_role("button", name="保存结果").click()
    await expect(past_card.locator(f"#booking-{held} .badge", has_text="当场解答")).to_be_visible()
    assert (await booking(store, held)).outcome == "answered"


# The deputy's page


async def session_today_for(store, code: str) -> tuple[str, int]:
    """A reception session of today (an extra one) with the deputy on duty, its one slot begun half an hour ago:
    (its key, its slot's id)."""
    now = local_now()
    start, end = now - dt.timedelta(minutes=30), now + dt.timedelta(minutes=30)
    key = f"demo:{now.astimezone(LOCAL).date()}:t{uuid.uuid4().hex[:6]}"
    async with store.sessionmaker() as session:
        station = (await DirectoryStore(session).ids(Station))["demo"]
        await ReceptionStore(session).add_session(
            [(start, end)],
            key=key,
            station_id=station,
            kind="extra",
            day=now.astimezone(LOCAL).date(),
            starts_at=start,
            ends_at=end,
            slot_minutes=60,
            capacity=3,
            deputies=[code],
            closed=False,
            close_reason="",
            created_at=now,
            updated_at=now,
        )
        row = await ReceptionStore(session).session_by_key(key)
        await session.commit()
    return key, row.slots[0].id


async def points(page: Page) -> int:
    text = await page.locator("#points .total strong").inner_text()
    return int(text)


async def test_a_deputy_does_their_part_on_a_phone(desks):
    server, store, browser, wechat = desks
    now = local_now()
    party = await citizen(store)
    async with store.sessionmaker() as session:
        case, _ = await register_report(
            session,
            store.deployment,
            store.calendar,
            party,
            Report("幸福路口的红绿灯坏了，早高峰很危险", "幸福路口", TOPICS[2], 0.9, False, False, None, "wang-min"),
            now - dt.timedelta(hours=23),
        )
        await session.commit()
    _, slot_id = await session_today_for(store, "wang-min")
    number = await book(
        store, await citizen(store, "马丽"), slot_id, "想反映菜市场噪音", "13512345678", now - dt.timedelta(hours=2)
    )

    phone = await sign_in(browser, server, await add_user(store, "deputy", "wang-min"), **PHONE)
    await phone.get_by_role("navigation").get_by_role("link", name="我的").click()
    await expect(phone.get_by_role("heading", name="王敏代表")).to_be_visible()
    mine = phone.locator("#cases li", has_text=case.number)
    await expect(mine).to_contain_text("待联络站转办")
    await expect(phone.locator("#cases .alert")).to_be_visible()
    visit = phone.locator(f"#booking-{number}")
    await expect(visit).to_contain_text("想反映菜市场噪音")
    await expect(visit.get_by_role("link", name="13512345678")).to_have_attribute("href", "tel:13512345678")
    await expect(visit).not_to_contain_text("马丽")  # a deputy reads the citizen's name masked
    await no_sideways_scrolling(phone)
    await shoot(phone, "deputy-phone")

    before_points = await points(phone)
    await visit.get_by_text("记录接待结果").click()
    await visit.get_by_label("结果").select_option(label="当场解答")
    await visit.get_by_label("答复或备注").fill("已联系市场管理方，早上六点前不得卸货")
    await visit.get_by_role("button", name="保存").click()
    await expect(phone.locator(f"#booking-{number} .badge", has_text="当场解答")).to_be_visible()
    await expect(phone.locator("#today").get_by_role("status")).to_contain_text(number)
    await phone.reload()
    assert await points(phone) == before_points + 7, "the duty (5) and the answer (2)"

    # Binding a chat: the one-time code, sent from the chat as 绑定 CODE.
    await phone.get_by_role("button", name="获取绑定码").click()
    code = (await phone.locator(".bind-code").inner_text()).strip()
    await expect(phone.get_by_text(f"绑定 {code}")).to_be_visible()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        answer = await client.post(
            "/api/messages", json={"channel": "web", "user_id": f"web-{uuid.uuid4().hex[:8]}", "text": f"绑定 {code}"}
        )
    assert answer.status_code == 200 and "绑定成功" in answer.json()["replies"][0]["text"]
    await phone.reload()
    await expect(phone.locator("#bind")).to_contain_text("已绑定：网页")

    # The card: WeChat's permanent QR code for the deputy, drawn by the app, to print or share.
    await phone.get_by_role("link", name="查看、打印或分享联系卡").click()
    qr = phone.get_by_role("img", name="扫码联系王敏代表的二维码")
    await expect(qr).to_be_visible()
    [asked] = wechat.calls_to("/qrcode/create")
    assert asked["action_info"]["scene"]["scene_str"] == "deputy:wang-min"
    drawn = await qr.locator("svg path").get_attribute("d")
    expected = re.search(r' d="([^"]+)"', deputy_page.qr_svg("http://weixin.qq.com/q/deputy:wang-min"))
    assert expected is not None and drawn == expected.group(1), "the code carries WeChat's url for the scene"
    image = await phone.request.get(f"{server.url}/console/me/qr.png")
    assert image.headers["content-type"] == "image/png" and (await image.body())[:4] == b"\x89PNG"
    await no_sideways_scrolling(phone)
    await shoot(phone, "deputy-card")
    await phone.emulate_media(media="print")
    await expect(phone.locator("header.top")).to_be_hidden()
    await expect(phone.get_by_role("button", name="打印联系卡")).to_be_hidden()
    await expect(qr).to_be_visible()
    await phone.emulate_media(media="screen")

    # A case on the list opens the case page (console/cases.py), which the deputy following it may read.
    await phone.goto(f"{server.url}/console/me")
    await phone.locator("#cases").get_by_role("link", name=case.number).click()
    await expect(phone.get_by_role("heading", name=re.compile(f"案件 {case.number}"))).to_be_visible()

    # Their own record; another deputy's record, the desk and the users page are not theirs.
    response = await phone.goto(f"{server.url}/console/deputies/wang-min/record")
    assert response is not None and response.status == 200
    await expect(phone.get_by_role("heading", name=re.compile("王敏代表 .* 年履职档案"))).to_be_visible()
    response = await phone.goto(f"{server.url}/console/deputies/li-jianguo/record")
    assert response is not None and response.status == 403
    await expect(phone.get_by_text("代表可以查看本人的履职档案")).to_be_visible()
    assert await phone.get_by_text("李建国").count() == 0
    response = await phone.goto(f"{server.url}/console/users")
    assert response is not None and response.status == 403
    await expect(phone.get_by_text("只有管理员可以管理用户。")).to_be_visible()
    response = await phone.goto(f"{server.url}/console/reception")
    assert response is not None and response.status == 403
    await expect(phone.get_by_text("只有工作人员可以使用接待台。")).to_be_visible()
    assert await phone.get_by_role("navigation").get_by_role("link", name="用户").count() == 0
    assert await phone.get_by_role("navigation").get_by_role("link", name="接待台").count() == 0


# Users


async def api_status(server: LiveServer, token: str) -> int:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        return (await client.get("/api/cases", headers={"authorization": f"Bearer {token}"})).status_code


async def test_an_admin_manages_users_and_a_disabled_user_is_signed_out_at_once(desks):
    server, store, browser, _ = desks
    boss_name = await add_user(store, "admin")
    boss = await sign_in(browser, server, boss_name, **DESK)
    boss.on("dialog", lambda dialog: dialog.accept())  # the confirmations of 停用 and 重置接口令牌
    await boss.get_by_role("navigation").get_by_role("link", name="用户").click()
    await expect(boss.get_by_role("heading", name="用户", exact=True)).to_be_visible()

    clerk = f"clerk-{uuid.uuid4().hex[:6]}"
    form = boss.locator("form.add-user")
    await form.get_by_label("用户名").fill(clerk)
    await form.get_by_label("角色").select_option(label="工作人员")
    await form.get_by_label("初始密码").fill("初始密码-clerk")
    await form.get_by_role("button", name="新增用户").click()
    await expect(boss.get_by_text(f"已新增用户 {clerk}。")).to_be_visible()
    token = (await boss.locator("code.token").inner_text()).strip()
    assert await api_status(server, token) == 200
    await expect(form.get_by_label("用户名")).to_have_value("")

    await form.get_by_label("用户名").fill(clerk)
    await form.get_by_label("初始密码").fill("初始密码-clerk")
    await form.get_by_role("button", name="新增用户").click()
    await expect(boss.locator("#messages")).to_contain_text(f"用户 {clerk} 已存在")

    other = await sign_in(browser, server, clerk, "初始密码-clerk", **DESK)
    row = boss.locator("#users-panel tr", has_text=clerk)
    await row.get_by_role("button", name="停用").click()
    await expect(boss.locator("#users-panel tr", has_text=clerk).get_by_text("已停用")).to_be_visible()
    await other.goto(f"{server.url}/console/conversations")
    await expect(other).to_have_url(re.compile(r"/console/login"))
    await expect(other.get_by_role("button", name="登录")).to_be_visible()
    assert await api_status(server, token) == 401

    await boss.locator("#users-panel tr", has_text=clerk).get_by_role("button", name="重新启用").click()
    await expect(boss.get_by_text(f"已重新启用 {clerk}。")).to_be_visible()
    row = boss.locator("#users-panel tr", has_text=clerk)
    await row.get_by_text("重置密码").click()
    await row.get_by_label(f"{clerk} 的新密码").fill("新的密码-clerk")
    await row.get_by_role("button", name="保存新密码").click()
    await expect(boss.get_by_text(f"已重置 {clerk} 的登录密码。")).to_be_visible()
    await sign_in(browser, server, clerk, "新的密码-clerk", **DESK)

    await boss.locator("#users-panel tr", has_text=clerk).get_by_role("button", name="重置接口令牌").click()
    await expect(boss.get_by_text(f"已重置 {clerk} 的接口令牌")).to_be_visible()
    fresh = (await boss.locator("code.token").inner_text()).strip()
    assert fresh != token
    assert await api_status(server, token) == 401 and await api_status(server, fresh) == 200

    log = boss.locator("table.admin-log tbody tr", has_text=clerk)
    await expect(log).to_have_count(5)
    assert [await log.nth(i).locator("td").nth(2).inner_text() for i in range(5)] == [
        "重置接口令牌",
        "重置密码",
        "重新启用",
        "停用",
        "新增用户",
    ]
    await expect(log.first).to_contain_text(boss_name)
    await boss.reload()
    await shoot(boss, "users")
