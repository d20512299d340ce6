"""bot/cli/main.py: one group per module, all registered on `liaison`, and a `--help` that stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from bot.cli.main import main
from tests.conftest import ROOT

CLI = ROOT / "bot" / "cli"


def test_every_group_and_command_of_the_contract_is_registered():
    assert set(main.commands) == {
        "serve",
        "run",
        "chat",
        "worker",
        "user",
        "db",
        "nlu",
        "case",
        "report",
        "export",
        "deputy",
        "wechat",
        "reception",
        "calendar",
    }
    groups = {name: set(cmd.commands) for name, cmd in main.commands.items() if isinstance(cmd, click.Group)}
    assert groups["user"] == {"add"} and groups["db"] == {"upgrade"}
    assert groups["nlu"] == {"train", "serve", "parse", "eval", "corrections"}
    assert {"list", "groups", "show", "transfer", "rate"} <= groups["case"]
    assert groups["export"] == {"lists"} and groups["deputy"] == {"record", "bind-code"}
    assert groups["wechat"] == {"qrcode", "menu"}
    assert groups["reception"] == {"slots", "bookings", "close-session", "set-deputies", "outcome"}
    assert groups["calendar"] == {"check"}


def test_each_group_lives_in_its_own_module():
    for name, module in {
        "user": "users",
        "db": "db",
        "nlu": "nlu",
        "case": "cases",
        "export": "reports",
        "deputy": "reports",
        "wechat": "wechat",
        "reception": "reception",
        "calendar": "workdays",
        "worker": "run",
        "serve": "run",
    }.items():
        assert main.commands[name].callback.__module__ == f"bot.cli.{module}"  # type: ignore[union-attr]


def test_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert all(name in result.output for name in main.commands)


def test_help_imports_neither_the_services_nor_the_database():
    probe = "import sys, bot.cli.main; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True)
    loaded = set(out.stdout.split())
    heavy = {"services", "storage", "sqlalchemy", "bot.http", "bot.runtime", "nlu.client", "uvicorn"}
    assert not loaded & heavy


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_cli_and_the_http_routes_never_import_each_other():
    # `liaison serve` and `liaison run` start the app: bot/cli/run.py alone imports its factory.
    for path in CLI.glob("*.py"):
        uses_http = {m for m in _imports(path) if m == "bot.http" or m.startswith("bot.http.")}
        assert uses_http <= ({"bot.http.app"} if path.name == "run.py" else set()), path
    for path in (ROOT / "bot" / "http").rglob("*.py"):
        assert not any(m == "bot.cli" or m.startswith("bot.cli.") for m in _imports(path)), path
