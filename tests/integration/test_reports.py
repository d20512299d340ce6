"""Figures, the three lists and a deputy's record of cases handled through the real loop, on both databases:
`liaison report`, `liaison export lists`, `liaison deputy record` as a user runs them, and the reports API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import select, update

from casework.metrics import Month
from storage.db import upgrade
from storage.models import Case, Citizen, Department, Deputy
from storage.repositories import DirectoryStore, UserStore
from tests.conftest import DATABASES, drop_postgres, fresh_postgres
from tests.integration import test_loop
from tests.integration.test_cli import _run
from tests.integration.test_conversations import Citizen as ChatCitizen
from tests.integration.test_loop import burst, do

pytestmark = [pytest.mark.integration, pytest.mark.dated, pytest.mark.own_database]
REPORTS_DB = f"liaison_reports_test_{os.getpid()}"
PHONE = "13812348000"
# The app with a recording Telegram API and staff and department users (see test_loop).
station, telegram = test_loop.station, test_loop.telegram


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty case store for each test (overriding the shared one), so the figures count this test's cases."""
    if request.param == "postgres":
        yield fresh_postgres(REPORTS_DB)
        drop_postgres(REPORTS_DB)
        return
    url = f"sqlite:///{tmp_path / 'reports.db'}"
    upgrade(url)
    yield url


async def report(citizen: ChatCitizen, description: str, place: str, phone: str | None = None) -> str:
    """Report through the chat, leaving `phone` as the contact number if given; return the case number."""
    reply = await citizen.say(description)
    for _ in range(6):
        if "已受理，编号" in reply:
            return reply.split("编号 ")[1].split("。")[0]
        if "在哪里" in reply:
            reply = await citizen.say(place)
        elif "是否同意" in reply:
            reply = await citizen.say(f"同意联系，电话{phone}" if phone else "2")
        elif "请核对" in reply:
            reply = await citizen.say("确认")
        else:
            pytest.fail(f"unexpected reply in a report: {reply}")
    pytest.fail("the report did not finish")


async def _department_token(app, client, tokens, number: str) -> str:
    """A token of the department the case was routed to (made on the spot if the fixture has none)."""
    case = (await client.get(f"/api/cases/{number}", headers=_auth(tokens["staff1"]))).json()
    async with app.state.runtime.sessionmaker() as session:
        code = next(d.code for d in app.state.runtime.deployment.departments if d.name == case["department"])
        if code not in tokens:
            ids = await DirectoryStore(session).ids(Department)
            _, tokens[code] = await UserStore(session).add(
                name=f"{code}-{uuid.uuid4().hex[:6]}", role="department", department_id=ids[code]
            )
            await session.commit()
    return tokens[code]


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _reply_and_approve(client, tokens, department: str, number: str, text_: str) -> None:
    await do(client, department, number, "record_reply", reason=text_)
    await do(client, tokens["staff1"], number, "approve_reply")


async def test_figures_lists_and_a_deputys_record(station, settings, tmp_path, user_id):
    app, client, tokens = station
    services = app.state.runtime
    async with services.sessionmaker() as session:
        deputies = await DirectoryStore(session).ids(Deputy)
        _, deputy_token = await UserStore(session).add(
            name=f"wangmin-{uuid.uuid4().hex[:6]}", role="deputy", deputy_id=deputies["wang-min"]
        )
        await session.commit()

    # A: transferred, answered, 满意 -> closed. The citizen left a phone number in the message.
    a_citizen = ChatCitizen(client, f"{user_id}-a")
    a = await report(
        a_citizen, f"幸福路上的路灯坏了好几盏，晚上一片漆黑，走路很不安全，我的电话{PHONE}", "幸福路东段", phone=PHONE
    )
    a_department = await _department_token(app, client, tokens, a)
    await do(client, tokens["staff1"], a, "transfer")
    await do(client, a_department, a, "acknowledge")
    await _reply_and_approve(client, tokens, a_department, a, "幸福路东段三盏路灯已修复。")
    await burst(app)
    assert "感谢您的评价" in await a_citizen.say("满意")

    # B: answered on the spot by the deputy 王敏, 基本满意 -> closed.
    b_citizen = ChatCitizen(client, f"{user_id}-b")
    b = await report(b_citizen, "小区旁边的公交站台顶棚破了，下雨天等车全身湿透", "建设路公交站")
    await do(client, deputy_token, b, "answer_on_spot", expect=403, answer="不是我跟进的案件")
    async with services.sessionmaker() as session:  # as "我来跟进" on WeChat does
        await session.execute(update(Case).where(Case.number == b).values(deputy_id=deputies["wang-min"]))
        await session.commit()
    await do(client, deputy_token, b, "answer_on_spot", answer="已联系公交公司，本周内修复顶棚。")
    await burst(app)
    await b_citizen.say("你好")
    assert "感谢您的评价（基本满意）" in await b_citizen.say("基本满意，希望说到做到")

    # C: 不满意 twice -> re-handled, then escalated.
    c_citizen = ChatCitizen(client, f"{user_id}-c")
    c = await report(c_citizen, "河边的护栏断了一截，孩子在那边玩很危险", "滨河公园西侧")
    c_department = await _department_token(app, client, tokens, c)
    await do(client, tokens["staff1"], c, "transfer")
    await do(client, c_department, c, "acknowledge")
    await _reply_and_approve(client, tokens, c_department, c, "已安排维修护栏。")
    await burst(app)
    assert "重新办理" in await c_citizen.say("不满意，护栏还是断的")
    await _reply_and_approve(client, tokens, c_department, c, "护栏已更换。")
    await burst(app)
    assert "提请人大常委会" in await c_citizen.say("不满意")

    # D: received, nothing else yet.
    d = await report(
        ChatCitizen(client, f"{user_id}-d"), "学校门口的人行道砖头松了好几块，孩子上学容易绊倒", "实验小学门口"
    )

    # The chat cannot yet name the deputy a citizen turns to (a deputy's QR card will): set it as that would.
    # A WeChat nickname is the citizen's name here.
    async with services.sessionmaker() as session:
        await session.execute(update(Case).where(Case.number.in_([a, b, c])).values(deputy_id=deputies["wang-min"]))
        citizen_id = (await session.execute(select(Case.citizen_id).where(Case.number == a))).scalar_one()
        await session.execute(update(Citizen).where(Citizen.id == citizen_id).values(display_name="张三"))
        received = (await session.execute(select(Case.created_at).where(Case.number == a))).scalar_one()
        await session.commit()
    month = str(Month.of(received if received.tzinfo else received.replace(tzinfo=dt.UTC)))  # SQLite: naive UTC
    year = month[:4]
    expected_total = {
        "received": 4,
        "transfers_due": 2,
        "transferred_on_time": 2,
        "transfer_rate": 100.0,
        "answers_due": 3,
        "answered_on_time": 3,
        "on_time_rate": 100.0,
        "closed": 2,
        "closed_rate": 50.0,
        "rated": 3,
        "satisfied": 2,
        "satisfaction_rate": 66.7,
        "unrated": 0,
        "rehandled": 1,
        "escalated": 1,
        "median_working_days": 0.0,
    }
    env = {"DATABASE_URL": settings.database_url}

    # liaison report
    figures = json.loads(_run(["report", "--month", month, "--by", "deputy", "--json"], env).stdout)
    assert {k: figures["total"][k] for k in expected_total} == expected_total
    assert {g["group"]: g["received"] for g in figures["groups"]} == {"王敏": 3, "（无跟进代表）": 1}
    table = _run(["report", "--month", month], env)
    assert table.returncode == 0, table.stderr
    assert "受理案件办理情况（按承办部门）" in table.stdout and "合计" in table.stdout
    assert "50.0% (2/4)" in table.stdout and "66.7% (2/3)" in table.stdout

    # liaison export lists
    out = tmp_path / "lists"
    exported = _run(["export", "lists", "--month", month, "--out", str(out)], env)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.split() == [str(out / f"lists-{month}.xlsx")]
    book = openpyxl.load_workbook(out / f"lists-{month}.xlsx")
    assert book.sheetnames == ["代表建议清单", "交办清单", "办理效果清单"]
    sheets = {name: [[c for c in row] for row in book[name].iter_rows(values_only=True)] for name in book.sheetnames}
    assert [len(rows) - 1 for rows in sheets.values()] == [4, 2, 3]
    everything = json.dumps(sheets, ensure_ascii=False, default=str)
    assert "138****8000" in everything and PHONE not in everything and "张三" not in everything
    suggestions = {row[0]: dict(zip(sheets["代表建议清单"][0], row, strict=True)) for row in sheets["代表建议清单"][1:]}
    assert suggestions[a]["联系电话"] == "138****8000" and suggestions[a]["反映人"] == "张*"
    assert "我的电话138****8000" in suggestions[a]["问题摘要"]
    assert {row[0] for row in sheets["交办清单"][1:]} == {a, c}
    results = {row[0]: dict(zip(sheets["办理效果清单"][0], row, strict=True)) for row in sheets["办理效果清单"][1:]}
    assert {n: r["群众评价"] for n, r in results.items()} == {a: "满意", b: "基本满意", c: "不满意"}
    assert results[b]["办理单位"] == "人大代表当场答复" and results[c]["办理结果"].startswith("已升级")
    in_csv = _run(["export", "lists", "--month", month, "--format", "csv", "--out", str(out)], env)
    assert [Path(p).name for p in in_csv.stdout.split()] == [
        f"{kind}-{month}.csv" for kind in ("suggestions", "assignments", "results")
    ]
    rows = list(csv.reader(io.StringIO((out / f"suggestions-{month}.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["案件编号", "受理日期", "类别"] and len(rows) == 5 and PHONE not in str(rows)

    # liaison deputy record: on the spot (3) + B and A closed while followed (2 + 2) + C escalated (1)
    record = _run(["deputy", "record", "wang-min", "--year", year], env)
    assert record.returncode == 0, record.stderr
    assert "王敏" in record.stdout and "履职积分：8 分" in record.stdout and "当场答复：1 次" in record.stdout
    assert "已办结 2" in record.stdout and "已升级 1" in record.stdout

    # The API: staff only, but for a deputy's own record.
    staff = _auth(tokens["staff1"])
    response = await client.get("/api/reports/figures", params={"month": month, "by": "department"}, headers=staff)
    assert response.status_code == 200, response.text
    assert {k: response.json()["total"][k] for k in expected_total} == expected_total
    for path in (
        "/api/reports/figures",
        "/api/lists/suggestions",
        "/api/lists/export",
        "/api/deputies/wang-min/record",
        "/api/deputies/li-jianguo/record",
    ):
        params = {"month": month, "year": year}
        assert (await client.get(path, params=params, headers=_auth(tokens["jianshe"]))).status_code == 403
        if path != "/api/deputies/wang-min/record":
            assert (await client.get(path, params=params, headers=_auth(deputy_token))).status_code == 403
        assert (await client.get(path, params=params)).status_code == 401
    own = await client.get("/api/deputies/wang-min/record", params={"year": year}, headers=_auth(deputy_token))
    assert own.status_code == 200 and own.json()["points_total"] == 8
    assert (await client.get("/api/reports/figures", params={"month": "2026-13"}, headers=staff)).status_code == 422

    lists = {
        kind: (await client.get(f"/api/lists/{kind}", params={"month": month}, headers=staff)).json()
        for kind in ("suggestions", "assignments", "results")
    }
    assert [len(lists[kind]["rows"]) for kind in lists] == [4, 2, 3]
    assert lists["suggestions"]["title"] == "代表建议清单"
    assert next(r for r in lists["suggestions"]["rows"] if r["number"] == a)["phone"] == "138****8000"
    assert PHONE not in json.dumps(lists, ensure_ascii=False)
    assert {r["number"] for r in lists["results"]["rows"]} == {a, b, c}
    assert d in {r["number"] for r in lists["suggestions"]["rows"]}

    xlsx = await client.get("/api/lists/export", params={"month": month, "format": "xlsx"}, headers=staff)
    assert xlsx.status_code == 200 and xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert openpyxl.load_workbook(io.BytesIO(xlsx.content)).sheetnames == ["代表建议清单", "交办清单", "办理效果清单"]
    zipped = await client.get("/api/lists/export", params={"month": month, "format": "csv"}, headers=staff)
    assert sorted(zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()) == sorted(
        f"{kind}-{month}.csv" for kind in ("suggestions", "assignments", "results")
    )

    record_json = (await client.get("/api/deputies/wang-min/record", params={"year": year}, headers=staff)).json()
    assert record_json["points_total"] == 8 and record_json["cases_by_state"] == {"已办结": 2, "已升级": 1}
    assert [p["rule"] for p in record_json["points"]].count("case_closed") == 2
    assert {p["case_no"] for p in record_json["points"]} == {a, b, c}
    assert all(p["event_id"] and p["action"] and p["date"] for p in record_json["points"])
    assert record_json["on_the_spot_answers"][0]["case_no"] == b
    missing = await client.get("/api/deputies/nobody/record", params={"year": year}, headers=staff)
    assert missing.status_code == 404
