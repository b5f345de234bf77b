"""Plain text and Markdown -> one page, with the encoding detected rather than assumed."""

from __future__ import annotations

from pathlib import Path

from charset_normalizer import from_bytes

from ..errors import ParseError
from ..records import Page


def decode(path: Path, data: bytes) -> str:
    """UTF-8 (with or without BOM) first; otherwise the most likely encoding; binary is refused.

    NUL bytes mark binary data even where the bytes happen to be valid UTF-8; only UTF-16/32
    text (announced by its byte-order mark) legitimately contains them.
    """
    if b"\x00" in data[:8192] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ParseError(str(path), "binary file, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(data).best()
    if best is None:
        raise ParseError(str(path), "binary file or unknown text encoding")
    return str(best)


def parse(path: Path) -> list[Page]:
    """The whole file is page 1; Markdown stays as written (its markup reads fine to a model)."""
    return [Page(1, decode(path, path.read_bytes()))]
