"""Scanned PDF pages -> text with the Tesseract command, when it is installed.

Pages are rendered with pypdfium2 (PDFium decodes every image filter a scanner writes: JBIG2,
CCITT, JPEG 2000) instead of extracting embedded images, so page rotation, cropping and
several images per page come out as the reader sees them. Scans are often sideways or upside
down: Tesseract's orientation detection (``--psm 0``) runs first and the page is turned upright
before it is read, which also catches the low-confidence cases ``--psm 1`` leaves alone.
"""

from __future__ import annotations

import functools
import io
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pypdfium2
from PIL.Image import Image

from ..records import Page

#: Render resolution: 200 dpi reads body text well and keeps a page under ~10 s on two cores
#: (300 dpi doubles the time for little gain on ordinary print).
DPI = 200
#: Languages used when installed, in this order (Debian packages tesseract-ocr-eng, -chi-sim).
WANTED_LANGUAGES = ("eng", "chi_sim")
_ROTATE = re.compile(r"^Rotate: (\d+)", re.MULTILINE)
#: Why a page without text stays empty when Tesseract is missing.
UNAVAILABLE = "no text layer (scanned): OCR not available (install tesseract-ocr)"
#: Why a page whose text layer is garbage (fonts without Unicode mapping) stays empty.
UNUSABLE = "unreadable text layer (fonts without Unicode mapping): OCR not available (install tesseract-ocr)"


@functools.cache
def languages() -> tuple[str, ...]:
    """Wanted languages that this Tesseract has; empty when Tesseract is not installed."""
    if shutil.which("tesseract") is None:
        return ()
    try:
        listed = subprocess.run(
            ["tesseract", "--list-langs"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return ()
    return tuple(lang for lang in WANTED_LANGUAGES if lang in listed)


def available() -> bool:
    """True when Tesseract is on PATH with at least one wanted language."""
    return bool(languages())


def _png(image: Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _rotation(png: bytes) -> int:
    """Degrees clockwise that make the page upright; 0 when Tesseract cannot tell (little text)."""
    result = subprocess.run(["tesseract", "stdin", "stdout", "--psm", "0"], input=png, capture_output=True)
    match = _ROTATE.search(result.stdout.decode("utf-8", "replace"))
    return int(match.group(1)) if match else 0


def _read(image: Image) -> str:
    """Text of one page image, turned upright first."""
    png = _png(image)
    if degrees := _rotation(png):
        png = _png(image.rotate(-degrees, expand=True))
    result = subprocess.run(
        ["tesseract", "stdin", "stdout", "-l", "+".join(languages()), "--psm", "3"],
        input=png,
        capture_output=True,
        check=True,
    )
    return result.stdout.decode("utf-8", "replace")


@dataclass(frozen=True)
class Word:
    """A word Tesseract read, with its box in the image's pixels and the line it belongs to."""

    text: str
    left: int
    top: int
    right: int
    bottom: int
    line: tuple[int, int, int]


def words(image: Image) -> list[Word]:
    """The words of one page image with their boxes (Tesseract's TSV output); empty for a page
    that would have to be turned upright first, since its boxes would not fit the page shown."""
    png = _png(image)
    if _rotation(png):
        return []
    result = subprocess.run(
        ["tesseract", "stdin", "stdout", "-l", "+".join(languages()), "--psm", "3", "tsv"],
        input=png,
        capture_output=True,
        check=True,
    )
    found = []
    for row in result.stdout.decode("utf-8", "replace").splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():  # level 5: a word
            continue
        left, top, width, height = (int(c) for c in cells[6:10])
        line = (int(cells[2]), int(cells[3]), int(cells[4]))
        found.append(Word(cells[11], left, top, left + width, top + height, line))
    return found


def ocr_pages(path: Path, numbers: Iterable[int], password: str | None = None) -> list[Page]:
    """OCR text of the given pages (1-based) of a PDF."""
    document = pypdfium2.PdfDocument(str(path), password=password or None)
    try:
        pages = []
        for number in numbers:
            image = document[number - 1].render(scale=DPI / 72, grayscale=True).to_pil()
            pages.append(Page(number, _read(image)))
        return pages
    finally:
        document.close()
