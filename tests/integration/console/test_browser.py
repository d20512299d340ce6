"""The console in real headless Chromium (Playwright, Debian's chromium) against the real app served by uvicorn,
with real Rasa, Redis and PostgreSQL: a staff member signs in, watches a citizen's message arrive live, takes
the conversation over, answers, hands it back, and clears the queue of requests for a person; a department
user is refused another department's conversation. A screenshot of each page is saved beside the test output
(test-output/console/)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, async_playwright, expect
from sqlalchemy import select

from bot.http.app import create_app
from storage.db import make_engine, make_sessionmaker
from storage.models import ChannelIdentity, Conversation, Department, Deputy
from storage.repositories import DirectoryStore, UserStore
from tests.conftest import ROOT, make_settings
from tests.integration.conftest import _at_real_time
from tests.integration.console.conftest import LiveServer
from texts import citizen as citizen_texts

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "test-output" / "console"
PASSWORD = "联络站-console-2026"


@pytest.fixture
async def console(postgres_url, real_redis_url, var_dir, rasa_url, free_port):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (scripts/need-chromium.sh)")
    settings = make_settings(postgres_url, real_redis_url, var_dir, rasa_url=rasa_url)
    # The test's own connection to the store: the server's engine lives on the server thread's event loop.
    engine = make_engine(settings.async_database_url)
    with LiveServer(create_app(settings), free_port) as server:
        # The browser runs at the real time, as Rasa does (scripts/test-clocks.sh): Chromium under libfaketime
        # never finishes loading a page. The app it talks to keeps the faked clock.
        with pytest.MonkeyPatch.context() as monkeypatch:
            _at_real_time(monkeypatch)
            playwright = await async_playwright().start()
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
            )
        try:
            yield server, make_sessionmaker(engine), browser
        finally:
            await browser.close()
            await playwright.stop()
            await engine.dispose()


async def add_user(db, role: str, department: str | None = None) -> str:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    async with db() as session:
        department_id = (await DirectoryStore(session).ids(Department))[department] if department else None
        await UserStore(session).add(name=name, role=role, department_id=department_id, password=PASSWORD)
        await session.commit()
    return name


async def sign_in(browser, server: LiveServer, name: str, password: str = PASSWORD, **context) -> Page:
    page = await (await browser.new_context(locale="zh-CN", **context)).new_page()
    await page.goto(f"{server.url}/console/login")
    await page.get_by_label("用户名").fill(name)
    await page.get_by_label("密码").fill(password)
    await page.get_by_role("button", name="登录").click()
    await expect(page.get_by_role("button", name="退出")).to_be_visible()
    return page


async def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


class Citizen:
    def __init__(self, server: LiveServer, user_id: str) -> None:
        self.server = server
        self.user_id = user_id

    async def say(self, text: str) -> list[str]:
        async with httpx.AsyncClient(base_url=self.server.url, timeout=30) as client:
            response = await client.post(
                "/api/messages", json={"channel": "web", "user_id": self.user_id, "text": text}
            )
        assert response.status_code == 200, response.text
        return [r["text"] for r in response.json()["replies"]]


async def test_staff_watch_take_over_answer_and_hand_back_in_the_browser(console):
    server, db, browser = console
    staff = await sign_in(browser, server, await add_user(db, "staff"))
    await shoot(staff, "1-signed-in")

    await staff.goto(f"{server.url}/console/conversations")
    await expect(staff.get_by_role("heading", name="会话")).to_be_visible()
    await staff.wait_for_function("() => document.querySelector('[sse-connect]') && window.htmx")
    citizen = Citizen(server, f"web-{uuid.uuid4().hex[:8]}")
    words = f"请问联络站几点开门 {uuid.uuid4().hex[:4]}"
    first = await citizen.say(words)
    assert first, "the bot answers while nobody holds the conversation"
    # The list updates by itself (server-sent events), without reloading.
    row = staff.locator("#conversation-rows tr", has_text=citizen.user_id)
    await expect(row).to_be_visible(timeout=2000)
    await shoot(staff, "2-conversations-live")

    await row.get_by_role("link").click()
    await expect(staff.get_by_text(words)).to_be_visible()
    await staff.get_by_role("button", name="接管").click()
    await expect(staff.get_by_label("回复")).to_be_visible()
    await shoot(staff, "3-taken-over")

    await staff.get_by_label("回复").fill("您好，我是联络站工作人员小李，联络站工作日9点开门。")
    await staff.get_by_role("button", name="发送").click()
    await expect(staff.locator(".msg.staff", has_text="我是联络站工作人员小李")).to_be_visible()

    held = await citizen.say("好的，那周六开吗")
    assert citizen_texts.PERSON_JOINED in held
    assert any("我是联络站工作人员小李" in text for text in held), "the citizen's next reply carries the staff text"
    assert len(held) == 2, f"the bot stays silent while the conversation is held: {held}"
    await expect(staff.get_by_text("好的，那周六开吗")).to_be_visible()
    assert await citizen.say("还有别的事吗") == [], "nothing from the bot while held"
    await shoot(staff, "4-held-conversation")

    await staff.get_by_role("button", name="交还").click()
    await expect(staff.get_by_role("button", name="接管")).to_be_visible()
    after = await citizen.say("你好")
    assert citizen_texts.PERSON_LEFT in after
    assert len(after) >= 2, f"the bot answers again after the hand-back: {after}"
    await shoot(staff, "5-handed-back")

    await staff.get_by_role("navigation").get_by_role("link", name="理解审核").click()
    await expect(staff.get_by_role("heading", name="理解审核")).to_be_visible()
    await shoot(staff, "9-nlu-review")
    await staff.get_by_role("navigation").get_by_role("link", name="提醒").click()
    await expect(staff.get_by_role("heading", name="提醒")).to_be_visible()
    await shoot(staff, "10-alerts")


async def test_staff_clear_the_queue_of_requests_for_a_person(console):
    server, db, browser = console
    staff = await sign_in(browser, server, await add_user(db, "staff"))
    citizen = Citizen(server, f"web-{uuid.uuid4().hex[:8]}")
    await citizen.say("转人工")

    await staff.goto(f"{server.url}/console/requests")
    await expect(staff.get_by_role("heading", name="等待人工答复")).to_be_visible()
    await shoot(staff, "6-requests")
    request_row = staff.locator("#request-rows tr", has_text=citizen.user_id)
    await expect(request_row.first).to_be_visible()
    await request_row.first.get_by_role("link").click()
    await staff.get_by_role("button", name="接管").click()
    await staff.get_by_label("回复").fill("您好，我来为您解答。")
    await staff.get_by_role("button", name="发送").click()
    await expect(staff.locator(".msg.staff", has_text="我来为您解答")).to_be_visible()

    await staff.goto(f"{server.url}/console/requests")
    await expect(staff.locator("#request-rows tr", has_text=citizen.user_id)).to_have_count(0)
    await shoot(staff, "7-requests-cleared")


async def test_a_department_is_refused_a_conversation_not_of_its_cases(console):
    server, db, browser = console
    citizen = Citizen(server, f"web-{uuid.uuid4().hex[:8]}")
    await citizen.say("你好")
    department = await sign_in(browser, server, await add_user(db, "department", "jianshe"))
    await department.goto(f"{server.url}/console/conversations")
    await expect(department.locator("#conversation-rows")).to_be_visible()
    async with db() as session:
        number = (
            await session.execute(
                select(Conversation.id)
                .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(ChannelIdentity.external_id == citizen.user_id)
            )
        ).scalar_one()
    assert await department.locator(f"#conversation-{number}").count() == 0
    response = await department.goto(f"{server.url}/console/conversations/{number}")
    assert response is not None and response.status == 404
    await expect(department.get_by_text("没有这个会话，或您无权查看")).to_be_visible()
    await shoot(department, "8-department-refused")


async def test_a_deputy_reads_the_console_on_a_phone(console):
    server, db, browser = console
    async with db() as session:
        deputies = await DirectoryStore(session).ids(Deputy)
        name = f"deputy-{uuid.uuid4().hex[:6]}"
        await UserStore(session).add(
            name=name, role="deputy", deputy_id=next(iter(deputies.values())), password=PASSWORD
        )
        await session.commit()
    phone = await sign_in(browser, server, name, viewport={"width": 390, "height": 844}, is_mobile=True)
    await phone.get_by_role("navigation").get_by_role("link", name="会话").click()
    await expect(phone.get_by_role("heading", name="会话")).to_be_visible()
    width = await phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"no sideways scrolling on a phone ({width}px wide)"
    assert await phone.get_by_role("link", name="理解审核").count() == 0, "review is for staff"
    await shoot(phone, "11-deputy-on-a-phone")
