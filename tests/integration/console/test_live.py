"""The console's live stream through a real server (uvicorn), real Redis and PostgreSQL, with real Rasa: each
viewer's stream carries only events of conversations (and, for a department, messages) they may see, and a
reconnect with Last-Event-ID resumes after the last event seen."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from sqlalchemy import select, update

from bot.http.app import create_app
from storage.db import make_engine, make_sessionmaker
from storage.models import Case, ChannelIdentity, Conversation, Department
from storage.repositories import DirectoryStore, UserStore
from tests.conftest import make_settings
from tests.integration.console.conftest import LiveServer
from tests.integration.test_conversations import Citizen

pytestmark = pytest.mark.integration
PASSWORD = "实时-live-2026"


@pytest.fixture
async def served(postgres_url, real_redis_url, var_dir, rasa_url, free_port):
    settings = make_settings(postgres_url, real_redis_url, var_dir, rasa_url=rasa_url)
    engine = make_engine(settings.async_database_url)
    with LiveServer(create_app(settings), free_port) as server:
        try:
            yield server, make_sessionmaker(engine)
        finally:
            await engine.dispose()


async def signed_in_client(server, db, role: str, department: str | None = None) -> httpx.AsyncClient:
    name = f"{role}-{uuid.uuid4().hex[:6]}"
    async with db() as session:
        department_id = (await DirectoryStore(session).ids(Department))[department] if department else None
        await UserStore(session).add(name=name, role=role, department_id=department_id, password=PASSWORD)
        await session.commit()
    client = httpx.AsyncClient(base_url=server.url, timeout=30)
    form = await client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    signed = await client.post("/console/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    assert signed.status_code == 303
    return client


async def say(server, user_id: str, text: str) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        response = await client.post("/api/messages", json={"channel": "web", "user_id": user_id, "text": text})
        assert response.status_code == 200, response.text


async def conversation_id(db, user_id: str) -> int:
    async with db() as session:
        return (
            await session.execute(
                select(Conversation.id)
                .join(ChannelIdentity, ChannelIdentity.id == Conversation.identity_id)
                .where(ChannelIdentity.external_id == user_id)
            )
        ).scalar_one()


async def read_until(response: httpx.Response, done, limit: int = 500) -> list[dict[str, str]]:
    """Server-sent events from an open stream until `done(events)`; a hang guard, not a speed limit."""
    events: list[dict[str, str]] = []
    current: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if current.get("event"):
                events.append(current)
                if done(events) or len(events) >= limit:
                    return events
            current = {}
            continue
        field, _, value = line.partition(":")
        current[field] = value.strip()
    return events


async def test_each_stream_carries_only_what_its_viewer_may_see(served):
    server, db = served
    staff = await signed_in_client(server, db, "staff")
    department = await signed_in_client(server, db, "department", "jianshe")
    theirs, stranger = f"web-{uuid.uuid4().hex[:8]}", f"web-{uuid.uuid4().hex[:8]}"

    # One citizen's case becomes the department's: registered, routed to it and transferred by staff.
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as api:
        number = await Citizen(api, theirs).report("小区门口路灯坏了三盏，晚上一片漆黑，走路很不安全")
        async with db() as session:
            departments = await DirectoryStore(session).ids(Department)
            await session.execute(
                update(Case).where(Case.number == number).values(department_id=departments["jianshe"])
            )
            _, token = await UserStore(session).add(name=f"api-{uuid.uuid4().hex[:6]}", role="staff")
            await session.commit()
        moved = await api.post(
            f"/api/cases/{number}/actions",
            json={"action": "transfer", "reason": "请核实维修"},
            headers={"authorization": f"Bearer {token}"},
        )
        assert moved.status_code == 200, moved.text
    theirs_id = await conversation_id(db, theirs)
    page = await department.get(f"/console/conversations/{theirs_id}")
    assert page.status_code == 200 and "路灯坏了三盏" in page.text, "the department reads its case's report"

    async with (
        department.stream("GET", "/console/live") as dept_events,
        staff.stream("GET", "/console/live") as staff_events,
    ):
        assert dept_events.status_code == staff_events.status_code == 200
        await say(server, stranger, "你好，联络站在哪里")
        await say(server, theirs, "你好，请问周末开门吗")  # not part of the case: not the department's to read
        # Staff take the case's conversation over: an event about a conversation the department may see.
        panel = await staff.get(f"/console/conversations/{theirs_id}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', panel.text).group(1)
        taken = await staff.post(f"/console/conversations/{theirs_id}/take", data={"csrf_token": csrf})
        assert taken.status_code == 303
        by_staff = await read_until(staff_events, lambda events: events[-1]["event"] == "hold")
        by_department = await read_until(dept_events, lambda events: events[-1]["event"] == "hold")

    stranger_id = await conversation_id(db, stranger)
    assert {e["data"] for e in by_staff} >= {str(theirs_id), str(stranger_id)}, "staff see every conversation"
    assert [(e["event"], e["data"]) for e in by_department] == [("hold", str(theirs_id))], by_department
    assert all(e.get("id") for e in by_staff), "every event has an id to resume from"

    # A reconnect resumes after the last event it saw: nothing seen is sent again, nothing missed is lost.
    last_seen = by_staff[-1]["id"]
    await say(server, stranger, "谢谢")
    async with staff.stream("GET", "/console/live", headers={"Last-Event-ID": last_seen}) as resumed:
        again = await read_until(resumed, lambda events: any(e["data"] == str(stranger_id) for e in events))
    assert all(e["id"] > last_seen for e in again) and again[0]["data"] == str(stranger_id)
    await staff.aclose()
    await department.aclose()
