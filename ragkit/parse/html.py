"""HTML -> one page of visible text; scripts, styles and hidden templates are dropped."""

from __future__ import annotations

from pathlib import Path

from bs4 import BeautifulSoup

from ..records import Page
from .text import decode

_INVISIBLE = ("script", "style", "noscript", "template", "head", "svg")
_BLOCKS = ("p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "br", "section", "article", "table")


def parse(path: Path) -> list[Page]:
    """Visible text with block elements on their own lines, the <title> first."""
    soup = BeautifulSoup(decode(path, path.read_bytes()), "html.parser")
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    for tag in soup(_INVISIBLE):
        tag.decompose()
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    body = soup.get_text(" ")
    return [Page(1, f"{title}\n\n{body}" if title else body)]
