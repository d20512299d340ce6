"""The `liaison` command."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from settings import ConfigError, Settings, get_settings, load_deployment


def _settings() -> Settings:
    settings = get_settings()
    try:
        load_deployment(settings.config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
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

    from bot.app import create_app

    settings = _settings()
    app = create_app(settings, local_trial=host in ("127.0.0.1", "localhost", "::1"))
    uvicorn.run(app, host=host, port=port, log_level="info")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Start the Rasa server and the web app together (what `make run` does); Ctrl-C stops both."""
    from bot.run import run_all

    sys.exit(run_all(_settings(), host, port))


@main.command()
@click.option("--user", "user_id", default=None, help="the citizen's id on the terminal channel")
def chat(user_id: str | None) -> None:
    """Talk to the bot as a citizen in the terminal."""
    from bot.terminal import chat as run_chat

    asyncio.run(run_chat(_settings(), user_id))


@main.command()
@click.option("--burst", is_flag=True, help="run every job once and exit")
def worker(burst: bool) -> None:
    """Send pushes and run the timed jobs (deadlines, reminders, closing unrated answers)."""
    from bot.case_commands import run_worker

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
    from bot.case_commands import add_user

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
    from bot.nlu_commands import parse_lines

    asyncio.run(parse_lines(get_settings(), sys.stdin, sys.stdout))


@nlu.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True)
def evaluate(file: Path, as_json: bool) -> None:
    """Intent accuracy and macro-F1 on FILE (and topic macro-F1 when it has topics)."""
    from bot.nlu_commands import evaluate_file

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
    from bot.case_commands import list_cases

    click.echo(asyncio.run(list_cases(_settings(), limit, as_json)))


@case.command("show")
@click.argument("case_no")
@click.option("--json", "as_json", is_flag=True)
def case_show(case_no: str, as_json: bool) -> None:
    """One case with its events."""
    from bot.case_commands import show_case

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
            from bot.case_commands import act_on_case

            ok, message = asyncio.run(act_on_case(_settings(), case_no, user_name, _action, fields))
            if not ok:
                raise click.ClickException(message)
            click.echo(message)


_add_action_commands()


def _redacted(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


if __name__ == "__main__":
    main()
