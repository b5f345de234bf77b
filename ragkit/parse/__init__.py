"""File -> pages. One module per format; this one picks the parser by file suffix.

A parser returns the text of each page (PDF page, slide, sheet) or of the whole file (other
formats, page 1), and raises :class:`~ragkit.errors.ParseError` with a short reason a user can
act on (``encrypted: password required``, ``corrupt: …``, ``empty: no text``). PDF pages
without a text layer are OCRed when Tesseract is installed. Parsers know nothing of chunks or
stores; :mod:`ragkit.parse.worker` runs them in a separate, limited process.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ParseError
from ..records import Page
from . import docx, html, ocr, pdf, pdf_tables, pptx, text, xlsx

#: Office files are ZIP archives; a password-protected one is an OLE container instead.
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OFFICE = (".docx", ".pptx", ".xlsx", ".xlsm")

_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLANKS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class Parsed:
    """Non-empty pages of one file and the parser that read them (``pdf+ocr`` when OCR ran)."""

    pages: list[Page]
    parser: str


#: Reads one file (with a password, for PDFs) into its non-empty, normalized pages.
Reader = Callable[[Path, str | None], Parsed]


def supported(path: Path) -> bool:
    """True when ragkit has a parser for this file's suffix."""
    return path.suffix.lower() in PARSERS


def normalize(raw: str) -> str:
    """Tidy whitespace so that character offsets and quotes are stable across formats."""
    lines = (_SPACES.sub(" ", line).strip() for line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    return _BLANKS.sub("\n\n", "\n".join(lines)).strip()


def _check(path: Path) -> None:
    """Refuse what no parser should open: empty files, password-protected Office files."""
    if path.stat().st_size == 0:
        raise ParseError(str(path), "empty: file has 0 bytes")
    if path.suffix.lower() in _OFFICE:
        with path.open("rb") as fh:
            if fh.read(len(_OLE_MAGIC)) == _OLE_MAGIC:
                raise ParseError(str(path), "encrypted: password-protected Office files are not supported")


def _normalized(pages: list[Page]) -> list[Page]:
    return [Page(p.number, normalize(p.text), p.hidden) for p in pages]


def _pdf(path: Path, password: str | None) -> Parsed:
    """Text layer first; pages without usable text are OCRed when Tesseract is installed."""
    extracted = pdf.parse(path, password)
    pages = _normalized(pdf_tables.with_tables(path, extracted.pages, extracted.password))
    blank = [p.number for p in pages if not p.text]
    if blank and ocr.available():
        read = {p.number: p for p in _normalized(ocr.ocr_pages(path, blank, extracted.password))}
        pages = [read.get(p.number, p) for p in pages]
        if not any(p.text for p in pages):
            raise ParseError(str(path), "no text layer (scanned): OCR found no text")
        return Parsed([p for p in pages if p.text], "pdf+ocr")
    if not any(p.text for p in pages):
        raise ParseError(str(path), ocr.UNUSABLE if extracted.garbled else ocr.UNAVAILABLE)
    return Parsed([p for p in pages if p.text], "pdf")


def _plain(name: str, parse: Callable[[Path], list[Page]]) -> Reader:
    """A reader for a format that has neither passwords nor OCR."""

    def read(path: Path, password: str | None) -> Parsed:
        return Parsed([p for p in _normalized(parse(path)) if p.text], name)

    return read


#: Suffix -> reader; the parser name in each ``Parsed`` is recorded in the manifest.
PARSERS: dict[str, Reader] = {
    ".pdf": _pdf,
    ".txt": _plain("text", text.parse),
    ".text": _plain("text", text.parse),
    ".md": _plain("markdown", text.parse),
    ".markdown": _plain("markdown", text.parse),
    ".docx": _plain("docx", docx.parse),
    ".pptx": _plain("pptx", pptx.parse),
    ".xlsx": _plain("xlsx", xlsx.parse),
    ".xlsm": _plain("xlsx", xlsx.parse),
    ".html": _plain("html", html.parse),
    ".htm": _plain("html", html.parse),
}


def parse_document(path: Path, password: str | None = None) -> Parsed:
    """Parse one file into non-empty pages with normalized text; raise ParseError otherwise.

    ``password`` opens an encrypted PDF. A ``MemoryError`` is let through: the worker process
    that runs this under a memory limit turns it into a reason that names the limit.
    """
    reader = PARSERS.get(path.suffix.lower())
    if reader is None:
        raise ParseError(str(path), f"unsupported file type {path.suffix or '(none)'}")
    try:
        _check(path)
        parsed = reader(path, password)
    except (ParseError, MemoryError):
        raise
    except Exception as exc:  # noqa: BLE001 - any library failure is a per-file skip, never a crash
        raise ParseError(str(path), f"corrupt: {type(exc).__name__}: {str(exc)[:160]}") from None
    if not parsed.pages:
        raise ParseError(str(path), "empty: no text")
    return parsed


def parse_file(path: Path, password: str | None = None) -> list[Page]:
    """The pages of :func:`parse_document`, for callers that do not need the parser's name."""
    return parse_document(path, password).pages
