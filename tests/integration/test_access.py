"""Who sees what through the real app, on both databases (services/access.py): a department sees its cases
only once transferred to it, common-problem groups hold only the cases the caller may see, a deputy reads
their own record and no one else's, and identities in a case's text are masked for anyone but staff."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select, update

from storage.models import Case, CaseLink, Department, Deputy
from storage.repositories import DirectoryStore, UserStore
from tests.integration import test_loop
from tests.integration.test_conversations import Citizen
from tests.integration.test_loop import do

pytestmark = pytest.mark.integration
# The app with a recording Telegram API and staff and department users (see test_loop).
station, telegram = test_loop.station, test_loop.telegram
PHONE = "13812348000"


def _auth(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def _deputy_token(app, code: str) -> str:
    async with app.state.runtime.sessionmaker() as session:
        deputies = await DirectoryStore(session).ids(Deputy)
        _, token = await UserStore(session).add(
            name=f"{code}-{uuid.uuid4().hex[:6]}", role="deputy", deputy_id=deputies[code]
        )
        await session.commit()
    return token


async def _route_to(app, department: str, *numbers: str) -> None:
    """Route the cases to `department` (the NLU's topic would choose it; the test must not depend on it)."""
    async with app.state.runtime.sessionmaker() as session:
        department_id = (await DirectoryStore(session).ids(Department))[department]
        await session.execute(update(Case).where(Case.number.in_(numbers)).values(department_id=department_id))
        await session.commit()


async def _listed(client, token: str, **params) -> set[str]:
    response = await client.get("/api/cases", params={"limit": 1000, **params}, headers=_auth(token))
    assert response.status_code == 200, response.text
    return {c["case_no"] for c in response.json()}


async def test_a_department_sees_a_case_only_once_it_is_transferred_to_it(station, user_id):
    app, client, tokens = station
    number = await Citizen(client, user_id).report(f"小区门口的路灯坏了三盏，晚上很黑，我的电话{PHONE}")
    await _route_to(app, "jianshe", number)

    for token in (tokens["jianshe"], tokens["jiaotong"]):
        assert (await client.get(f"/api/cases/{number}", headers=_auth(token))).status_code == 404
        assert number not in await _listed(client, token)
        assert number not in await _listed(client, token, state="received")
    assert number in await _listed(client, tokens["staff1"])

    await do(client, tokens["staff1"], number, "transfer", reason="请核实维修")
    seen = await client.get(f"/api/cases/{number}", headers=_auth(tokens["jianshe"]))
    assert seen.status_code == 200, seen.text
    assert number in await _listed(client, tokens["jianshe"])
    assert (await client.get(f"/api/cases/{number}", headers=_auth(tokens["jiaotong"]))).status_code == 404
    assert number not in await _listed(client, tokens["jiaotong"])

    # The department reads the citizen's text with the phone number masked, and the number as the contact the
    # citizen left for the handling staff (the chat took it from the text) through the recorded door; staff read
    # the text as written.
    shown = seen.json()
    assert "138****8000" in shown["description"] and PHONE not in shown["description"]
    assert PHONE not in seen.text and shown["contact_phone"] == "138****8000"
    contact = (await client.get(f"/api/cases/{number}/contact", headers=_auth(tokens["jianshe"]))).json()
    assert (contact["phone"], contact["unmasked"]) == (PHONE, True)
    registered = next(e for e in seen.json()["events"] if e["action"] == "register")
    assert registered["actor"] == "citizen" and user_id not in seen.text
    listed = (await client.get("/api/cases", params={"limit": 1000}, headers=_auth(tokens["jianshe"]))).json()
    assert PHONE not in next(c for c in listed if c["case_no"] == number)["description"]
    staff = (await client.get(f"/api/cases/{number}", headers=_auth(tokens["staff1"]))).json()
    assert PHONE in staff["description"]
    assert next(e for e in staff["events"] if e["action"] == "register")["actor"].endswith(user_id)


async def test_common_problem_groups_hold_only_the_cases_the_caller_may_see(station, user_id):
    app, client, tokens = station
    ours = [
        await Citizen(client, f"{user_id}-{i}").report(text, place=place)
        for i, (text, place) in enumerate(
            [
                ("公园北门外的下水道井盖丢了，晚上有人差点掉进去", "人民公园北门"),
                ("人民公园北门那里井盖没了，很危险，请尽快补上", "人民公园北门外"),
                ("公园北门的窨井盖不见了，孩子路过很危险", "人民公园北门口"),
            ]
        )
    ]
    a, b, c = ours
    await _route_to(app, "jianshe", a, b)
    await _route_to(app, "jiaotong", c)
    async with app.state.runtime.sessionmaker() as session:  # registration links them; make sure of it
        ids = dict((await session.execute(select(Case.number, Case.id).where(Case.number.in_(ours)))).all())
        linked = set((await session.execute(select(CaseLink.case_id, CaseLink.similar_case_id))).all())
        session.add_all(
            [
                CaseLink(case_id=ids[later], similar_case_id=ids[earlier], score=0.9)
                for later, earlier in ((b, a), (c, b))
                if (ids[later], ids[earlier]) not in linked
            ]
        )
        await session.commit()
    for number in ours:
        await do(client, tokens["staff1"], number, "transfer")
    deputy = await _deputy_token(app, "wang-min")

    async def groups(token: str) -> list[set[str]]:
        response = await client.get("/api/cases/groups", headers=_auth(token))
        assert response.status_code == 200, response.text
        found = [{m["case_no"] for m in g["cases"]} & set(ours) for g in response.json()]
        return [g for g in found if g]

    assert await groups(tokens["staff1"]) == [{a, b, c}]
    assert await groups(tokens["jianshe"]) == [{a, b}]
    assert await groups(tokens["jiaotong"]) == []  # one case of theirs is no group to them
    assert await groups(deputy) == []

    # Once the deputy follows two of them, those two are a group to the deputy.
    async with app.state.runtime.sessionmaker() as session:
        wang = (await DirectoryStore(session).ids(Deputy))["wang-min"]
        await session.execute(update(Case).where(Case.number.in_([b, c])).values(deputy_id=wang))
        await session.commit()
    assert await groups(deputy) == [{b, c}]
    grouped = (await client.get("/api/cases/groups", headers=_auth(deputy))).json()
    assert next(g for g in grouped if b in {m["case_no"] for m in g["cases"]})["count"] == 2


async def test_a_deputy_reads_their_own_record_and_no_one_elses(station):
    app, client, tokens = station
    wang = await _deputy_token(app, "wang-min")
    own = await client.get("/api/deputies/wang-min/record", params={"year": 2026}, headers=_auth(wang))
    assert own.status_code == 200, own.text
    assert own.json()["deputy"]["code"] == "wang-min"
    other = await client.get("/api/deputies/li-jianguo/record", params={"year": 2026}, headers=_auth(wang))
    assert other.status_code == 403
    assert (
        await client.get("/api/deputies/li-jianguo/record", params={"year": 2026}, headers=_auth(tokens["staff1"]))
    ).status_code == 200
    assert (
        await client.get("/api/deputies/wang-min/record", params={"year": 2026}, headers=_auth(tokens["jianshe"]))
    ).status_code == 403


async def test_a_citizen_following_a_case_reads_its_summary_masked_and_a_stranger_nothing(station, user_id):
    app, client, tokens = station
    # A street of its own: similar reports elsewhere in the suite (test_loop's 幸福路) must not be offered.
    place = f"光明巷{uuid.uuid4().int % 900 + 100}号"
    owner = Citizen(client, user_id)
    number = await owner.report(f"我是{PHONE}，{place}门口的井盖不见了，一个大坑，晚上很危险", place=place)
    follower = Citizen(client, f"{user_id}-b")
    offer = await follower.until_summary("井盖丢了，留下一个大坑，有人差点掉进去", place=place)
    assert number in offer and PHONE not in offer
    assert f"已为您关注案件 {number}" in await follower.say("关注")

    followed = await follower.say(f"查询{number}")
    assert number in followed and "138****8000" in followed and PHONE not in followed
    assert PHONE in await owner.say(f"查询{number}")
    stranger = await Citizen(client, f"{user_id}-c").say(f"查询{number}")
    assert "井盖" not in stranger and PHONE not in stranger and "138****8000" not in stranger
