"""A PDF page's text with the runs a reader cannot see: render mode 3, white fill, tiny fonts.

Such text is kept in the page, so it stays searchable, and reported in :attr:`Page.hidden`, so
the chunks holding it are flagged (see :mod:`ragkit.injection`): invisible text is the usual
carrier of instructions planted for a model.
"""

from __future__ import annotations

from typing import Any

from pypdf import PageObject

from ..records import Page

#: Effective font size (points) below which text is unreadable.
_TINY = 1.0
#: A page whose text is mostly invisible is a scanned image under an OCR text layer (render
#: mode 3 is how OCR tools place it): ordinary, not hidden.
OCR_LAYER_SHARE = 0.5
#: Fill colours this close to white are treated as invisible on the (usually white) page.
_WHITE = 0.97


class _Visibility:
    """Follows the graphics state while pypdf extracts a page, collecting invisible text runs."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bool]] = []
        self.mode, self.white = 0, False
        self.runs: list[str] = []
        self._run: list[str] = []

    def operator(self, op: bytes, args: list[Any], cm: list[float], tm: list[float]) -> None:
        if op == b"q":
            self.stack.append((self.mode, self.white))
        elif op == b"Q" and self.stack:
            self.mode, self.white = self.stack.pop()
        elif op in (b"Tr", b"rg", b"g", b"k"):
            try:
                values = [float(a) for a in args]
            except (TypeError, ValueError):
                return
            if op == b"Tr" and values:
                self.mode = int(values[0])
            elif op in (b"rg", b"g") and values:
                self.white = all(v >= _WHITE for v in values)
            elif op == b"k" and len(values) == 4:
                self.white = all(v <= 1 - _WHITE for v in values)

    def text(self, text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if not text.strip():
            return
        scale = abs(float(tm[3]) * float(cm[3])) or abs(float(tm[0]) * float(cm[0]))
        if self.mode == 3 or self.white or (size or 0) * scale < _TINY:
            self._run.append(text)
        else:
            self.close()

    def close(self) -> None:
        """End the current run of hidden text (visible text or the page's end follows)."""
        if self._run:
            self.runs.append(" ".join(self._run))
            self._run = []


def read_page(number: int, page: PageObject) -> Page:
    """The page's text layer (as ``extract_text`` gives it), with its hidden runs."""
    seen = _Visibility()
    text = page.extract_text(visitor_operand_before=seen.operator, visitor_text=seen.text)
    seen.close()
    text = text or ""
    if sum(len(run) for run in seen.runs) > OCR_LAYER_SHARE * len(text):
        return Page(number, text)  # a scan under its own invisible OCR text layer, not a trick
    return Page(number, text, hidden=tuple(seen.runs))
