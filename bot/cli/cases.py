"""`liaison case …`, `liaison user add`, `liaison worker`: the case store as staff see it, in text or JSON."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from casework.actors import Actor
from casework.cases import CaseState
from casework.deadlines import LOCAL
from casework.lifecycle import Action, Command, IllegalTransition
from services import cases, users
from services.access import OPERATOR
from settings import Settings
from storage.db import one_session
from storage.models import utcnow


async def actor_named(session: AsyncSession, user_name: str) -> Actor | str:
    """The active user `user_name` as an actor, or the line to print when there is none."""
    try:
        return await users.actor_named(session, user_name)
    except users.UnknownUser as exc:
        return exc.message


async def show_groups(settings: Settings, as_json: bool) -> str:
    async with one_session(settings.async_database_url) as session:
        found = await cases.common_problem_groups(session, OPERATOR)
    if as_json:
        return json.dumps(found, ensure_ascii=False, indent=2)
    if not found:
        return "（暂无共性问题）"
    return "\n\n".join(
        f"共性问题：{g['topic']}，{g['count']} 件（在办 {g['open']} 件），地点：{'、'.join(g['places'])}\n"
        + "\n".join(f"  {c['case_no']}  {CaseState(c['state']).label}  {c['summary']}" for c in g["cases"])
        for g in found)


async def list_cases(settings: Settings, limit: int, as_json: bool) -> str:
    async with one_session(settings.async_database_url) as session:
        found = await cases.list_cases(session, OPERATOR, limit=limit, events=as_json)
    if as_json:
        return json.dumps(found, ensure_ascii=False, indent=2)
    if not found:
        return "（暂无案件）"
    return "\n".join(
        f"{c['case_no']}  {c['state_label']:<4}  {c['topic']:<7}  {c['department'] or '-':<12}  "
        f"{_local(c['created_at'])}  {' '.join(c['description'].split())[:30]}"
        for c in found
    )


async def show_case(settings: Settings, number: str, as_json: bool) -> str | None:
    async with one_session(settings.async_database_url) as session:
        try:
            case, data = await cases.case_detail(session, OPERATOR, number)
        except IllegalTransition:
            return None
        attachments = len(case.attachments)
    if as_json:
        return json.dumps({k: data[k] for k in _CASE_FIELDS}, ensure_ascii=False, indent=2)
    lines = [
        f"{data['case_no']}  {data['state_label']}",
        f"类别：{data['topic']}    承办：{data['department']}",
        f"地点：{data['place']}",
        f"受理：{_local(data['created_at'])}    应答复：{_local(data['reply_due_at'])[:10]}",
        f"匿名：{'是' if data['anonymous'] else '否'}    附件：{attachments}",
        "问题：" + data["description"],
        "事件：",
    ]
    lines += [f"  {_local(e['at'])}  {e['role']}:{e['actor']}  {e['from'] or '-'} → {e['to']}  {e['reason']}"
              for e in data["events"]]
    return "\n".join(lines)


# `liaison case show --json` prints what staff see of the case itself, as it always has.
_CASE_FIELDS = ("case_no", "state", "state_label", "topic", "department", "place", "description", "anonymous",
                "created_at", "updated_at", "reply_due_at", "events")


def _local(iso: str) -> str:
    return f"{dt.datetime.fromisoformat(iso).astimezone(LOCAL):%Y-%m-%d %H:%M}"


async def run_worker(settings: Settings, burst: bool) -> str:
    import asyncio
    import signal

    from bot.runtime import Runtime
    from bot.worker.runner import Worker

    runtime = await Runtime.start(settings)
    try:
        worker = Worker(runtime)
        if burst:
            return json.dumps(await worker.run_due(burst=True), ensure_ascii=False)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await worker.run_forever(stop)
        return "worker stopped"
    finally:
        await runtime.close()


async def add_user(settings: Settings, name: str, role: str, department: str | None, deputy: str | None,
                   channel: str | None, address: str | None, password: str | None) -> str:
    from bot.runtime import Runtime

    runtime = await Runtime.start(settings)
    try:
        async with runtime.sessionmaker() as session:
            return await users.add_user(session, runtime.deployment, name=name, role=role, department=department,
                                        deputy=deputy, channel=channel, address=address, password=password)
    finally:
        await runtime.close()


async def act_on_case(settings: Settings, number: str, user_name: str, action: Action,
                      fields: dict[str, Any]) -> tuple[bool, str]:
    from bot.runtime import Runtime

    runtime = await Runtime.start(settings)
    try:
        async with runtime.sessionmaker() as session:
            actor = await actor_named(session, user_name)
            if isinstance(actor, str):
                return False, actor
            command = Command(action, actor.role, actor.name, reason=fields.get("reason") or "",
                              rating=fields.get("rating"), merged_into=fields.get("merged_into"),
                              answer=fields.get("answer"), level=fields.get("level"))
            try:
                case, transition = await cases.perform(session, runtime.deployment, runtime.calendar, number,
                                                       actor, command, utcnow(), topic=fields.get("topic"),
                                                       department_code=fields.get("department"))
            except IllegalTransition as exc:
                return False, exc.message
            return True, (f"{case.number}: {CaseState(transition.from_state).label} → "
                          f"{CaseState(transition.to_state).label}（{transition.reason}）")
    finally:
        await runtime.close()
