"""`liaison case list|show`: the case store as staff see it, in text or JSON."""

from __future__ import annotations

import json
from typing import Any

from casework.cases import CaseState, Role
from casework.deadlines import LOCAL
from services.records import Actor
from settings import Settings
from storage.db import one_session
from storage.models import Case, Department, Deputy
from storage.repositories import CaseStore, DirectoryStore


def case_json(case: Case, departments: dict[int, str], events: bool = True) -> dict[str, Any]:
    data = {
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
    }
    if events:
        data["events"] = [
            {"action": e.action, "actor": e.actor, "role": e.actor_role, "from": e.from_state, "to": e.to_state,
             "reason": e.reason, "at": e.at.isoformat()}
            for e in case.events
        ]
    return data


async def actor_of(session, user) -> Actor:  # type: ignore[no-untyped-def]
    """The user as an actor, with their deputy's code and id when they are a deputy."""
    code = None
    if user.deputy_id is not None:
        code = next((c for c, i in (await DirectoryStore(session).ids(Deputy)).items() if i == user.deputy_id), None)
    return Actor(name=user.name, role=Role(user.role), department_id=user.department_id, deputy_code=code,
                 deputy_id=user.deputy_id)


async def actor_named(session, user_name: str) -> Actor | str:  # type: ignore[no-untyped-def]
    """The active user `user_name` as an actor, or the line to print when there is none."""
    from storage.repositories import UserStore

    user = await UserStore(session).by_name(user_name)
    if user is None or not user.active:
        return f"没有用户 {user_name}（liaison user add 创建）"
    return await actor_of(session, user)


async def common_problem_groups(session, actor: Actor | None = None) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    """Groups of similar cases, of the cases the actor may see (`None`: the operator, who sees all);
    a group of which the actor sees fewer than two cases is no common problem to them."""
    from sqlalchemy import select

    from casework.similarity import groups
    from services import access

    cases = CaseStore(session)
    found_groups = groups(await cases.links())
    if actor is not None:
        linked = {n for members in found_groups for n in members}
        shown = set((await session.execute(select(Case.number).where(
            Case.number.in_(linked), access.case_filter(actor)))).scalars())
        found_groups = sorted((members & shown for members in found_groups if len(members & shown) >= 2),
                              key=len, reverse=True)
    result = []
    for members in found_groups:
        rows = [await cases.by_number(n) for n in sorted(members)]
        found = [c for c in rows if c is not None]
        result.append({"count": len(found), "topic": found[0].topic if found else "",
                       "places": sorted({c.place for c in found}),
                       "open": sum(1 for c in found if c.state not in ("closed", "escalated", "rejected", "withdrawn")),
                       "cases": [{"case_no": c.number, "state": c.state,
                                  "summary": _summary(actor, c.description)} for c in found]})
    return result


def _summary(actor: Actor | None, description: str) -> str:
    from services import access

    line = " ".join(description.split())
    return (line if actor is None else access.masked_for(actor, line))[:40]


async def show_groups(settings: Settings, as_json: bool) -> str:
    async with one_session(settings.async_database_url) as session:
        found = await common_problem_groups(session)
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
        cases = await CaseStore(session).listing(limit)
        departments = await DirectoryStore(session).names(Department)
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
    async with one_session(settings.async_database_url) as session:
        case = await CaseStore(session).by_number(number)
        departments = await DirectoryStore(session).names(Department)
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


async def run_worker(settings: Settings, burst: bool) -> str:
    import asyncio
    import signal

    from bot.runtime import Runtime
    from bot.worker.runner import Worker

    services = await Runtime.start(settings)
    try:
        worker = Worker(services)
        if burst:
            return json.dumps(await worker.run_due(burst=True), ensure_ascii=False)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await worker.run_forever(stop)
        return "worker stopped"
    finally:
        await services.close()


async def add_user(settings: Settings, name: str, role: str, department: str | None, deputy: str | None,
                   channel: str | None, address: str | None, password: str | None) -> str:
    from bot.runtime import Runtime
    from storage.models import Deputy
    from storage.repositories import UserStore

    services = await Runtime.start(settings)
    try:
        async with services.sessionmaker() as session:
            directory = DirectoryStore(session)
            department_id = deputy_id = None
            if role == "department":
                department_id = (await directory.ids(Department)).get(department or "")
                if department_id is None:
                    raise ValueError(f"部门用户需要用 --department 指定部门，可选："
                                     f"{', '.join(d.code for d in services.deployment.departments)}")
            if role == "deputy":
                deputy_id = (await directory.ids(Deputy)).get(deputy or "")
                if deputy_id is None:
                    raise ValueError(f"代表用户需要用 --deputy 指定代表，可选："
                                     f"{', '.join(d.code for d in services.deployment.deputies)}")
            users = UserStore(session)
            if await users.by_name(name):
                raise ValueError(f"用户 {name} 已存在")
            new, token = await users.add(name=name, role=role, department_id=department_id, deputy_id=deputy_id,
                                         password=password)
            new.channel, new.address = channel, address
            await session.commit()
            return token
    finally:
        await services.close()


async def act_on_case(settings: Settings, number: str, user_name: str, action, fields: dict) -> tuple[bool, str]:  # type: ignore[no-untyped-def]
    from bot.runtime import Runtime
    from casework.lifecycle import Command, IllegalTransition
    from services.cases import perform
    from storage.models import utcnow

    services = await Runtime.start(settings)
    try:
        async with services.sessionmaker() as session:
            actor = await actor_named(session, user_name)
            if isinstance(actor, str):
                return False, actor
            command = Command(action, actor.role, actor.name, reason=fields.get("reason") or "",
                              rating=fields.get("rating"), merged_into=fields.get("merged_into"),
                              answer=fields.get("answer"), level=fields.get("level"))
            try:
                case, transition = await perform(session, services.deployment, services.calendar, number, actor,
                                                 command, utcnow(), topic=fields.get("topic"),
                                                 department_code=fields.get("department"))
            except IllegalTransition as exc:
                return False, exc.message
            return True, (f"{case.number}: {CaseState(transition.from_state).label} → "
                          f"{CaseState(transition.to_state).label}（{transition.reason}）")
    finally:
        await services.close()
