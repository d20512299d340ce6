"""The figures page, the publishing control and the public lists in real headless Chromium (Playwright, Debian's
chromium) against the real app served by uvicorn on PostgreSQL and Redis, with a month of synthetic cases
(bench/casegen.py) whose texts hold Chinese names, phone and ID numbers and full addresses.

A staff member reads the month's figures as charts (ECharts draws SVG) and tables, clicks a bar and lands on
the worklist of the cases behind it, exports the workbook, publishes the month; the public reads it on a
phone-sized screen, masked, and downloads it; once withdrawn it answers 404 with a Chinese page. A department
reads its own figures only, a deputy none. Screenshots go to test-output/console/ (figures.png, publish.png,
public-list-phone.png; docs/console/ keeps copies for the README)."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import re
import string

import openpyxl
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from bench import casegen
from casework.metrics import Month
from casework.workdays import WorkingCalendar
from settings import load_deployment
from storage.models import Department, Deputy
from storage.repositories import UserStore
from tests.conftest import ROOT
from tests.integration.console.test_browser import PASSWORD, add_user, sign_in
from tests.integration.console.test_browser import console as _console  # noqa: F401 - a fixture, used below
from tests.integration.test_figures import ADDRESS_PARTS, SECRET_NAMES, SECRETS, _private

pytestmark = pytest.mark.integration
SHOTS = ROOT / "test-output" / "console"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def live(request: pytest.FixtureRequest):
    """The app on a real port, its database and Chromium: test_browser.py's `console` (imported as `_console`)."""
    return request.getfixturevalue("_console")


async def shoot(page: Page, name: str, height: int | None = None) -> None:
    """The whole page, or its top `height` pixels."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 1280
    clip = {"x": 0, "y": 0, "width": width, "height": height} if height else None
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True, clip=clip)


async def seed_month(db, months_ago: int) -> tuple[Month, list[casegen.Synthetic]]:
    """120 cases in a month over a year ago (no other test writes there; the tests share the database, so each
    passes a month of its own), the first few with identities in their texts."""
    month = Month.of(dt.datetime.now(dt.UTC)).plus(-months_ago)
    deployment = load_deployment(ROOT / "config.yml")
    calendar = WorkingCalendar.configured(deployment.calendar)
    as_of = month.plus(1).start + dt.timedelta(days=20)
    async with db() as session:
        found = await casegen.directory(session)
        prefix = "".join(random.choices(string.ascii_uppercase, k=3))
        made = casegen.generate(120, month.start, month.end, as_of, found, calendar, seed=9, prefix=prefix)
        _private(made)
        await casegen.write(session, made, names=SECRET_NAMES)
        await session.commit()
    return month, made


async def click_bar(page: Page, chart: str, index: int) -> None:
    """Click, with the mouse, the first series' bar of group `index` in the chart drawn in `#chart`."""
    box = await page.evaluate(
        """([id, index]) => {
            const element = document.getElementById(id);
            const series = echarts.getInstanceByDom(element).getModel().getSeriesByIndex(0);
            const layout = series.getData().getItemLayout(index);
            element.scrollIntoView({block: "start"});
            const frame = element.getBoundingClientRect();
            return {x: frame.left + layout.x + layout.width / 2, y: frame.top + layout.y + layout.height / 2};
        }""",
        [chart, index],
    )
    await page.mouse.click(box["x"], box["y"])


async def test_staff_read_the_figures_as_charts_and_a_bar_opens_its_cases(live):
    server, db, browser = live
    month, _ = await seed_month(db, 13)
    async with db() as session:
        departments = dict((await session.execute(select(Department.name, Department.id))).all())
    staff = await sign_in(browser, server, await add_user(db, "staff"), viewport={"width": 1280, "height": 900})
    await staff.get_by_role("navigation").get_by_role("link", name="统计").click()
    await expect(staff.get_by_role("heading", name="统计", exact=True)).to_be_visible()
    await staff.get_by_label("月份").fill(str(month))
    await staff.get_by_role("button", name="查看").click()
    await expect(staff).to_have_url(re.compile(rf"month={month}"))

    # The charts are drawn (SVG), and the tables under them hold the numbers.
    for chart in ("chart-group-rates", "chart-group-counts", "chart-group-median", "chart-trend-rates"):
        await expect(staff.locator(f"#{chart} svg")).to_be_visible()
    table = staff.locator("table.figures-table").first
    await expect(table.locator("tfoot")).to_contain_text("合计")
    await expect(table.locator("tfoot td").first).to_have_text("120")
    await expect(staff.locator(".headline")).to_contain_text("办结率")
    groups = json.loads(await staff.locator("#figures-data").text_content())["groups"]
    await shoot(staff, "figures")

    # A bar of a department (the one closing most of its cases: the longest 办结率 bar) opens the worklist of
    # its cases of the month.
    closed = groups["rates"][0]["values"]
    index, name = max(
        ((i, n) for i, n in enumerate(groups["names"]) if n in departments), key=lambda pair: closed[pair[0]] or 0
    )
    await click_bar(staff, "chart-group-rates", index)
    await staff.wait_for_url(re.compile(rf"/console/cases\?department={departments[name]}&month={month}$"))

    # The workbook.
    await staff.goto(f"{server.url}/console/figures?month={month}&by=station")
    async with staff.expect_download() as download:
        await staff.get_by_role("link", name="导出 Excel").click()
    saved = await (await download.value).path()
    assert (await download.value).suggested_filename == f"figures-{month}.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(saved.read_bytes()))
    assert book.sheetnames == ["按承办部门", "按联络站", "按跟进代表", "近12个月"]
    assert list(book["按联络站"].iter_rows(values_only=True))[-1][:2] == ("合计", 120)


async def test_a_department_reads_its_own_figures_and_a_deputy_none(live):
    server, db, browser = live
    month, _ = await seed_month(db, 15)
    department = await sign_in(browser, server, await add_user(db, "department", "jianshe"))
    await department.goto(f"{server.url}/console/figures?month={month}")
    await expect(department.get_by_text("只含本部门已接收的案件")).to_be_visible()
    rows = department.locator("table.figures-table").first.locator("tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first.locator("th")).to_have_text("区住房和城乡建设局")
    assert await department.get_by_role("link", name="公布").count() == 0
    assert (await department.goto(f"{server.url}/console/publish")).status == 403

    async with db() as session:
        deputy_id = (await session.execute(select(Deputy.id).limit(1))).scalar_one()
        name = "deputy-figures-" + "".join(random.choices(string.ascii_lowercase, k=6))
        await UserStore(session).add(name=name, role="deputy", deputy_id=deputy_id, password=PASSWORD)
        await session.commit()
    deputy = await sign_in(browser, server, name)
    assert await deputy.get_by_role("link", name="统计").count() == 0
    response = await deputy.goto(f"{server.url}/console/figures")
    assert response is not None and response.status == 403
    await expect(deputy.get_by_text("只有工作人员和承办部门可以查看统计")).to_be_visible()


async def test_staff_publish_a_month_the_public_reads_it_on_a_phone_masked_and_it_can_be_withdrawn(live):
    server, db, browser = live
    month, made = await seed_month(db, 17)
    public = await (await browser.new_context(locale="zh-CN", **PHONE)).new_page()
    missing = await public.goto(f"{server.url}/public/{month}")
    assert missing is not None and missing.status == 404
    await expect(public.get_by_text(f"{month.label}的清单尚未公布，或已撤回。")).to_be_visible()

    staff = await sign_in(browser, server, await add_user(db, "staff"))
    await staff.get_by_role("navigation").get_by_role("link", name="公布").click()
    await expect(staff.get_by_role("heading", name="公布清单")).to_be_visible()
    row = staff.locator(f"#month-{month}")
    await expect(row).to_contain_text("未公布")
    await row.get_by_role("link", name="预览").click()
    await expect(staff.get_by_text("本月尚未公布，公众看不到此页")).to_be_visible()
    await expect(staff.locator(".headline")).to_contain_text("120 件")
    forged = await staff.request.post(f"{server.url}/console/publish/{month}", form={"csrf_token": "wrong"})
    assert forged.status == 403
    assert (await public.goto(f"{server.url}/public/{month}")).status == 404, "a forged form publishes nothing"
    await staff.goto(f"{server.url}/console/publish")
    await row.get_by_role("button", name="公布").click()
    await expect(staff.get_by_text(f"已公布{month.label}的清单")).to_be_visible()
    await expect(row).to_contain_text("已公布")
    await shoot(staff, "publish")

    # The public, no sign-in, on a phone: the index, the month, the three lists, the download.
    await public.goto(f"{server.url}/public/")
    await public.get_by_role("link", name=month.label).click()
    await expect(public.get_by_role("heading", name=f"{month.label}受理与办理情况")).to_be_visible()
    await expect(public.locator(".headline")).to_contain_text("120 件")
    cards = public.locator("table.list tbody tr")
    await expect(cards).to_have_count(50)
    width = await public.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"no sideways scrolling on a phone ({width}px wide)"
    first = public.locator("table.list tbody tr", has_text=made[0].number)
    await expect(first.locator("td.c-citizen")).to_have_text("欧***")
    await expect(first.locator("td.c-place")).to_have_text("幸福路")
    await shoot(public, "public-list-phone", height=1900)
    pages = [await public.content()]
    await public.get_by_role("link", name="下一页").click()
    await expect(public.get_by_text("第 2/3 页").first).to_be_visible()
    pages.append(await public.content())
    for kind in ("交办清单", "办理效果清单"):
        await public.get_by_role("link", name=re.compile(kind)).click()
        await expect(public.locator("table.list caption")).to_contain_text(kind)
        pages.append(await public.content())
    async with public.expect_download() as download:
        await public.get_by_role("link", name="下载本月三张清单（Excel）").click()
    book = openpyxl.load_workbook(io.BytesIO((await (await download.value).path()).read_bytes()))
    assert [book[name].max_row - 1 for name in book.sheetnames][0] == 120
    cells = [c for name in book.sheetnames for row in book[name].iter_rows(values_only=True) for c in row]
    everything = json.dumps([pages, cells], ensure_ascii=False, default=str)
    for secret in SECRETS + ADDRESS_PARTS:
        assert secret not in everything, secret

    # Withdrawn: 404 again, in Chinese.
    await staff.goto(f"{server.url}/console/publish")
    await staff.locator(f"#month-{month}").get_by_role("button", name="撤回").click()
    await expect(staff.get_by_text(f"已撤回{month.label}的清单")).to_be_visible()
    gone = await public.goto(f"{server.url}/public/{month}?list=results")
    assert gone is not None and gone.status == 404
    await expect(public.get_by_text(f"{month.label}的清单尚未公布，或已撤回。")).to_be_visible()
    assert (await public.goto(f"{server.url}/public/{month}/lists.xlsx")).status == 404
    assert (await public.goto(f"{server.url}/public/2026-13")).status == 404
