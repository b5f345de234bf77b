"""File -> pages. One module per format; this one picks the parser by file suffix.

A parser returns the text of each page (PDF) or of the whole file (other formats, page 1), and
raises :class:`~ragkit.errors.ParseError` with a short reason a user can act on
(``encrypted: password required``, ``corrupt: …``, ``empty: no text``). Parsers know nothing
of chunks or stores.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from ..errors import ParseError
from ..records import Page
from . import docx, html, pdf, text

Parser = Callable[[Path], list[Page]]

PARSERS: dict[str, tuple[str, Parser]] = {
    ".pdf": ("pdf", pdf.parse),
    ".txt": ("text", text.parse),
    ".text": ("text", text.parse),
    ".md": ("markdown", text.parse),
    ".markdown": ("markdown", text.parse),
    ".docx": ("docx", docx.parse),
    ".html": ("html", html.parse),
    ".htm": ("html", html.parse),
}

_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


def supported(path: Path) -> bool:
    """True when ragkit has a parser for this file's suffix."""
    return path.suffix.lower() in PARSERS


def parser_name(path: Path) -> str:
    """Short name of the parser used for ``path`` (recorded in the manifest)."""
    return PARSERS[path.suffix.lower()][0]


def normalize(raw: str) -> str:
    """Tidy whitespace so that character offsets and quotes are stable across formats."""
    lines = (_SPACES.sub(" ", line).strip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def parse_file(path: Path) -> list[Page]:
    """Parse one file into non-empty pages with normalized text; raise ParseError otherwise."""
    entry = PARSERS.get(path.suffix.lower())
    if entry is None:
        raise ParseError(str(path), f"unsupported file type {path.suffix or '(none)'}")
    try:
        if path.stat().st_size == 0:
            raise ParseError(str(path), "empty: file has 0 bytes")
        pages = entry[1](path)
    except ParseError:
        raise
    except MemoryError:
        raise ParseError(str(path), "too large to parse in memory") from None
    except Exception as exc:  # noqa: BLE001 - any library failure is a per-file skip, never a crash
        raise ParseError(str(path), f"corrupt: {type(exc).__name__}: {str(exc)[:160]}") from None
    cleaned = [Page(p.number, normalize(p.text)) for p in pages]
    cleaned = [p for p in cleaned if p.text]
    if not cleaned:
        reason = "no text layer (scanned?): OCR not available" if entry[0] == "pdf" else "empty: no text"
        raise ParseError(str(path), reason)
    return cleaned
