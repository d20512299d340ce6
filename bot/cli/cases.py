"""`liaison case list|groups|show|contact|contact-views|templates|split` and one `liaison case ACTION` per
lifecycle action: the case store as staff see it, in text or JSON. The operator at the command line reads as
an admin (services.access.OPERATOR), unless a command acts `--as` a user."""

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


@case.command("contact")
@click.argument("case_no")
@click.option("--as", "user_name", default=None, help="the user reading it (default: the operator, as an admin)")
@click.option("--json", "as_json", is_flag=True)
def case_contact(case_no: str, user_name: str | None, as_json: bool) -> None:
    """The citizen's contact consent and phone; the read is recorded."""
    echo_done(asyncio.run(read_contact(load_settings(), case_no, user_name, as_json)))


@case.command("contact-views")
@click.argument("case_no")
@click.option("--json", "as_json", is_flag=True)
def case_contact_views(case_no: str, as_json: bool) -> None:
    """Who read the citizen's contact, and when."""
    echo_done(asyncio.run(list_contact_views(load_settings(), case_no, as_json)))


@case.command("templates")
@click.argument("case_no")
@click.option("--json", "as_json", is_flag=True)
def case_templates(case_no: str, as_json: bool) -> None:
    """The reply templates for the case's topic."""
    echo_done(asyncio.run(list_templates(load_settings(), case_no, as_json)))


@case.command("split")
@click.argument("case_no")
@click.option("--as", "user_name", required=True, help="the staff user splitting it")
@click.option(
    "--part",
    "parts",
    type=(str, str),
    multiple=True,
    required=True,
    metavar="TOPIC[:DEPARTMENT] TEXT",
    help="one problem: its topic (and department code, default the topic's) and its text; twice or more",
)
@click.option("--reason", default="", help="why it is split")
def case_split(case_no: str, user_name: str, parts: tuple[tuple[str, str], ...], reason: str) -> None:
    """Split a case holding several problems into new cases, one per part; the original is closed as split."""
    echo_done(asyncio.run(split(load_settings(), case_no, user_name, parts, reason)))


def _add_action_commands() -> None:
    """`liaison case transfer|acknowledge|record_reply|... CASE_NO --as USER`, one per lifecycle action (a split
    has its own command, `liaison case split`)."""
    for action in Action:
        if action is Action.SPLIT:
            continue

        @case.command(action.value.replace("_", "-"), help=f"{action.value} on a case, as a user")
        @click.argument("case_no")
        @click.option("--as", "user_name", required=True, help="the user acting (liaison user add)")
        @click.option("--reason", default="", help="why; the reply text for record-reply; the comment for rate")
        @click.option("--rating", type=click.Choice(["满意", "基本满意", "不满意"]))
        @click.option("--merged-into")
        @click.option("--answer")
        @click.option("--level", type=click.Choice(["区县", "市"]))
        @click.option("--kind", type=click.Choice(["约见", "评议", "询问"]), help="the standing committee's act")
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
                kind=fields.get("kind"),
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


async def read_contact(settings: Settings, number: str, user_name: str | None, as_json: bool) -> tuple[bool, str]:
    from bot.cli.users import actor_named
    from casework.lifecycle import IllegalTransition
    from services import cases
    from services.access import OPERATOR
    from storage.db import one_session
    from storage.models import utcnow
    from texts import staff as texts

    async with one_session(settings.async_database_url) as session:
        actor = OPERATOR if user_name is None else await actor_named(session, user_name)
        if isinstance(actor, str):
            return False, actor
        try:
            contact = await cases.case_contact(session, actor, number, utcnow())
        except IllegalTransition as exc:
            return False, exc.message
    if as_json:
        data = {
            "case_no": contact.number,
            "anonymous": contact.anonymous,
            "consent": contact.consent,
            "phone": contact.phone,
            "unmasked": contact.unmasked,
        }
        return True, json.dumps(data, ensure_ascii=False, indent=2)
    consent = texts.CLI_CONTACT_YES if contact.consent else texts.CLI_CONTACT_NO
    return True, texts.CLI_CONTACT.format(
        number=contact.number, consent=consent, phone=contact.phone or texts.CASE_CONTACT_NONE
    )


async def list_contact_views(settings: Settings, number: str, as_json: bool) -> tuple[bool, str]:
    from casework.lifecycle import IllegalTransition
    from services import cases
    from services.access import OPERATOR
    from storage.db import one_session

    async with one_session(settings.async_database_url) as session:
        try:
            views = await cases.contact_views(session, OPERATOR, number)
        except IllegalTransition as exc:
            return False, exc.message
    if as_json:
        return True, json.dumps(views, ensure_ascii=False, indent=2)
    return True, "\n".join(
        f"{_local(v['at'])}  {v['role']}:{v['actor']}  {'unmasked' if v['unmasked'] else 'masked'}" for v in views
    ) or "-"


async def list_templates(settings: Settings, number: str, as_json: bool) -> tuple[bool, str]:
    from casework.lifecycle import IllegalTransition
    from services import cases
    from services.access import OPERATOR
    from settings import load_deployment
    from storage.db import one_session

    deployment = load_deployment(settings.config_path)
    async with one_session(settings.async_database_url) as session:
        try:
            found = await cases.reply_templates(session, deployment, OPERATOR, number)
        except IllegalTransition as exc:
            return False, exc.message
    if as_json:
        return True, json.dumps(found, ensure_ascii=False, indent=2)
    return True, "\n\n".join(f"【{t['title']}】\n{t['text']}" for t in found)


async def split(
    settings: Settings, number: str, user_name: str, parts: tuple[tuple[str, str], ...], reason: str
) -> tuple[bool, str]:
    from bot.cli.users import actor_named
    from bot.runtime import Runtime
    from casework.lifecycle import IllegalTransition
    from services import cases
    from storage.models import utcnow
    from texts import staff as texts

    wanted = []
    for topic, text in parts:
        name, _, department = topic.partition(":")
        wanted.append(cases.NewPart(text, name.strip(), department.strip() or None))
    runtime = await Runtime.start(settings)
    try:
        async with runtime.sessionmaker() as session:
            actor = await actor_named(session, user_name)
            if isinstance(actor, str):
                return False, actor
            try:
                original, made = await cases.split_case(
                    session, runtime.deployment, runtime.calendar, number, actor, wanted, utcnow(), reason=reason
                )
            except IllegalTransition as exc:
                return False, exc.message
            numbers = texts.CASE_TOPICS_JOINER.join(f"{c.number}（{c.topic}）" for c in made)
            return True, texts.CLI_SPLIT_DONE.format(number=original.number, parts=numbers)
    finally:
        await runtime.close()
