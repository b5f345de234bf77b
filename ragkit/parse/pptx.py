"""PPTX -> one page per slide: text boxes, tables and grouped shapes in slide order, then notes."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from pptx import Presentation
from pptx.shapes.base import BaseShape
from pptx.shapes.group import GroupShape

from ..records import Page
from .tables import table_lines


def _shape_texts(shapes: Iterable[BaseShape]) -> Iterator[str]:
    """Text of each shape; groups are walked, tables become one line per row (labelled with the header)."""
    for shape in shapes:
        if isinstance(shape, GroupShape):
            yield from _shape_texts(shape.shapes)
        elif getattr(shape, "has_table", False):
            yield "\n".join(table_lines([cell.text for cell in row.cells] for row in shape.table.rows))
        elif getattr(shape, "has_text_frame", False):
            yield shape.text_frame.text


def parse(path: Path) -> list[Page]:
    """Slide N is page N, so a citation points at the slide to open."""
    pages = []
    for number, slide in enumerate(Presentation(str(path)).slides, start=1):
        blocks = list(_shape_texts(slide.shapes))
        if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
            blocks.append(slide.notes_slide.notes_text_frame.text)
        pages.append(Page(number, "\n\n".join(b for b in blocks if b.strip())))
    return pages
