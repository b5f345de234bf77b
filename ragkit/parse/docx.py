"""DOCX -> one page: paragraphs and tables in document order (Word files have no fixed pages).

The main part's XML is walked directly rather than through python-docx, which reads neither
Strict Open XML files nor text inside content controls, text boxes and nested tables. Elements
are matched by local name, so the Transitional and Strict namespaces read the same; deleted
revisions, field codes and the fallback copy of alternate content are left out.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator
from pathlib import Path

from lxml import etree

from ..records import Page
from .tables import table_lines

#: Elements whose text a reader does not see: properties, deleted text, field instructions,
#: and the fallback duplicate of a text box (``mc:Fallback``).
_SKIPPED = frozenset({"pPr", "rPr", "tblPr", "sectPr", "del", "delText", "instrText", "Fallback"})
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=True)


def _local(element: etree._Element) -> str:
    tag = element.tag
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(element: etree._Element, name: str) -> Iterator[etree._Element]:
    return (child for child in element if _local(child) == name)


def _blocks(element: etree._Element) -> Iterator[str]:
    """Paragraph and table texts under ``element``, in document order."""
    for child in element:
        name = _local(child)
        if name == "p":
            yield from _paragraph(child)
        elif name == "tbl":
            rows = (
                [text for cell in _children(row, "tc") for text in _spanned(cell)] for row in _children(child, "tr")
            )
            yield "\n".join(table_lines(rows))
        elif name not in _SKIPPED:
            yield from _blocks(child)  # content controls, smart tags, inserted revisions…


def _spanned(cell: etree._Element) -> list[str]:
    """A cell's text once per grid column it spans, so later cells stay under their headers."""
    span = 1
    for props in _children(cell, "tcPr"):
        for grid in _children(props, "gridSpan"):
            value = next((v for k, v in grid.attrib.items() if k.rsplit("}", 1)[-1] == "val"), "1")
            span = int(value) if value.isdigit() and 0 < int(value) <= 64 else 1
    return [" ".join(_blocks(cell))] * span


def _paragraph(paragraph: etree._Element) -> Iterator[str]:
    """The paragraph's text, then the paragraphs of text boxes anchored in it."""
    parts: list[str] = []
    boxes: list[str] = []

    def walk(element: etree._Element) -> None:
        for child in element:
            name = _local(child)
            if name == "t":
                parts.append(child.text or "")
            elif name == "tab":
                parts.append(" ")
            elif name in ("br", "cr"):
                parts.append("\n")
            elif name == "txbxContent":
                boxes.extend(_blocks(child))
            elif name not in _SKIPPED:
                walk(child)

    walk(paragraph)
    yield "".join(parts)
    yield from boxes


def _main_part(archive: zipfile.ZipFile) -> str:
    """Path of the document part, from the package relationships (``word/document.xml``)."""
    rels = etree.fromstring(archive.read("_rels/.rels"), _PARSER)
    for rel in rels:
        if rel.get("Type", "").endswith("/officeDocument"):
            return posixpath.normpath(rel.get("Target", "").lstrip("/"))
    return "word/document.xml"


def parse(path: Path) -> list[Page]:
    """Body paragraphs and tables, each block on its own line, headings kept as lines."""
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read(_main_part(archive)), _PARSER)
    return [Page(1, "\n\n".join(b for b in _blocks(root) if b.strip()))]
