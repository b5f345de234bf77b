"""A cited sentence where it stands: its page's stored text around it, and for a PDF the page
rendered with the sentence highlighted (:mod:`ragkit.highlight` draws it).

The text comes from the store, not the file, so it is what retrieval and the model read; only
the image needs the original PDF, and a view without it still says why.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from . import highlight
from .errors import RagkitError
from .records import Chunk, PageView
from .store import Store

#: Characters of the page shown before and after a sentence.
CONTEXT_CHARS = 600


def page_view(store: Store, collection: str, file: str | Path, page: int, sentence: str, cache: Path) -> PageView:
    """``sentence`` on ``page`` of ``file`` (a path as ingested) in ``collection``; rendered
    pages are kept under ``cache``. An empty ``sentence`` shows the page unmarked."""
    key = str(Path(file).expanduser().resolve())
    chunks = store.page_chunks(collection, key, page)
    is_pdf = Path(key).suffix.lower() == ".pdf"
    if not chunks and not (is_pdf and store.document(collection, key)):  # a PDF page may hold no text
        raise RagkitError(f"{file}: no page {page} of this document in the collection")
    text = _page_text(chunks) if chunks else ""
    found = highlight.locate(text, sentence)
    start, end = found if found else (-1, -1)
    low, high = (0, len(text)) if found is None else _around(text, start, end)
    view = PageView(key, page, sentence, text[low:high], start - low if found else -1, end - low if found else -1)
    if not is_pdf:
        return view
    if not Path(key).is_file():
        return replace(view, note="the original file is no longer there")
    try:
        image = highlight.page_image(Path(key), page, sentence, cache)
    except highlight.NoSuchPage:
        raise
    except RagkitError as exc:  # the file is there but PDFium cannot render it (encrypted)
        return replace(view, note=str(exc))
    note = "" if image.boxes else "the sentence was not found in the page's text layer (shown unmarked)"
    return replace(view, png=image.png, boxes=image.boxes, note=note)


def _page_text(chunks: list[Chunk]) -> str:
    """A page's text rebuilt from its chunks (each one the page's text from ``start`` to ``end``)."""
    text = [" "] * max(c.end for c in chunks)
    for chunk in chunks:
        text[chunk.start : chunk.end] = chunk.text
    return "".join(text)


def _around(text: str, start: int, end: int) -> tuple[int, int]:
    """About CONTEXT_CHARS either side of ``text[start:end]``, widened to whole lines."""
    low = text.rfind("\n", 0, max(0, start - CONTEXT_CHARS)) + 1
    high = text.find("\n", min(len(text), end + CONTEXT_CHARS))
    return low, len(text) if high < 0 else high
