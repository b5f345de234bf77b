"""HTML -> one page of text; scripts, styles and templates are dropped.

Elements a browser would not show (``hidden``, ``display:none``, ``visibility:hidden``, zero
font size or opacity) keep their text, so it stays searchable, but it is reported as hidden:
such text is a common carrier of instructions aimed at a model (see :mod:`ragkit.injection`).
"""

from __future__ import annotations

import re
from pathlib import Path

from bs4 import BeautifulSoup, Tag

from ..records import Page
from .tables import table_lines
from .text import decode

_INVISIBLE = ("script", "style", "noscript", "template", "head", "svg")
_HIDDEN_STYLE = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(\.0*)?(px|pt|em|rem|%)?\s*(;|$)|opacity\s*:\s*0(\.0*)?\s*(;|$)",
    re.IGNORECASE,
)
_BLOCKS = ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "br", "section", "article", "table")


def _spanned(cell: Tag) -> list[str]:
    """A cell's text once per column it spans (``colspan``), so later cells stay under their headers."""
    span = str(cell.get("colspan", "1")).strip()
    return [cell.get_text(" ", strip=True)] * (int(span) if span.isdigit() and 0 < int(span) <= 64 else 1)


def parse(path: Path) -> list[Page]:
    """Visible text with block elements on their own lines, the <title> first; tables as rows
    labelled with their header (:mod:`ragkit.parse.tables`)."""
    soup = BeautifulSoup(decode(path, path.read_bytes()), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_INVISIBLE):
        tag.decompose()
    hidden = [
        tag.get_text(" ", strip=True)
        for tag in soup.find_all(lambda t: t.has_attr("hidden") or _HIDDEN_STYLE.search(t.get("style", "")))
    ]
    for table in reversed(soup.find_all("table")):  # inner tables first
        rows = ([text for c in tr.find_all(["td", "th"]) for text in _spanned(c)] for tr in table.find_all("tr"))
        table.replace_with("\n" + "\n".join(table_lines(rows)) + "\n")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    body = soup.get_text(" ")
    return [Page(1, f"{title}\n\n{body}" if title else body, hidden=tuple(h for h in hidden if h))]
