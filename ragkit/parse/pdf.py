"""PDF -> pages with pypdf, one page per PDF page, page numbers kept (1-based)."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import FileNotDecryptedError, PdfReadError

from ..errors import ParseError
from ..records import Page


def parse(path: Path, password: str | None = None) -> list[Page]:
    """Extract the text layer of every page; an encrypted file needs its password."""
    with path.open("rb") as fh:
        if not fh.read(1024).lstrip().startswith(b"%PDF-"):
            raise ParseError(str(path), "corrupt: not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            # Many PDFs are "encrypted" with an empty user password only to restrict printing.
            if not reader.decrypt(password or ""):
                reason = "encrypted: wrong password" if password else "encrypted: password required"
                raise ParseError(str(path), reason)
        return [Page(i, page.extract_text() or "") for i, page in enumerate(reader.pages, start=1)]
    except FileNotDecryptedError:
        raise ParseError(str(path), "encrypted: password required") from None
    except PdfReadError as exc:
        raise ParseError(str(path), f"corrupt: {str(exc)[:160]}") from None
