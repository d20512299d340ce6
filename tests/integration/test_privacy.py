"""Privacy through the real app on both databases (services/access.py, casework/privacy.py): the leaks found
by testing from outside stay shut. Names and every form of phone and ID number written in a report are
masked in the published lists and their exports, in the similar-case offer, in a follower's view, in the
department's and a deputy's views and pushes; a follower never reads the text or the contact; an anonymous
case never shows its reporter's channel id but to staff."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
import zipfile

import openpyxl
import pytest
from sqlalchemy import select, update

from casework.metrics import Month
from storage.models import Case, Department, Deputy
from storage.repositories import DirectoryStore, UserStore
from tests.integration import test_loop
from tests.integration.test_conversations import Citizen
from tests.integration.test_loop import burst, do
from tests.integration.test_reports import _department_token

pytestmark = [pytest.mark.integration, pytest.mark.own_database]
# The app with a recording Telegram API and staff and department users (see test_loop).
station, telegram = test_loop.station, test_loop.telegram

# What the citizens wrote, and what must never be read but by staff.
NAMES = ("王小明", "李华")
PHONES = ("+86 138 1234 5678", "138.1234.5678", "8613912345678", "0571-8888 1234", "(010)12345678", "8888-1234转567")
ID_NUMBER = "11010119900307123X"
CONTACT = "13765432109"
RAW = (*NAMES, *PHONES, ID_NUMBER, "12345678", "88881234", "8888 1234", "1234 5678", "99003071")


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def _street() -> str:
    """A street of the test's own: similar reports elsewhere in the suite must not be offered."""
    return f"光明{uuid.uuid4().hex[:4]}巷".translate(
        str.maketrans("0123456789abcdef", "东南西北中上下前后内外新旧大小青")
    )


def _leaks(text: str) -> list[str]:
    return [raw for raw in RAW if raw in text]


# Added at the confirmation (补充), so that the contact the citizen leaves is CONTACT, not a number in here.
IDENTITIES = (
    "补充：我叫王小明，联系人李华，电话+86 138 1234 5678 或 138.1234.5678，家里座机0571-8888 1234，"
    f"单位(010)12345678、8888-1234转567，老家8613912345678，身份证{ID_NUMBER}。"
)


async def _report(citizen: Citizen, street: str) -> str:
    """A report at building 3 of `street` with CONTACT left for the handling staff and IDENTITIES in its text;
    return the case number."""
    reply = await citizen.say(f"{street}3栋楼下的路灯坏了三盏，晚上一片漆黑")
    added = False
    for _ in range(8):
        if "已受理，编号" in reply:
            return reply.split("编号 ")[1].split("。")[0]
        if "在哪里" in reply:
            reply = await citizen.say(f"{street}3栋")
        elif "是否同意" in reply:
            reply = await citizen.say(f"同意联系，电话{CONTACT}")
        elif "请核对" in reply:
            reply = await citizen.say("确认" if added else IDENTITIES)
            added = True
        else:
            pytest.fail(f"unexpected reply in a report: {reply}")
    pytest.fail("the report did not finish")


async def _deputy_token(app, code: str) -> str:
    async with app.state.runtime.sessionmaker() as session:
        deputies = await DirectoryStore(session).ids(Deputy)
        _, token = await UserStore(session).add(
            name=f"{code}-{uuid.uuid4().hex[:6]}", role="deputy", deputy_id=deputies[code]
        )
        await session.commit()
    return token


async def test_the_lists_and_their_exports_hold_no_name_phone_or_id_number_written_in_a_report(station, user_id):
    app, client, tokens = station
    staff = _auth(tokens["staff1"])
    citizen = Citizen(client, user_id)
    street = _street()
    number = await _report(citizen, street)
    department = await _department_token(app, client, tokens, number)
    await do(client, tokens["staff1"], number, "transfer", reason="请联系王小明（+86 138 1234 5678）核实")
    await do(client, department, number, "acknowledge")
    await do(client, department, number, "record_reply", reason="已电话联系王小明（138.1234.5678），路灯已修复。")
    await do(client, tokens["staff1"], number, "approve_reply")
    await burst(app)
    assert "感谢您的评价" in await citizen.say("满意")

    async with app.state.runtime.sessionmaker() as session:
        received = (await session.execute(select(Case.created_at).where(Case.number == number))).scalar_one()
    month = str(Month.of(received if received.tzinfo else received.replace(tzinfo=dt.UTC)))  # SQLite: naive UTC
    shown = {}
    for kind in ("suggestions", "assignments", "results"):
        response = await client.get(f"/api/lists/{kind}", params={"month": month}, headers=staff)
        assert response.status_code == 200, response.text
        rows = [r for r in response.json()["rows"] if r["number"] == number]
        assert len(rows) == 1, kind
        shown[kind] = rows[0]
    listed = json.dumps(shown, ensure_ascii=False)
    assert _leaks(listed) == []
    assert shown["suggestions"]["summary"].startswith(
        f"{street}*栋楼下的路灯坏了三盏，晚上一片漆黑 我叫王**，联系人李*"
    ), "the published lists mask addresses below the street (casework.privacy.mask_address)"
    assert shown["suggestions"]["phone"] == "137****2109"
    assert "王**" in shown["results"]["answer"] and "138****5678" in shown["results"]["answer"]

    xlsx = await client.get("/api/lists/export", params={"month": month, "format": "xlsx"}, headers=staff)
    assert xlsx.status_code == 200, xlsx.text
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    cells = [str(c) for sheet in book for row in sheet.iter_rows(values_only=True) if number in row for c in row]
    assert len(cells) == 9 + 8 + 11 and _leaks(" ".join(cells)) == []
    zipped = await client.get("/api/lists/export", params={"month": month, "format": "csv"}, headers=staff)
    archive = zipfile.ZipFile(io.BytesIO(zipped.content))
    rows = [
        row
        for name in archive.namelist()
        for row in csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig")))
        if number in row
    ]
    assert len(rows) == 3 and _leaks(json.dumps(rows, ensure_ascii=False)) == []


async def test_a_follower_reads_the_public_summary_and_progress_never_the_text_or_the_contact(station, user_id):
    app, client, tokens = station
    street = _street()
    owner = Citizen(client, user_id)
    number = await _report(owner, street)

    # The offer to a neighbour of the same building: the public summary only.
    neighbour = Citizen(client, f"{user_id}-n")
    offer = await neighbour.until_summary(f"{street}3栋的路灯坏了，晚上太黑了", place=f"{street}3栋")
    assert number in offer and _leaks(offer) == [] and CONTACT not in offer and "3栋楼下" not in offer
    assert f"已为您关注案件 {number}" in await neighbour.say("关注")

    followed = await neighbour.say(f"查询 {number}")
    place = next(line for line in followed.splitlines() if line.startswith("地点："))
    assert number in followed and "您关注的案件" in followed and place[3:] and place[3:] in street
    assert _leaks(followed) == [] and CONTACT not in followed and "137****2109" not in followed
    assert "身份证" not in followed and "3栋" not in followed  # the text is cut short; the place at street level
    await do(client, tokens["staff1"], number, "transfer")
    assert "已转办" in await neighbour.say(f"查询{number}")
    # The answer reaches the follower masked, the owner as written.
    department = await _department_token(app, client, tokens, number)
    await do(client, department, number, "acknowledge")
    await do(client, department, number, "record_reply", reason="已电话联系王小明（138.1234.5678），路灯已修复。")
    await do(client, tokens["staff1"], number, "approve_reply")
    await burst(app)
    answered = await neighbour.say("你好")
    assert "路灯已修复" in answered and "王**" in answered and _leaks(answered) == []
    assert "已电话联系王小明（138.1234.5678）" in await owner.say("你好")

    mine = await owner.say(f"查询 {number}")
    assert "我叫王小明" in mine or "晚上一片漆黑" in mine  # the owner reads their own words
    stranger = await Citizen(client, f"{user_id}-s").say(f"查询 {number}")
    assert street not in stranger and _leaks(stranger) == []

    # A report at another building of the same street is offered nothing.
    elsewhere = await Citizen(client, f"{user_id}-e").until_summary(
        f"{street}5栋楼下的路灯坏了三盏，晚上一片漆黑", place=f"{street}5栋"
    )
    assert number not in elsewhere and "关注" not in elsewhere


async def test_the_department_reads_the_contact_left_for_it_and_never_a_raw_id_number(station, telegram, user_id):
    app, client, tokens = station
    street = _street()
    number = await _report(Citizen(client, user_id), street)
    async with app.state.runtime.sessionmaker() as session:  # the department with a chat in the fixture
        jianshe = (await DirectoryStore(session).ids(Department))["jianshe"]
        await session.execute(update(Case).where(Case.number == number).values(department_id=jianshe))
        await session.commit()
    await do(client, tokens["staff1"], number, "transfer", reason=f"身份证{ID_NUMBER}，请核实")
    await burst(app)

    seen = await client.get(f"/api/cases/{number}", headers=_auth(tokens["jianshe"]))
    assert seen.status_code == 200, seen.text
    case = seen.json()
    assert _leaks(seen.text) == [] and "110101********123X" in case["description"] and "王**" in case["description"]
    assert case["contact_phone"] == "137****2109"  # read as written only through the recorded door
    contact = await client.get(f"/api/cases/{number}/contact", headers=_auth(tokens["jianshe"]))
    assert contact.json() == {  # left for the handling staff
        "case_no": number,
        "anonymous": False,
        "consent": True,
        "phone": CONTACT,
        "unmasked": True,
    }
    other = await client.get(f"/api/cases/{number}/contact", headers=_auth(tokens["jiaotong"]))
    assert other.status_code == 404 and CONTACT not in other.text
    listed = await client.get("/api/cases", params={"limit": 1000}, headers=_auth(tokens["jianshe"]))
    assert _leaks(json.dumps(next(c for c in listed.json() if c["case_no"] == number), ensure_ascii=False)) == []
    pushed = [c["text"] for c in telegram.calls_to("/sendMessage") if str(c["chat_id"]) == tokens["department_chat"]]
    transfer = next(t for t in pushed if number in t and "【转办】" in t)
    assert _leaks(transfer) == [] and "王**" in transfer and "110101********123X" in transfer

    # A deputy following it reads it masked, the contact too; staff read everything.
    deputy = await _deputy_token(app, "wang-min")
    async with app.state.runtime.sessionmaker() as session:
        wang = (await DirectoryStore(session).ids(Deputy))["wang-min"]
        await session.execute(update(Case).where(Case.number == number).values(deputy_id=wang))
        await session.commit()
    followed = (await client.get(f"/api/cases/{number}", headers=_auth(deputy))).json()
    assert followed["contact_phone"] == "137****2109" and _leaks(json.dumps(followed, ensure_ascii=False)) == []
    as_deputy = (await client.get(f"/api/cases/{number}/contact", headers=_auth(deputy))).json()
    assert (as_deputy["phone"], as_deputy["unmasked"]) == ("137****2109", False)
    full = (await client.get(f"/api/cases/{number}", headers=_auth(tokens["staff1"]))).json()
    assert ID_NUMBER in full["description"] and full["contact_phone"] == "137****2109"
    as_staff = (await client.get(f"/api/cases/{number}/contact", headers=_auth(tokens["staff1"]))).json()
    assert (as_staff["phone"], as_staff["consent"]) == (CONTACT, True)
    # Every read was recorded, with who and whether the number was shown as written; staff alone list them.
    views = await client.get(f"/api/cases/{number}/contact/views", headers=_auth(tokens["staff1"]))
    assert [(v["role"], v["unmasked"]) for v in views.json()] == [
        ("department", True),
        ("deputy", False),
        ("staff", True),
    ]
    assert views.json()[0]["actor"].startswith("jianshe-")
    refused = await client.get(f"/api/cases/{number}/contact/views", headers=_auth(tokens["jianshe"]))
    assert refused.status_code == 403


async def test_an_anonymous_case_shows_its_reporters_channel_id_to_staff_only(station, telegram, user_id):
    app, client, tokens = station
    street = _street()
    citizen = Citizen(client, user_id)
    reply = await citizen.say(f"{street}的井盖丢了，留下一个大坑，晚上很危险")
    for _ in range(5):
        if "在哪里" in reply:
            reply = await citizen.say(f"{street}口")
        elif "是否同意" in reply:
            reply = await citizen.say("3")
        elif "请核对" in reply:
            assert "匿名反映" in reply
            reply = await citizen.say("确认")
        else:
            break
    number = reply.split("编号 ")[1].split("。")[0]
    await citizen.say(f"补充：{street}口往东二十米")
    deputy = await _deputy_token(app, "wang-min")
    async with app.state.runtime.sessionmaker() as session:
        ids = await DirectoryStore(session).ids(Department)
        wang = (await DirectoryStore(session).ids(Deputy))["wang-min"]
        await session.execute(
            update(Case).where(Case.number == number).values(department_id=ids["jianshe"], deputy_id=wang)
        )
        await session.commit()
    await do(client, tokens["staff1"], number, "transfer")
    await burst(app)

    for token in (tokens["jianshe"], deputy):
        detail = await client.get(f"/api/cases/{number}", headers=_auth(token))
        assert detail.status_code == 200 and user_id not in detail.text
        assert detail.json()["contact_phone"] is None
        contact = (await client.get(f"/api/cases/{number}/contact", headers=_auth(token))).json()
        assert (contact["anonymous"], contact["consent"], contact["phone"]) == (True, False, None)
        listed = await client.get("/api/cases", params={"limit": 1000}, headers=_auth(token))
        assert user_id not in listed.text
    assert not [c for c in telegram.calls_to("/sendMessage") if number in c["text"] and user_id in c["text"]]
    staff = (await client.get(f"/api/cases/{number}", headers=_auth(tokens["staff1"]))).json()
    assert staff["anonymous"] and any(e["actor"].endswith(user_id) for e in staff["events"])
