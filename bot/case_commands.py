"""`liaison case list|show`: the case store as staff see it, in text or JSON."""

from __future__ import annotations

import json
from typing import Any

from casework.cases import CaseState
from casework.deadlines import LOCAL
from settings import Settings
from storage.db import make_engine, make_sessionmaker
from storage.models import Case, Department
from storage.repositories import CaseStore, DirectoryStore


def case_json(case: Case, departments: dict[int, str]) -> dict[str, Any]:
    return {
        "case_no": case.number,
        "state": case.state,
        "state_label": CaseState(case.state).label,
        "topic": case.topic,
        "department": departments.get(case.department_id or 0),
        "place": case.place,
        "description": case.description,
        "anonymous": case.anonymous,
        "created_at": case.created_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "reply_due_at": case.reply_due_at.isoformat(),
        "events": [
            {"action": e.action, "actor": e.actor, "role": e.actor_role, "from": e.from_state, "to": e.to_state,
             "reason": e.reason, "at": e.at.isoformat()}
            for e in case.events
        ],
    }


async def list_cases(settings: Settings, limit: int, as_json: bool) -> str:
    engine = make_engine(settings.async_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            cases = await CaseStore(session).listing(limit)
            departments = await DirectoryStore(session).names(Department)
    finally:
        await engine.dispose()
    if as_json:
        return json.dumps([case_json(c, departments) for c in cases], ensure_ascii=False, indent=2)
    if not cases:
        return "（暂无案件）"
    return "\n".join(
        f"{c.number}  {CaseState(c.state).label:<4}  {c.topic:<7}  {departments.get(c.department_id or 0, '-'):<12}  "
        f"{c.created_at.astimezone(LOCAL):%Y-%m-%d %H:%M}  {' '.join(c.description.split())[:30]}"
        for c in cases
    )


async def show_case(settings: Settings, number: str, as_json: bool) -> str | None:
    engine = make_engine(settings.async_database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            case = await CaseStore(session).by_number(number)
            departments = await DirectoryStore(session).names(Department)
    finally:
        await engine.dispose()
    if case is None:
        return None
    data = case_json(case, departments)
    if as_json:
        return json.dumps(data, ensure_ascii=False, indent=2)
    lines = [
        f"{data['case_no']}  {data['state_label']}",
        f"类别：{data['topic']}    承办：{data['department']}",
        f"地点：{data['place']}",
        f"受理：{case.created_at.astimezone(LOCAL):%Y-%m-%d %H:%M}    "
        f"应答复：{case.reply_due_at.astimezone(LOCAL):%Y-%m-%d}",
        f"匿名：{'是' if case.anonymous else '否'}    附件：{len(case.attachments)}",
        "问题：" + case.description,
        "事件：",
    ]
    lines += [f"  {e.at.astimezone(LOCAL):%Y-%m-%d %H:%M}  {e.actor_role}:{e.actor}  {e.from_state or '-'} → "
              f"{e.to_state}  {e.reason}" for e in case.events]
    return "\n".join(lines)
