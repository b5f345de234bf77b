"""PDF -> pages, one page per PDF page, page numbers kept (1-based).

pypdf reads the text layer. Fonts without a usable Unicode mapping make that layer garbage
(control characters, glyph names such as ``/g437``, letters from a dozen unrelated scripts for
one Japanese sentence); such a page is read again with PDFium, which maps more fonts, and is
left empty when that is garbage too, so that it is OCRed or dropped rather than indexed.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pypdfium2
from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, LimitReachedError, PdfReadError

from ..errors import ParseError
from ..records import Page
from .hidden import read_page

_GLYPH_NAMES = re.compile(r"/g\d+|\(cid:\d+\)")
#: Above this share of non-space characters being control characters or glyph names, or of
#: letters outside the page's three main scripts, a page's text is garbage.
_MAX_BAD_SHARE = 0.05
_MAX_FOREIGN_SCRIPTS = 0.2
#: Below this share of letters and digits among non-space characters, text is not words.
_MIN_ALNUM_SHARE = 0.3
#: PDFium's reading replaces a garbled one only if it has at least this share of its words.
_MIN_KEPT = 0.2


@dataclass
class Extracted:
    """Text of each page; ``garbled`` numbers the pages emptied because their text was garbage.

    ``password`` is the one that opened the file (empty when none was needed), for reading it
    again with PDFium: a password given for other files must not be used on this one.
    """

    pages: list[Page]
    password: str = ""
    garbled: set[int] = field(default_factory=set)


def _script(char: str) -> str:
    """First word of the Unicode name (LATIN, CJK, HIRAGANA, ARABIC…): a cheap script label."""
    return unicodedata.name(char, "?").split(" ", 1)[0]


def garbled(text: str) -> bool:
    """True when extracted text is not readable words (see the module docstring)."""
    visible = [c for c in text if not c.isspace()]
    if not visible:
        return False
    controls = sum(1 for c in visible if unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn"))
    glyphs = sum(len(m) for m in _GLYPH_NAMES.findall(text))
    if (controls + glyphs) / len(visible) > _MAX_BAD_SHARE:
        return True
    if sum(1 for c in visible if c.isalnum()) / len(visible) < _MIN_ALNUM_SHARE:
        return True
    letters = [c for c in visible if c.isalpha()]
    if len(letters) < 20:
        return False
    main = sum(n for _, n in Counter(map(_script, letters)).most_common(3))
    return 1 - main / len(letters) > _MAX_FOREIGN_SCRIPTS


def _unlock(reader: PdfReader, path: Path, password: str | None) -> str:
    """Decrypt with the empty password first, then ``password``; the one that worked.

    Many PDFs are "encrypted" with an empty user password only to restrict printing; trying it
    first means a password given for other files never makes such a file fail.
    """
    for candidate in ("", password) if password else ("",):
        try:
            if reader.decrypt(candidate):
                return candidate
        except (NotImplementedError, PdfReadError) as exc:
            raise ParseError(str(path), f"encrypted: unsupported encryption ({str(exc)[:120]})") from None
    raise ParseError(str(path), "encrypted: wrong password" if password else "encrypted: password required")


def _pdfium_text(path: Path, password: str | None, numbers: list[int] | None = None) -> dict[int, str]:
    """Text of the given pages (all when ``numbers`` is None) as PDFium reads it."""
    document = pypdfium2.PdfDocument(str(path), password=password or None)
    try:
        wanted = range(1, len(document) + 1) if numbers is None else numbers
        return {n: document[n - 1].get_textpage().get_text_bounded() for n in wanted}
    finally:
        document.close()


def _recover(path: Path, password: str | None, error: PdfReadError) -> Extracted:
    """Pages of a file pypdf cannot read (broken cross-reference table…) as PDFium rebuilds it."""
    for candidate in dict.fromkeys(("", password or "")):  # the empty password first, as in _unlock
        try:
            texts = _pdfium_text(path, candidate)
        except pypdfium2.PdfiumError:
            continue
        pages = [Page(n, "" if garbled(t) else t) for n, t in texts.items()]
        return Extracted(pages, candidate, {n for n, t in texts.items() if garbled(t)})
    raise ParseError(str(path), f"corrupt: {str(error)[:160]}")


def parse(path: Path, password: str | None = None) -> Extracted:
    """Extract the text layer of every page; an encrypted file needs its password."""
    with path.open("rb") as fh:
        if not fh.read(1024).lstrip().startswith(b"%PDF-"):
            raise ParseError(str(path), "corrupt: not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(path, strict=False)
        used = _unlock(reader, path, password) if reader.is_encrypted else ""
        pages = [read_page(i, page) for i, page in enumerate(reader.pages, start=1)]
    except FileNotDecryptedError:
        raise ParseError(str(path), "encrypted: password required") from None
    except LimitReachedError:  # a decompression bomb: PDFium, which has no such limit, must not read it
        raise ParseError(str(path), "too large: a compressed stream exceeds pypdf's decompression limit") from None
    except PdfReadError as exc:
        return _recover(path, password, exc)
    suspect = [p.number for p in pages if garbled(p.text)]
    if not suspect:
        return Extracted(pages, used)
    retried = _pdfium_text(path, used, suspect)
    # A reading that lost most of the page is no better than garbage.
    length = {p.number: len(p.text.split()) for p in pages}
    kept = {n: t for n, t in retried.items() if not garbled(t) and len(t.split()) >= length[n] * _MIN_KEPT}
    pages = [Page(p.number, kept.get(p.number, ""), p.hidden) if p.number in retried else p for p in pages]
    return Extracted(pages, used, set(retried) - set(kept))
