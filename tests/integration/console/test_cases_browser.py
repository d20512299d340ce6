"""The case desk in real headless Chromium: staff find a citizen's report at the top of the worklist, transfer it
to the department they choose, the department signs for it and records a reply, staff send it back with a reason
the department reads, then approve the second; the citizen gets the answer. Screenshots go to
test-output/console/ (docs/console/ keeps copies for the README)."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Locator, Page, expect
from sqlalchemy import select

from storage.models import Case, Push
from tests.integration.console.test_browser import (  # noqa: F401 - `console` is a fixture
    Citizen,
    add_user,
    console,
    shoot,
    sign_in,
)

pytestmark = pytest.mark.integration


async def report(citizen: Citizen, text: str) -> str:
    """A report through the chat, answered as the bot asks until registered; its case number."""
    reply = " ".join(await citizen.say(text))
    for _ in range(6):
        if "已受理，编号" in reply:
            return reply.split("编号 ")[1].split("。")[0]
        if "在哪里" in reply:
            reply = " ".join(await citizen.say("幸福路18号阳光小区东门"))
        elif "是否同意" in reply:
            reply = " ".join(await citizen.say("2"))
        elif "请核对" in reply:
            reply = " ".join(await citizen.say("确认"))
        else:
            pytest.fail(f"unexpected reply in a report: {reply}")
    pytest.fail("the report did not finish")


async def open_action(page: Page, label: str) -> Locator:
    """Unfold the form of one action on a case page; the form."""
    details = page.locator("details", has=page.locator("summary", has_text=re.compile(f"^{label}$")))
    await details.locator("summary").click()
    return details.locator("form")


async def test_a_station_works_a_case_from_the_worklist_to_the_citizens_answer(console):  # noqa: F811
    server, db, browser = console
    citizen = Citizen(server, f"web-{uuid.uuid4().hex[:8]}")
    number = await report(citizen, f"光明路{uuid.uuid4().int % 900 + 100}号门口的井盖丢了，晚上很危险")
    async with db() as session:
        case = (await session.execute(select(Case).where(Case.number == number))).scalar_one()
    staff = await sign_in(browser, server, await add_user(db, "staff"))
    await staff.get_by_role("navigation").get_by_role("link", name="案件").click()
    await expect(staff.get_by_role("heading", name="案件")).to_be_visible()
    await shoot(staff, "12-worklist")

    await staff.get_by_label("编号或内容").fill(case.number)
    await staff.get_by_role("button", name="查找").click()
    await staff.get_by_role("link", name=case.number).click()
    await expect(staff.get_by_role("heading", name=f"案件 {case.number}")).to_be_visible()
    form = await open_action(staff, "转办案件")
    await form.get_by_label("承办部门").select_option(label="区住房和城乡建设局")
    await form.get_by_role("button", name="转办案件").click()
    await expect(staff.get_by_text("已完成：转办案件")).to_be_visible()
    await shoot(staff, "13-case-transferred")

    department = await sign_in(browser, server, await add_user(db, "department", "jianshe"))
    await department.goto(f"{server.url}/console/cases")
    await department.get_by_role("link", name=case.number).click()
    form = await open_action(department, "签收案件")
    await form.get_by_role("button", name="签收案件").click()
    form = await open_action(department, "录入答复")
    await form.get_by_label("答复内容").fill("已安排人员补装井盖。")
    await form.get_by_role("button", name="录入答复").click()
    await expect(department.get_by_text("已完成：录入答复")).to_be_visible()
    assert await department.locator("summary", has_text="审核答复").count() == 0, "review is for staff"

    await staff.reload()
    await expect(staff.get_by_text("答复待审核").first).to_be_visible()
    form = await open_action(staff, "退回答复")
    await form.get_by_label("原因（必填）").fill("请写明补装的时间")
    await form.get_by_role("button", name="退回答复").click()
    await expect(staff.get_by_text("已完成：退回答复")).to_be_visible()

    await department.reload()
    await expect(department.get_by_text("请写明补装的时间").first).to_be_visible()
    form = await open_action(department, "录入答复")
    await form.get_by_label("答复内容").fill("井盖已于今天下午补装完毕。")
    await form.get_by_role("button", name="录入答复").click()

    await staff.reload()
    form = await open_action(staff, "审核答复")
    await form.get_by_role("button", name="审核答复").click()
    await expect(staff.get_by_text("已完成：审核答复")).to_be_visible()
    await expect(staff.locator(".badge", has_text="已答复")).to_be_visible()
    await shoot(staff, "14-case-answered")
    async with db() as session:
        to_citizen = (
            (await session.execute(select(Push.text).where(Push.case_id == case.id, Push.recipient_type == "citizen")))
            .scalars()
            .all()
        )
    assert any("井盖已于今天下午补装完毕" in text for text in to_citizen)


async def test_a_refused_action_is_explained_and_changes_nothing(console):  # noqa: F811
    server, db, browser = console
    citizen = Citizen(server, f"web-{uuid.uuid4().hex[:8]}")
    number = await report(citizen, f"滨河路{uuid.uuid4().int % 900 + 100}号的路灯不亮")
    async with db() as session:
        case = (await session.execute(select(Case).where(Case.number == number))).scalar_one()
    staff = await sign_in(browser, server, await add_user(db, "staff"))
    await staff.goto(f"{server.url}/console/cases/{case.number}")
    form = await open_action(staff, "合并案件")
    await form.get_by_label("并入案件编号").fill("LL19990101001")
    await form.get_by_role("button", name="合并案件").click()
    await expect(staff.get_by_role("alert")).to_contain_text("LL19990101001")
    async with db() as session:
        assert (await session.execute(select(Case.state).where(Case.id == case.id))).scalar_one() == "received"


async def test_escalation_is_followed_up_and_closed_and_a_contact_read_is_recorded(console):  # noqa: F811
    server, db, browser = console
    citizen = Citizen(server, f"web-{uuid.uuid4().hex[:8]}")
    number = await report(citizen, f"红星路{uuid.uuid4().int % 900 + 100}号的下水道堵了，污水漫到路上")
    staff = await sign_in(browser, server, await add_user(db, "staff"))
    await staff.goto(f"{server.url}/console/cases/{number}")
    form = await open_action(staff, "升级案件")
    await form.get_by_label("升级至").select_option("市")
    await form.get_by_label("原因（必填）").fill("多次反映未解决")
    await form.get_by_role("button", name="升级案件").click()
    await expect(staff.get_by_text("已完成：升级案件")).to_be_visible()

    form = await open_action(staff, "记录人大常委会的跟进情况")
    await form.get_by_label("跟进方式").select_option("约见")
    await form.get_by_label("结果（必填）").fill("约见区住建局负责人，承诺两周内疏通")
    await form.get_by_role("button", name="记录人大常委会的跟进情况").click()
    await expect(staff.get_by_text("已完成：记录人大常委会的跟进情况")).to_be_visible()
    await expect(staff.get_by_text("约见区住建局负责人").first).to_be_visible()

    form = await open_action(staff, "办结案件")
    await form.get_by_role("button", name="办结案件").click()
    await expect(staff.locator(".badge", has_text="已办结")).to_be_visible()
    await shoot(staff, "15-escalation-followed-up")
    async with db() as session:
        assert (await session.execute(select(Case.state).where(Case.number == number))).scalar_one() == "closed"


async def test_a_report_of_several_problems_is_split_as_the_bot_suggested(console):  # noqa: F811
    """Issue 12, item 8: the case page says the citizen's message holds problems for several departments and
    offers the split filled in; staff check it and split; each part goes to its department."""
    server, db, browser = console
    citizen = Citizen(server, f"web-{uuid.uuid4().hex[:8]}")
    road = f"青石路{uuid.uuid4().int % 900 + 100}号"
    number = await report(citizen, f"{road}路口的红绿灯坏了两天了，车辆乱成一团。另外，旁边小学门口的培训班收费太贵了")
    staff = await sign_in(browser, server, await add_user(db, "staff"))
    await staff.goto(f"{server.url}/console/cases?q={number}")
    await expect(staff.get_by_role("row", name=re.compile(number))).to_contain_text("建议拆分")
    await staff.get_by_role("link", name=number).click()
    await expect(staff.locator("#suggested-split")).to_contain_text("2 个问题，分属不同部门，建议拆分")
    form = staff.locator("form[action$='/split']")
    await expect(form).to_be_visible()
    await expect(form.locator("textarea[name=part_text_1]")).to_have_value(re.compile("红绿灯"))
    await expect(form.locator("select[name=part_topic_2]")).to_have_value("教育文体")
    await expect(form.locator("select[name=part_department_1]")).to_have_value("jiaotong")
    await shoot(staff, "16-suggested-split")
    await form.get_by_role("button", name="拆分案件").click()
    await expect(staff.get_by_role("status")).to_contain_text("拆分案件")
    async with db() as session:
        original = (await session.execute(select(Case).where(Case.number == number))).scalar_one()
        parts = (
            (await session.execute(select(Case).where(Case.citizen_id == original.citizen_id, Case.id != original.id)))
            .scalars()
            .all()
        )
    assert original.state == "closed" and sorted(p.topic for p in parts) == ["交通运输", "教育文体"]
