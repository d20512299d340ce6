"""`liaison wechat qrcode|menu`: the WeChat official account (bot/channels/wechat/commands.py)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import click

from bot.cli.common import load_settings


@click.group("wechat")
def wechat() -> None:
    """The WeChat official account: deputies' QR codes, the menu."""


@wechat.command("qrcode")
@click.option("--deputy", "deputy_code", required=True, help="deputy code (config.yml)")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="PNG file to write; default qrcode-DEPUTY.png",
)
def wechat_qrcode(deputy_code: str, out: Path | None) -> None:
    """A permanent QR code: a citizen who scans it talks to that deputy, and their reports follow them."""
    from bot.channels.wechat.commands import deputy_qrcode

    try:
        path, url = asyncio.run(deputy_qrcode(load_settings(), deputy_code, out))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{path.resolve()}\n{url}")


@wechat.command("menu")
def wechat_menu() -> None:
    """Create the account's menu from config.yml."""
    from bot.channels.wechat.commands import create_menu

    try:
        menu = asyncio.run(create_menu(load_settings()))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(menu, ensure_ascii=False, indent=2))
