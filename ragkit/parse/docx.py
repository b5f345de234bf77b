"""DOCX -> one page: paragraphs and tables in document order (Word files have no fixed pages)."""

from __future__ import annotations

from pathlib import Path

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from ..records import Page


def _table_text(table: Table) -> str:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            value = " ".join(cell.text.split())
            if not cells or cells[-1] != value:  # merged cells repeat their text
                cells.append(value)
        rows.append(" | ".join(cells))
    return "\n".join(rows)


def parse(path: Path) -> list[Page]:
    """Body paragraphs and tables, each block on its own line, headings kept as lines."""
    document = docx.Document(str(path))
    blocks: list[str] = []
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph):
            blocks.append(item.text)
        elif isinstance(item, Table):
            blocks.append(_table_text(item))
    return [Page(1, "\n\n".join(b for b in blocks if b.strip()))]
