"""bot/cli/workdays.py: `liaison calendar check YEAR` prints what is known of the year, and fails while only its
statutory holidays are."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from bot.cli.main import main
from settings import get_settings
from tests.conftest import ROOT
from tests.factories import config_with_calendar


@pytest.fixture
def use_config(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    def use(path: object) -> None:
        monkeypatch.setenv("LIAISON_CONFIG", str(path))
        get_settings.cache_clear()

    yield use
    get_settings.cache_clear()


def test_a_year_with_its_statutory_holidays_only_exits_1(use_config):
    use_config(ROOT / "config.yml")
    result = CliRunner().invoke(main, ["calendar", "check", "2027"])
    assert result.exit_code == 1, result.output
    assert "2027 年的调休安排尚未配置，仅按法定节假日计算" in result.output
    assert "  2027-01-01 周五 元旦" in result.output.splitlines()


def test_a_year_the_config_or_the_library_gives_whole_exits_0(use_config, tmp_path):
    use_config(config_with_calendar(tmp_path))
    result = CliRunner().invoke(main, ["calendar", "check", "2027"])
    assert result.exit_code == 0, result.output
    assert "config.yml 中填写的放假安排" in result.output and "  2027-02-20 周六" in result.output.splitlines()
    result = CliRunner().invoke(main, ["calendar", "check", "2026"])
    assert result.exit_code == 0 and "chinese-calendar" in result.output.splitlines()[0]


def test_a_wrong_config_is_one_line(use_config, tmp_path):
    use_config(config_with_calendar(tmp_path, "  years:\n    2027:\n      workdays: [2026-12-26]\n"))
    result = CliRunner().invoke(main, ["calendar", "check", "2027"])
    assert result.exit_code == 1 and "years.2027: 2026-12-26 not in 2027" in result.output
