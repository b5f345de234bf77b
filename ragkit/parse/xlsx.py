"""XLSX/XLSM -> one page per sheet, one line per non-empty row.

Cells are joined with `` | `` as DOCX tables are (tabs would not survive whitespace
normalization). The workbook is streamed (openpyxl read-only mode), so memory is bounded by
one row rather than the sheet; cached formula results are read (``data_only``), not formulas.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import load_workbook

from ..records import Page


def _cell(value: object) -> str:
    return "" if value is None else " ".join(str(value).split())


def parse(path: Path) -> list[Page]:
    """Sheet N is page N; its first line is the sheet's name."""
    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        pages = []
        for number, sheet in enumerate(workbook.worksheets, start=1):
            lines = [sheet.title]
            for row in sheet.iter_rows(values_only=True):
                cells = [_cell(v) for v in row]
                while cells and not cells[-1]:
                    cells.pop()
                if cells:
                    lines.append(" | ".join(cells))
            pages.append(Page(number, "\n".join(lines) if len(lines) > 1 else ""))
        return pages
    finally:
        workbook.close()
