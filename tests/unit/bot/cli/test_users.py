"""bot/cli/users.py: the console password of `liaison user add --password` when standard input is a pipe."""

from __future__ import annotations

import io

import click
import pytest

from bot.cli.users import read_password


@pytest.mark.parametrize(
    ("piped", "password"),
    [("s3cret\n", "s3cret"), ("s3cret\r\nsecond line\n", "s3cret"), (" spaced out ", " spaced out ")],
)
def test_one_line_of_standard_input_without_its_newline(monkeypatch, piped, password):
    monkeypatch.setattr("sys.stdin", io.StringIO(piped))
    assert read_password() == password


@pytest.mark.parametrize("piped", ["", "\n"])
def test_an_empty_password_is_refused(monkeypatch, piped):
    monkeypatch.setattr("sys.stdin", io.StringIO(piped))
    with pytest.raises(click.ClickException, match="密码不能为空"):
        read_password()
