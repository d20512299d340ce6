"""An Excel workbook of plain tables, written straight as SpreadsheetML: the three public lists of a month.

A month's lists hold some 700,000 cells on a million cases. openpyxl (write-only mode, its XML written by
et_xmlfile in pure Python) took about 100 µs a cell, 25 s or more for the lists; XlsxWriter (constant-memory
mode) about 16 µs, pyexcelerate about as much. A table of strings and numbers needs little of what they do:
each sheet here is one header row, bold and frozen, column widths, then rows of text (inline strings) and
numbers, built as text, about 3 µs a cell. What it writes is what openpyxl reads back (tests/unit/services/
test_xlsx.py): the sheets, their values, the bold header, the frozen pane and the widths.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

Value = str | int | float | None

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# Characters XML 1.0 cannot hold (openpyxl refuses them): control characters but tab, line feed and return.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Excel holds at most this many characters in a cell, and refuses a workbook with more.
MAX_CELL_CHARACTERS = 32_767
_ESCAPED_CHARACTER = re.compile("(_x[0-9A-Fa-f]{4}_)")
# Rows encoded and compressed at a time: the sheet streams into the zip rather than sitting whole in memory.
_ROWS_PER_WRITE = 2000
# zlib's fastest level: a third of the default's time on a month's lists, for a file a fifth larger.
_COMPRESS_LEVEL = 1

_STYLES = (
    f'{_DECLARATION}<styleSheet xmlns="{_MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    "</fill></fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_BOLD = 1  # the header's style: the second of cellXfs


@dataclass(frozen=True)
class Sheet:
    """One sheet: its name, its rows (the first is the header, bold and frozen) and each column's width."""

    title: str
    rows: Sequence[Sequence[Value]]
    widths: Sequence[float]


def workbook(sheets: Sequence[Sheet]) -> bytes:
    """The sheets, in order, as the bytes of an .xlsx file."""
    buffer = io.BytesIO()
    # Each distinct text's cell markup, made once for the workbook: most cells repeat a value (a date, a topic, a
    # state), and the three lists repeat a case's summary and place.
    texts: dict[str, str] = {}
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=_COMPRESS_LEVEL) as archive:
        archive.writestr("[Content_Types].xml", _content_types(len(sheets)))
        archive.writestr(
            "_rels/.rels",
            f'{_DECLARATION}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
            f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>",
        )
        archive.writestr("xl/workbook.xml", _workbook(sheets))
        archive.writestr("xl/_rels/workbook.xml.rels", _workbook_relationships(len(sheets)))
        archive.writestr("xl/styles.xml", _STYLES)
        for number, sheet in enumerate(sheets, start=1):
            with archive.open(f"xl/worksheets/sheet{number}.xml", "w") as out:
                for chunk in _worksheet(sheet, texts):
                    out.write(chunk.encode())
    return buffer.getvalue()


def column_letter(index: int) -> str:
    """1 -> A, 26 -> Z, 27 -> AA."""
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _content_types(count: int) -> str:
    sheet_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
    sheets = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{sheet_type}"/>' for n in range(1, count + 1)
    )
    return (
        f'{_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f"{sheets}</Types>"
    )


def _workbook(sheets: Sequence[Sheet]) -> str:
    listed = "".join(
        f'<sheet name={quoteattr(sheet.title)} sheetId="{n}" r:id="rId{n}"/>' for n, sheet in enumerate(sheets, start=1)
    )
    return f'{_DECLARATION}<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}"><sheets>{listed}</sheets></workbook>'


def _workbook_relationships(count: int) -> str:
    sheets = "".join(
        f'<Relationship Id="rId{n}" Type="{_RELATIONSHIPS}/worksheet" Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, count + 1)
    )
    styles = f'<Relationship Id="rId{count + 1}" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/>'
    return f'{_DECLARATION}<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">{sheets}{styles}</Relationships>'


def _worksheet(sheet: Sheet, texts: dict[str, str]) -> Iterable[str]:
    """The sheet's XML, a few thousand rows at a time; `texts` holds the markup of the texts met so far."""
    width = max((len(row) for row in sheet.rows), default=0)
    letters = [column_letter(i) for i in range(1, width + 1)]
    extent = f"A1:{letters[-1]}{len(sheet.rows)}" if width else "A1"
    columns = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in enumerate(sheet.widths, start=1)
    )
    yield (
        f'{_DECLARATION}<worksheet xmlns="{_MAIN}"><dimension ref="{extent}"/>'
        '<sheetViews><sheetView workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f"{f'<cols>{columns}</cols>' if columns else ''}<sheetData>"
    )
    for first in range(0, len(sheet.rows), _ROWS_PER_WRITE):
        yield "".join(
            _row(number, row, letters, f' s="{_BOLD}"' if number == 1 else "", texts)
            for number, row in enumerate(sheet.rows[first : first + _ROWS_PER_WRITE], start=first + 1)
        )
    yield "</sheetData></worksheet>"


def _row(number: int, row: Sequence[Value], letters: Sequence[str], styled: str, texts: dict[str, str]) -> str:
    cells = []
    for letter, value in zip(letters, row, strict=False):
        if isinstance(value, str):
            if not value:
                continue  # an empty cell is left out, as openpyxl does
            text = texts.get(value)
            if text is None:
                text = texts[value] = _text(value)
            cells.append(f'<c r="{letter}{number}"{styled} t="inlineStr">{text}</c>')
        elif value is None:
            continue
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if not math.isfinite(value):
                continue  # a spreadsheet has no NaN nor infinity: the cell is left empty
            cells.append(f'<c r="{letter}{number}"{styled}><v>{value!r}</v></c>')
        else:
            raise TypeError(f"a cell holds text or a number, not {value!r}")
    return f'<row r="{number}">{"".join(cells)}</row>'


def _text(value: str) -> str:
    """A text cell's inline string."""
    value = value[:MAX_CELL_CHARACTERS]
    if "_x" in value:
        # Excel reads _xHHHH_ as the character it codes: a citizen's "_x4E2D_" must stay as written.
        value = _ESCAPED_CHARACTER.sub(r"_x005F\1", value)
    if value[0].isspace() or value[-1].isspace():
        text = f'<is><t xml:space="preserve">{escape(value)}</t></is>'
    else:
        text = f"<is><t>{escape(value)}</t></is>"
    # Left out after the cut and the test for spaces, as they were when looked for in the whole row.
    return _NOT_XML.sub("", text) if _NOT_XML.search(text) else text
