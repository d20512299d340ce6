"""`liaison user add`: people using the API and console; and the user a command acts as (`--as`)."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import click

from bot.cli.common import load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from casework.actors import Actor
    from settings import Settings


@click.group("user")
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
def user_add(
    name: str,
    role: str,
    department: str | None,
    deputy: str | None,
    channel: str | None,
    address: str | None,
    password: bool,
) -> None:
    """Create a user and print their API token (shown once)."""
    secret = read_password() if password else None
    try:
        token = asyncio.run(add_user(load_settings(), name, role, department, deputy, channel, address, secret))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(token)


def read_password() -> str:
    """The console password: asked for twice at a terminal, else the first line of standard input."""
    if sys.stdin.isatty():
        return str(click.prompt("密码", hide_input=True, confirmation_prompt=True))
    from texts import staff as texts

    secret = sys.stdin.readline().rstrip("\r\n")
    if not secret:
        raise click.ClickException(texts.CLI_EMPTY_PASSWORD)
    return secret


async def add_user(
    settings: Settings,
    name: str,
    role: str,
    department: str | None,
    deputy: str | None,
    channel: str | None,
    address: str | None,
    password: str | None,
) -> str:
    from bot.runtime import Runtime
    from services import users
    from storage.models import utcnow

    runtime = await Runtime.start(settings)
    try:
        async with runtime.sessionmaker() as session:
            return await users.add_user(
                session,
                runtime.deployment,
                name=name,
                role=role,
                department=department,
                deputy=deputy,
                channel=channel,
                address=address,
                password=password,
                now=utcnow(),
            )
    finally:
        await runtime.close()


async def actor_named(session: AsyncSession, user_name: str) -> Actor | str:
    """The active user `user_name` as an actor, or the line to print when there is none."""
    from services import users

    try:
        return await users.actor_named(session, user_name)
    except users.UnknownUser as exc:
        return exc.message
