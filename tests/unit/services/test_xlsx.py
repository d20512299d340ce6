"""services/xlsx.py: what it writes, openpyxl reads back as written; and the lists' workbook."""

from __future__ import annotations

import io
import math
import zipfile

import openpyxl
import pytest

from casework.lists import month_lists
from casework.metrics import Month
from services import reports, xlsx
from tests.unit.casework.test_metrics import CALENDAR, national_day_cases


def _read(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


def test_sheets_values_bold_frozen_header_and_widths_read_back_as_written():
    rows: list[list[xlsx.Value]] = [
        ["编号", "说明", "工作日"],
        ["LL1", "幸福路 <18号> & 3栋", 3],
        ["LL2", None, 0],
        ["LL3", "", None],
        ["LL4", "  前后留空  ", 2.5],
    ]
    content = xlsx.workbook([xlsx.Sheet("代表建议清单", rows, [12, 60, 8]), xlsx.Sheet('A&"B"', [["只有表头"]], [9])])
    book = _read(content)
    assert book.sheetnames == ["代表建议清单", 'A&"B"']
    sheet = book["代表建议清单"]
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [
        ["编号", "说明", "工作日"],
        ["LL1", "幸福路 <18号> & 3栋", 3],
        ["LL2", None, 0],
        ["LL3", None, None],  # an empty text is an empty cell, as openpyxl writes it
        ["LL4", "  前后留空  ", 2.5],
    ]
    assert [cell.font.b for cell in sheet[1]] == [True, True, True]
    assert not any(cell.font.b for cell in sheet[2])
    assert sheet.freeze_panes == "A2"
    assert [sheet.column_dimensions[letter].width for letter in "ABC"] == [12, 60, 8]
    assert [list(row) for row in book['A&"B"'].iter_rows(values_only=True)] == [["只有表头"]]


def test_characters_xml_cannot_hold_are_left_out():
    book = _read(xlsx.workbook([xlsx.Sheet("s", [["h"], ["响铃\x07了\x1b"]], [8])]))
    assert book["s"]["A2"].value == "响铃了"


def test_a_cell_holds_only_text_or_a_number():
    with pytest.raises(TypeError):
        xlsx.workbook([xlsx.Sheet("s", [["h"], [True]], [8])])


def test_column_letters():
    assert [xlsx.column_letter(n) for n in (1, 26, 27, 52, 703)] == ["A", "Z", "AA", "AZ", "AAA"]


def test_a_column_is_as_wide_as_its_widest_text_between_8_and_60():
    def measured(values: list[object]) -> int:  # every value measured, as the width is defined
        longest = max(reports.display_width("" if v is None else str(v)) for v in values)
        return min(max(longest + 2, 8), 60)

    for values in (
        ["a"],
        ["编号", None, "LL20260930001"],
        ["问题摘要", "路" * 29, "ab" * 30],
        ["说明", "x" * 40, "幸福路" * 10, 12],
        ["类别", "城乡建设", "城乡建设", "卫生计生", "其他"],
    ):
        assert reports.column_width(values) == measured(values)


def test_the_lists_workbook_has_a_sheet_per_list_with_its_table():
    lists = month_lists(Month(2026, 9), national_day_cases(), CALENDAR, 3)
    book = _read(reports.lists_xlsx(lists))
    assert book.sheetnames == ["代表建议清单", "交办清单", "办理效果清单"]
    for public_list in lists:
        sheet = book[public_list.title]
        expected = [[None if value == "" else value for value in row] for row in public_list.table()]
        assert [list(row) for row in sheet.iter_rows(values_only=True)] == expected
        assert sheet.freeze_panes == "A2" and all(cell.font.b for cell in sheet[1])
        for index, column in enumerate(zip(*public_list.table(), strict=True), start=1):
            assert sheet.column_dimensions[xlsx.column_letter(index)].width == reports.column_width(column)


def test_what_excel_cannot_hold_is_left_out_or_kept_as_written():
    long = "长" * (xlsx.MAX_CELL_CHARACTERS + 10)
    rows: list[list[xlsx.Value]] = [
        ["说明", "数"],
        ["市民写的 _x4E2D_ 原样", math.nan],
        [long, math.inf],
        ["控\x0b制", 1],
    ]
    content = xlsx.workbook([xlsx.Sheet("清单", rows, [20, 8])])
    sheet = zipfile.ZipFile(io.BytesIO(content)).read("xl/worksheets/sheet1.xml").decode()
    assert "_x005F_x4E2D_" in sheet  # Excel would read _x4E2D_ as 中; escaped, it shows what the citizen wrote
    values = [list(row) for row in _read(content)["清单"].iter_rows(values_only=True)]
    assert values[1][1] is None and values[2][1] is None  # no NaN nor infinity in a spreadsheet
    assert len(values[2][0]) == xlsx.MAX_CELL_CHARACTERS
    assert values[3] == ["控制", 1]  # a control character XML cannot hold is dropped, the rest kept
