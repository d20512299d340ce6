"""`liaison case list|groups|show` and one `liaison case ACTION` per lifecycle action: the case store as staff
see it, in text or JSON. The operator at the command line reads as an admin (services.access.OPERATOR)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Any

import click

from bot.cli.common import echo_done, load_settings
from casework.lifecycle import Action
from settings import Settings


@click.group("case")
def case() -> None:
    """What staff see of the case store."""


@case.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", default=100, show_default=True)
def case_list(as_json: bool, limit: int) -> None:
    """The latest cases."""
    click.echo(asyncio.run(list_cases(load_settings(), limit, as_json)))


@case.command("groups")
@click.option("--json", "as_json", is_flag=True)
def case_groups(as_json: bool) -> None:
    """Groups of similar cases (共性问题) with counts."""
    click.echo(asyncio.run(show_groups(load_settings(), as_json)))


@case.command("show")
@click.argument("case_no")
@click.option("--json", "as_json", is_flag=True)
def case_show(case_no: str, as_json: bool) -> None:
    """One case with its events."""
    output = asyncio.run(show_case(load_settings(), case_no, as_json))
    if output is None:
        raise click.ClickException(f"没有编号为 {case_no} 的案件")
    click.echo(output)


def _add_action_commands() -> None:
    """`liaison case transfer|acknowledge|record_reply|... CASE_NO --as USER`, one per lifecycle action."""
    for action in Action:

        @case.command(action.value.replace("_", "-"), help=f"{action.value} on a case, as a user")
        @click.argument("case_no")
        @click.option("--as", "user_name", required=True, help="the user acting (liaison user add)")
        @click.option("--reason", default="", help="why; the reply text for record-reply; the comment for rate")
        @click.option("--rating", type=click.Choice(["满意", "基本满意", "不满意"]))
        @click.option("--merged-into")
        @click.option("--answer")
        @click.option("--level", type=click.Choice(["区县", "市"]))
        @click.option("--topic")
        @click.option("--department", help="department code, for assign")
        def run_action(case_no: str, user_name: str, _action: Action = action, **fields: str | None) -> None:
            echo_done(asyncio.run(act_on_case(load_settings(), case_no, user_name, _action, fields)))


_add_action_commands()


async def show_groups(settings: Settings, as_json: bool) -> str:
    from casework.cases import CaseState
    from services import cases
    from services.access import OPERATOR
    from storage.db import one_session

    async with one_session(settings.async_database_url) as session:
        found = await cases.common_problem_groups(session, OPERATOR)
    if as_json:
        return json.dumps(found, ensure_ascii=False, indent=2)
    if not found:
        return "（暂无共性问题）"
    return "\n\n".join(
        f"共性问题：{g['topic']}，{g['count']} 件（在办 {g['open']} 件），地点：{'、'.join(g['places'])}\n"
        + "\n".join(f"  {c['case_no']}  {CaseState(c['state']).label}  {c['summary']}" for c in g["cases"])
        for g in found
    )


async def list_cases(settings: Settings, limit: int, as_json: bool) -> str:
    from services import cases
    from services.access import OPERATOR
    from storage.db import one_session

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
    from casework.lifecycle import IllegalTransition
    from services import cases
    from services.access import OPERATOR
    from storage.db import one_session

    async with one_session(settings.async_database_url) as session:
        try:
            found, data = await cases.case_detail(session, OPERATOR, number)
        except IllegalTransition:
            return None
        attachments = len(found.attachments)
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
    lines += [
        f"  {_local(e['at'])}  {e['role']}:{e['actor']}  {e['from'] or '-'} → {e['to']}  {e['reason']}"
        for e in data["events"]
    ]
    return "\n".join(lines)


# `liaison case show --json` prints what staff see of the case itself, as it always has.
_CASE_FIELDS = (
    "case_no",
    "state",
    "state_label",
    "topic",
    "department",
    "place",
    "description",
    "anonymous",
    "created_at",
    "updated_at",
    "reply_due_at",
    "events",
)


def _local(iso: str) -> str:
    from casework.deadlines import LOCAL

    return f"{dt.datetime.fromisoformat(iso).astimezone(LOCAL):%Y-%m-%d %H:%M}"


async def act_on_case(
    settings: Settings, number: str, user_name: str, action: Action, fields: dict[str, Any]
) -> tuple[bool, str]:
    from bot.cli.users import actor_named
    from bot.runtime import Runtime
    from casework.cases import CaseState
    from casework.lifecycle import Command, IllegalTransition
    from services import cases
    from storage.models import utcnow

    runtime = await Runtime.start(settings)
    try:
        async with runtime.sessionmaker() as session:
            actor = await actor_named(session, user_name)
            if isinstance(actor, str):
                return False, actor
            command = Command(
                action,
                actor.role,
                actor.name,
                reason=fields.get("reason") or "",
                rating=fields.get("rating"),
                merged_into=fields.get("merged_into"),
                answer=fields.get("answer"),
                level=fields.get("level"),
            )
            try:
                found, transition = await cases.perform(
                    session,
                    runtime.deployment,
                    runtime.calendar,
                    number,
                    actor,
                    command,
                    utcnow(),
                    topic=fields.get("topic"),
                    department_code=fields.get("department"),
                )
            except IllegalTransition as exc:
                return False, exc.message
            return True, (
                f"{found.number}: {CaseState(transition.from_state).label} → "
                f"{CaseState(transition.to_state).label}（{transition.reason}）"
            )
    finally:
        await runtime.close()
