"""`liaison calendar check YEAR`: what the working-day calendar knows of a year."""

from __future__ import annotations

import sys

import click

from settings import ConfigError, get_settings, load_deployment


@click.group("calendar")
def calendar() -> None:
    """The working-day calendar (holidays and adjusted working days)."""


@calendar.command("check")
@click.argument("year", type=click.IntRange(1900, 2100))
def check(year: int) -> None:
    """Print YEAR's days off and adjusted working days and where they come from; exit 1 while only its
    statutory holidays are known."""
    from casework.workdays import WorkingCalendar
    from services import workdays

    try:
        deployment = load_deployment(get_settings().config_path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    complete, report = workdays.check_year(WorkingCalendar.configured(deployment.calendar), year)
    click.echo(report)
    sys.exit(0 if complete else 1)
