"""bot/cli/reports.py: the text tables of `liaison report` and `liaison deputy record`."""

from __future__ import annotations

from bot.cli.reports import text_table


def test_columns_line_up_with_chinese_characters_two_wide():
    table = text_table([["部门", "受理"], ["住建局", "12"], ["合计", "3"]]).splitlines()
    assert table == ["部门    受理", "住建局    12", "合计       3"]


def test_alignment_per_column():
    assert text_table([["日期", "积分"], ["11-27", "+2"]], align="ll").splitlines() == ["日期   积分", "11-27  +2"]
