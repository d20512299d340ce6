"""What every `liaison` command shares: the settings (once config.yml is valid and the database migrated),
a database URL without its password, and printing a (done, message) result.

Kept light: `liaison --help` imports every command module, so the heavy imports live inside the commands.
"""

from __future__ import annotations

import asyncio

import click

from settings import ConfigError, Settings, get_settings, load_deployment


def load_settings() -> Settings:
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
        raise click.ClickException(f"{redacted(settings.database_url)}: {exc}") from None
    return settings


def redacted(url: str) -> str:
    """A database URL with its credentials hidden."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def echo_done(result: tuple[bool, str]) -> None:
    """Print the message of a command that was done; fail with it (exit code 1) when it was refused."""
    ok, message = result
    if not ok:
        raise click.ClickException(message)
    click.echo(message)
