"""`liaison db upgrade`: the case store's migrations."""

from __future__ import annotations

import click

from bot.cli.common import redacted
from settings import get_settings


@click.group("db")
def db() -> None:
    """The case store."""


@db.command("upgrade")
def upgrade() -> None:
    """Apply the migrations."""
    from storage.db import upgrade as run_upgrade

    settings = get_settings()
    run_upgrade(settings.sync_database_url)
    click.echo(f"database is up to date: {redacted(settings.database_url)}")
