"""How long showing a cited sentence on its page takes: the first time and from the cache.

Prints figures, asserts nothing. For each PDF below, a sentence of one page is located and
highlighted with :func:`ragkit.highlight.page_image`: first into an empty cache (render and
write the PNG), then again (cache hit: locate the sentence, read nothing else), several times
each, medians reported with their ratio. Run from the repository root:

    .venv/bin/python benchmarks/page_render.py
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import pypdfium2

from ragkit import highlight

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT.parent / "shared/eval/docs/pdfs"
#: (PDF, page): a short generated page, a two-column paper page, a page deep in a large file.
PAGES = [
    (ROOT / "sample_docs/employee_handbook.pdf", 2),
    (DOCS / "papers_two_column/MinerU__demo1.pdf", 3),
    (DOCS / "large/pdfplumber__chelsea_pdta.pdf", 50),
]
ROUNDS = 5


def a_sentence(path: Path, page: int) -> str:
    """Some 120 characters from the middle of the page's text: a sentence to find."""
    document = pypdfium2.PdfDocument(str(path))
    text = " ".join(document[page - 1].get_textpage().get_text_range().split())
    document.close()
    middle = len(text) // 2
    return text[middle : middle + 120]


def main() -> None:
    print(f"{'file':44} {'page':>4} {'first ms':>9} {'cached ms':>9} {'ratio':>6} {'rects':>5}")
    for path, page in PAGES:
        if not path.exists():
            continue
        sentence = a_sentence(path, page)
        first, cached = [], []
        for _ in range(ROUNDS):
            with tempfile.TemporaryDirectory() as cache:
                started = time.perf_counter()
                shown = highlight.page_image(path, page, sentence, Path(cache))
                first.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                highlight.page_image(path, page, sentence, Path(cache))
                cached.append((time.perf_counter() - started) * 1000)
        a, b = statistics.median(first), statistics.median(cached)
        print(f"{path.name[:44]:44} {page:4} {a:9.0f} {b:9.0f} {a / b:6.1f} {len(shown.boxes):5}")


if __name__ == "__main__":
    main()
