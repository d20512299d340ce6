"""The `liaison` command."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from settings import ConfigError, Settings, get_settings, load_deployment


def _settings() -> Settings:
    """The settings, once config.yml is valid and the database migrated; otherwise one clear line."""
    from storage.db import SchemaNotReady, check_schema, make_engine

    settings = get_settings()
    try:
        load_deployment(settings.config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None

    async def check() -> None:
        engine = make_engine(settings.async_database_url)
        try:
            await check_schema(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(check())
    except SchemaNotReady as exc:
        raise click.ClickException(f"{_redacted(settings.database_url)}: {exc}") from None
    return settings


@click.group()
def main() -> None:
    """网上代表联络站: the liaison station bot."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the web app (webhooks, console, API)."""
    import uvicorn

    from bot.http.app import create_app

    settings = _settings()
    app = create_app(settings, local_trial=host in ("127.0.0.1", "localhost", "::1"))
    uvicorn.run(app, host=host, port=port, log_level="info")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Start the Rasa server and the web app together (what `make run` does); Ctrl-C stops both."""
    from bot.cli.run import run_all

    sys.exit(run_all(_settings(), host, port))


@main.command()
@click.option("--user", "user_id", default=None, help="the citizen's id on the terminal channel")
def chat(user_id: str | None) -> None:
    """Talk to the bot as a citizen in the terminal."""
    from bot.channels.terminal import chat as run_chat

    asyncio.run(run_chat(_settings(), user_id))


@main.command()
@click.option("--burst", is_flag=True, help="run every job once and exit")
def worker(burst: bool) -> None:
    """Send pushes and run the timed jobs (deadlines, reminders, closing unrated answers)."""
    from bot.cli.cases import run_worker

    click.echo(asyncio.run(run_worker(_settings(), burst)))


@main.group()
def user() -> None:
    """People using the API and console."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["staff", "department", "deputy", "admin"]), required=True)
@click.option("--department", help="department code (config.yml), for --role department")
@click.option("--deputy", help="deputy code (config.yml), for --role deputy")
@click.option("--channel", help="where pushes reach them, e.g. telegram")
@click.option("--address", help="their id on that channel, e.g. a Telegram chat id")
@click.option("--password", is_flag=True, help="also set a console password (asked for)")
def user_add(name: str, role: str, department: str | None, deputy: str | None, channel: str | None,
             address: str | None, password: bool) -> None:
    """Create a user and print their API token (shown once)."""
    from bot.cli.cases import add_user

    secret = click.prompt("密码", hide_input=True, confirmation_prompt=True) if password else None
    try:
        token = asyncio.run(add_user(_settings(), name, role, department, deputy, channel, address, secret))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)


@main.group()
def db() -> None:
    """The case store."""


@db.command()
def upgrade() -> None:
    """Apply the migrations."""
    from storage.db import upgrade as run_upgrade

    settings = get_settings()
    run_upgrade(settings.sync_database_url)
    click.echo(f"database is up to date: {_redacted(settings.database_url)}")


@main.group()
def nlu() -> None:
    """The Rasa NLU: train, serve, parse, eval."""


@nlu.command()
@click.option("--force", is_flag=True, help="train even if the model of these inputs exists")
def train(force: bool) -> None:
    """Train the model if its data or pipeline changed."""
    from nlu import project

    path, trained = project.train(force=force)
    click.echo(f"{'trained' if trained else 'up to date'}: {path}")


@nlu.command("serve")
@click.option("--port", default=None, type=int, help="default: the port of RASA_URL")
def nlu_serve(port: int | None) -> None:
    """Run the Rasa server in the foreground."""
    from nlu import project
    from nlu.server import port_of

    sys.exit(project.serve(port or port_of(get_settings().rasa_url)))


@nlu.command()
def parse() -> None:
    """Read one message a line on standard input; print one JSON object a line."""
    from bot.cli.nlu import parse_lines

    asyncio.run(parse_lines(get_settings(), sys.stdin, sys.stdout))


@nlu.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def evaluate(file: Path, as_json: bool) -> None:
    """Intent accuracy and macro-F1 on FILE (and topic macro-F1 when it has topics)."""
    from bot.cli.nlu import evaluate_file

    report = asyncio.run(evaluate_file(get_settings(), file))
    click.echo(json.dumps(report, ensure_ascii=False, indent=2) if as_json else report["text"])


@main.group()
def case() -> None:
    """What staff see of the case store."""


@case.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", default=100, show_default=True)
def case_list(as_json: bool, limit: int) -> None:
    """The latest cases."""
    from bot.cli.cases import list_cases

    click.echo(asyncio.run(list_cases(_settings(), limit, as_json)))


@case.command("groups")
@click.option("--json", "as_json", is_flag=True)
def case_groups(as_json: bool) -> None:
    """Groups of similar cases (共性问题) with counts."""
    from bot.cli.cases import show_groups

    click.echo(asyncio.run(show_groups(_settings(), as_json)))


@case.command("show")
@click.argument("case_no")
@click.option("--json", "as_json", is_flag=True)
def case_show(case_no: str, as_json: bool) -> None:
    """One case with its events."""
    from bot.cli.cases import show_case

    output = asyncio.run(show_case(_settings(), case_no, as_json))
    if output is None:
        raise click.ClickException(f"没有编号为 {case_no} 的案件")
    click.echo(output)


def _add_action_commands() -> None:
    """`liaison case transfer|acknowledge|record_reply|... CASE_NO --as USER`, one per lifecycle action."""
    from casework.lifecycle import Action

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
            from bot.cli.cases import act_on_case

            ok, message = asyncio.run(act_on_case(_settings(), case_no, user_name, _action, fields))
            if not ok:
                raise click.ClickException(message)
            click.echo(message)


_add_action_commands()


def _month(_ctx: click.Context, _param: click.Parameter, value: str):  # type: ignore[no-untyped-def]
    from casework.metrics import Month

    try:
        return Month.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@click.option("--month", required=True, callback=_month, help="Beijing-time month, e.g. 2026-11")
@click.option("--by", type=click.Choice(["department", "station", "deputy", "month"]), default="department",
              show_default=True)
@click.option("--json", "as_json", is_flag=True)
def report(month, by: str, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Figures of the cases received in a month: 办结率, 满意率, on-time rates, per group."""
    from bot.cli.reports import report_command

    click.echo(asyncio.run(report_command(_settings(), month, by, as_json)))  # type: ignore[arg-type]


@main.group()
def export() -> None:
    """Files to publish."""


@export.command("lists")
@click.option("--month", required=True, callback=_month, help="Beijing-time month, e.g. 2026-11")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True,
              help="one workbook with a sheet per list, or one CSV file per list")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              help="directory to write into (default: the current one)")
def export_lists(month, fmt: str, out_dir: Path) -> None:  # type: ignore[no-untyped-def]
    """The three lists of a month (代表建议清单、交办清单、办理效果清单), names and phones masked."""
    from bot.cli.reports import export_lists_command

    for path in asyncio.run(export_lists_command(_settings(), month, fmt, out_dir)):  # type: ignore[arg-type]
        click.echo(path.resolve())


@main.group()
def deputy() -> None:
    """Deputies' work: their yearly record (履职档案)."""


@deputy.command("record")
@click.argument("code")
@click.option("--year", type=int, default=None, help="default: this year")
@click.option("--json", "as_json", is_flag=True)
def deputy_record(code: str, year: int | None, as_json: bool) -> None:
    """A deputy's yearly record: cases followed, answers on the spot, points and what earned them."""
    import datetime as dt

    from bot.cli.reports import deputy_record_command
    from casework.deadlines import LOCAL

    year = year or dt.datetime.now(LOCAL).year
    output = asyncio.run(deputy_record_command(_settings(), code, year, as_json))
    if output is None:
        raise click.ClickException(f"没有编码为 {code} 的代表")
    click.echo(output)


@deputy.command("bind-code")
@click.argument("code")
def deputy_bind_code(code: str) -> None:
    """A one-time code (valid a day) the deputy sends to the WeChat account as “绑定 CODE” to get pushes there."""
    from bot.channels.wechat.commands import issue_bind_code

    try:
        click.echo(asyncio.run(issue_bind_code(_settings(), code)))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@main.group()
def wechat() -> None:
    """The WeChat official account: deputies' QR codes, the menu."""


@wechat.command("qrcode")
@click.option("--deputy", "deputy_code", required=True, help="deputy code (config.yml)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="PNG file to write; default qrcode-DEPUTY.png")
def wechat_qrcode(deputy_code: str, out: Path | None) -> None:
    """A permanent QR code: a citizen who scans it talks to that deputy, and their reports follow them."""
    from bot.channels.wechat.commands import deputy_qrcode

    try:
        path, url = asyncio.run(deputy_qrcode(_settings(), deputy_code, out))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{path.resolve()}\n{url}")


@wechat.command("menu")
def wechat_menu() -> None:
    """Create the account's menu from config.yml."""
    from bot.channels.wechat.commands import create_menu

    try:
        menu = asyncio.run(create_menu(_settings()))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(menu, ensure_ascii=False, indent=2))


@main.group()
def reception() -> None:
    """Reception bookings: sessions and slots, bookings, closing a session, its deputies, outcomes."""


def _reception_done(result: tuple[bool, str]) -> None:
    ok, message = result
    if not ok:
        raise click.ClickException(message)
    click.echo(message)


@reception.command("slots")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None, help="first day, default today")
@click.option("--days", default=14, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def reception_slots(first, days: int, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """The sessions of the coming days with their slots (booked/capacity) and deputies on duty."""
    from bot.cli.reception import slots_command

    click.echo(asyncio.run(slots_command(_settings(), first.date() if first else None, days, as_json)))


@reception.command("bookings")
@click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), default=None, help="first day, default today")
@click.option("--days", default=1, show_default=True)
@click.option("--session", "key", default=None, help="one session, e.g. demo:2026-11-24:0900")
@click.option("--json", "as_json", is_flag=True)
def reception_bookings(first, days: int, key: str | None, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    """Bookings of a day (or several, or one session); phone numbers masked."""
    from bot.cli.reception import bookings_command

    click.echo(asyncio.run(bookings_command(_settings(), first.date() if first else None, days, key, as_json)))


@reception.command("close-session")
@click.argument("key")
@click.option("--reason", required=True, help="told to the booked citizens")
@click.option("--as", "user_name", required=True, help="a staff user (liaison user add)")
def reception_close(key: str, reason: str, user_name: str) -> None:
    """Close a session (e.g. demo:2026-11-24:0900); its booked citizens and deputies are told."""
    from bot.cli.reception import act_as

    _reception_done(asyncio.run(act_as(_settings(), user_name, "close", key=key, reason=reason)))


@reception.command("set-deputies")
@click.argument("key")
@click.argument("deputies", nargs=-1, required=True)
@click.option("--as", "user_name", required=True, help="a staff user (liaison user add)")
def reception_set_deputies(key: str, deputies: tuple[str, ...], user_name: str) -> None:
    """Name the deputies on duty at a session (deputy codes); citizens and deputies are told."""
    from bot.cli.reception import act_as

    _reception_done(asyncio.run(act_as(_settings(), user_name, "deputies", key=key, deputies=list(deputies))))


@reception.command("outcome")
@click.argument("number")
@click.argument("outcome", type=click.Choice(["attended", "absent", "answered", "case"]))
@click.option("--as", "user_name", required=True, help="the deputy on duty, or a staff user")
@click.option("--answer", default="", help="the answer given on the spot (answered), or a note")
@click.option("--deputy", default=None, help="the deputy who received the citizen (staff, several on duty)")
@click.option("--topic", default=None, help="the case's topic (case); guessed from the text if omitted")
def reception_outcome(number: str, outcome: str, user_name: str, answer: str, deputy: str | None,
                      topic: str | None) -> None:
    """After the session: what came of a booking. "case" registers a case followed by the deputy."""
    from bot.cli.reception import act_as

    _reception_done(asyncio.run(act_as(_settings(), user_name, "outcome", number=number, outcome=outcome,
                                       answer=answer, deputy=deputy, topic=topic)))


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    main()
