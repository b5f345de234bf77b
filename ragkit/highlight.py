"""A cited sentence -> where it stands on its PDF page -> the page as a PNG with it highlighted.

A citation is checked fastest on the page itself. PDFium gives each character of a page's text
its box; the sentence (as ragkit extracted it, with pypdf) is found in PDFium's reading of the
same page by its characters alone, ignoring white space, since the two libraries break lines
and space words differently. PDFium's rectangles of the matched characters (one per run of
text on a line) are drawn over the rendered page. Pages are rendered on this machine and cached,
keyed by the file's bytes, so a second look costs a file read.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tempfile
import unicodedata
from dataclasses import asdict, dataclass
from pathlib import Path

import pypdfium2
import pypdfium2.raw as pdfium_c
from PIL import Image, ImageDraw

from .errors import RagkitError
from .parse import ocr
from .records import Box

#: Rendering scale: 2 is 144 dpi, readable on a laptop screen and sharp when zoomed once.
SCALE = 2.0
#: Highlight colour (RGBA): a marker-pen yellow that leaves the text readable.
_MARKER = (255, 214, 0, 110)
_OUTLINE = (230, 150, 0, 255)


def _squeezed(text: str, fold: bool = False) -> tuple[str, list[int]]:
    """``text`` without white space (NFKC, so ligatures and full-width forms match; casefolded
    with ``fold``), and for each character kept its index in ``text``."""
    kept, where = [], []
    for index, char in enumerate(text):
        form = unicodedata.normalize("NFKC", char)
        for part in form.casefold() if fold else form:
            if not part.isspace() and part not in "\ufffe\u00ad-":  # soft hyphens, hyphenation
                kept.append(part)
                where.append(index)
    return "".join(kept), where


def locate(text: str, sentence: str) -> tuple[int, int] | None:
    """Where ``sentence`` stands in ``text`` (start, end), matched on its characters alone:
    line breaks, spacing and hyphenation may differ; case as written first, then any case."""
    for fold in (False, True):
        wanted, _ = _squeezed(sentence, fold)
        squeezed, where = _squeezed(text, fold)
        start = squeezed.find(wanted) if wanted else -1
        if start >= 0:
            return where[start], where[start + len(wanted) - 1] + 1
    return None


def sentence_boxes(path: Path, page: int, sentence: str) -> list[Box]:
    """The rectangles (one per run of text on a line) of ``sentence`` on page ``page`` (1-based)
    of a PDF; empty when PDFium's text of the page does not hold it (a scanned page, a garbled
    font)."""
    document = pypdfium2.PdfDocument(str(path))
    try:
        if not 1 <= page <= len(document):
            return []
        textpage = document[page - 1].get_textpage()
        if textpage.count_chars() == 0 and ocr.available():  # a scan: the words Tesseract reads
            return _ocr_boxes(document[page - 1], sentence)
        found = locate(textpage.get_text_range(), sentence)
        if found is None:
            return []
        # Offsets in the text PDFium returns are not always character indices (it adds and
        # drops characters); PDFium converts them.
        first, last = (pdfium_c.FPDFText_GetCharIndexFromTextIndex(textpage.raw, i) for i in (found[0], found[1] - 1))
        if first < 0 or last < first:
            return []
        count = textpage.count_rects(first, last - first + 1)
        return [Box(*textpage.get_rect(i)) for i in range(count)]
    finally:
        document.close()


def _ocr_boxes(pdf_page: pypdfium2.PdfPage, sentence: str) -> list[Box]:
    """The boxes of ``sentence`` on a scanned page, one per line of words, from OCR."""
    words = ocr.words(pdf_page.render(scale=ocr.DPI / 72, grayscale=True).to_pil())
    text, owner = "", []
    for index, word in enumerate(words):
        text += word.text + " "
        owner += [index] * (len(word.text) + 1)
    found = locate(text, sentence)
    if found is None:
        return []
    chosen = words[owner[found[0]] : owner[found[1] - 1] + 1]
    left, _bottom, _right, top = pdf_page.get_bbox()
    points = 72 / ocr.DPI
    boxes = []
    for line in dict.fromkeys(w.line for w in chosen):
        on_line = [w for w in chosen if w.line == line]
        boxes.append(
            Box(
                left + min(w.left for w in on_line) * points,
                top - max(w.bottom for w in on_line) * points,
                left + max(w.right for w in on_line) * points,
                top - min(w.top for w in on_line) * points,
            )
        )
    return boxes


class NoSuchPage(RagkitError):
    """The page number is not one of the file's pages."""


@dataclass(frozen=True)
class PageImage:
    """A rendered page: its cached PNG, the highlighted boxes, and how points map to pixels."""

    png: Path
    boxes: list[Box]
    #: The top-left corner of the rendered area (the crop box) in points, and pixels per point.
    origin: tuple[float, float]
    scale: float

    def pixels(self, box: Box) -> tuple[float, float, float, float]:
        """``box`` in the image's pixels: (x0, y0, x1, y1), origin at the top left."""
        left, top = self.origin
        return (
            (box.left - left) * self.scale,
            (top - box.top) * self.scale,
            (box.right - left) * self.scale,
            (top - box.bottom) * self.scale,
        )


def cache_for(root: Path, path: Path) -> Path:
    """The folder under ``root`` where one document's rendered pages are kept (one per
    document, so that removing the document removes its pages)."""
    return root / hashlib.sha256(str(path).encode()).hexdigest()[:24]


def forget(root: Path, path: Path) -> None:
    """Delete the rendered pages of one document (a cache: nothing is lost that cannot be redrawn)."""
    shutil.rmtree(cache_for(root, path), ignore_errors=True)


def page_image(path: Path, page: int, sentence: str, root: Path) -> PageImage:
    """Page ``page`` of a PDF with ``sentence`` highlighted, rendered once per file content,
    page and sentence into the document's folder under ``root``. Rotated pages are shown without the highlight: PDFium's
    boxes are in unrotated page space. RagkitError when PDFium cannot open the file (an
    encrypted PDF: its password is used for ingest only, never stored)."""
    try:
        return _page_image(path, page, sentence, cache_for(root, path))
    except pypdfium2.PdfiumError as exc:
        raise RagkitError(f"{path}: the page cannot be rendered ({exc})") from None
    except OSError as exc:  # the file unreadable, the cache unwritable
        raise RagkitError(f"{path}: the page cannot be shown ({exc.strerror or exc})") from None
    except subprocess.SubprocessError as exc:  # Tesseract failed on a scanned page
        raise RagkitError(f"{path}: the scanned page cannot be read ({exc})") from None


def _page_image(path: Path, page: int, sentence: str, cache: Path) -> PageImage:
    """:func:`page_image` without the translation of errors."""
    digest = hashlib.sha256(hashlib.sha256(path.read_bytes()).digest())
    digest.update(f"\0{page}\0{SCALE}\0{sentence}".encode())
    target = cache / f"{digest.hexdigest()[:32]}.png"
    found = target.with_suffix(".json")  # the boxes, kept beside the image: OCR runs once
    if target.exists() and found.exists():
        boxes = [Box(**b) for b in json.loads(found.read_text(encoding="utf-8"))]
    else:
        boxes = sentence_boxes(path, page, sentence)
    document = pypdfium2.PdfDocument(str(path))
    try:
        if not 1 <= page <= len(document):
            raise NoSuchPage(f"{path}: no page {page} (the file has {len(document)})")
        pdf_page = document[page - 1]
        left, _bottom, _right, top = pdf_page.get_bbox()  # the area rendered (inherited boxes too)
        shown = PageImage(target, boxes if pdf_page.get_rotation() == 0 else [], (left, top), SCALE)
        if not target.exists():
            image = pdf_page.render(scale=SCALE, may_draw_forms=True).to_pil().convert("RGBA")
            cache.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=cache, suffix=".part", delete=False) as partial:
                partial.write(_highlighted(image, [shown.pixels(b) for b in shown.boxes]))
            Path(partial.name).replace(target)  # a reader never sees half a file, nor two writers one
        if not found.exists():
            found.write_text(json.dumps([asdict(b) for b in boxes]), encoding="utf-8")
    finally:
        document.close()
    return shown


def _highlighted(image: Image.Image, rects: list[tuple[float, float, float, float]]) -> bytes:
    """The image as PNG bytes with each rectangle drawn as a marker-pen highlight."""
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for x0, y0, x1, y1 in rects:
        draw.rectangle((x0 - 2, y0 - 2, x1 + 2, y1 + 2), fill=_MARKER, outline=_OUTLINE, width=2)
    out = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(out, format="PNG")
    return out.getvalue()
