"""A cited sentence shown where it stands: highlighted on the rendered PDF page, marked in the
text around it, from the library and from ``ragkit show``."""

from __future__ import annotations

import json
from pathlib import Path

import pypdfium2
import pytest
from PIL import Image

from ragkit import Box, Ragkit, RagkitError, load_settings
from ragkit.highlight import locate
from ragkit.parse import ocr

from .conftest import FIXTURES, SAMPLE_DOCS, ragkit_cli

needs_ocr = pytest.mark.skipif(not ocr.available(), reason="tesseract (Debian tesseract-ocr) is not installed")
HANDBOOK = SAMPLE_DOCS / "employee_handbook.pdf"
MINUTES = SAMPLE_DOCS / "board_minutes_2026_q3.docx"
#: As the chunk holds it (one line break where the PDF wraps the line).
SENTENCE = (
    "Carried-over days must be taken by 31 March; any\ncarried-over days that are still unused after that date lapse "
    "and are not paid out."
)


def char_boxes(path: Path, page: int, text: str) -> list[Box]:
    """PDFium's boxes of each character of ``text``'s first occurrence on the page, found by
    PDFium's own search (not by ragkit's matching)."""
    document = pypdfium2.PdfDocument(str(path))
    textpage = document[page - 1].get_textpage()
    searcher = textpage.search(text, match_case=True)
    index, count = searcher.get_next()
    boxes = [Box(*textpage.get_charbox(i)) for i in range(index, index + count)]
    document.close()
    return [b for b in boxes if b.right > b.left]  # spaces have no width


def marked_share(png: Path, pdf: Path, page: int, box: Box) -> float:
    """The share of the highlight's yellow among the pixels of ``box`` in the rendered page
    (the box mapped to pixels here, by the page's size, not by ragkit's own mapping)."""
    image = Image.open(png).convert("RGB")
    document = pypdfium2.PdfDocument(str(pdf))
    width, height = document[page - 1].get_size()
    document.close()
    scale = image.width / width
    x0, y0 = int(box.left * scale), int((height - box.top) * scale)
    x1, y1 = int(box.right * scale), int((height - box.bottom) * scale)
    pixels = [image.getpixel((x, y)) for x in range(x0, x1, 3) for y in range(y0, y1, 3)]
    return sum(map(is_marker, pixels)) / max(1, len(pixels))


def is_marker(pixel: tuple[int, ...]) -> bool:
    """The highlight's yellow (over white paper), not black text or white paper."""
    red, green, blue = pixel[:3]
    return red > 200 and green > 170 and blue < 170


def test_sentences_are_found_across_line_breaks_ligatures_and_case() -> None:
    text = "Up to 5 un-\nused days. The ﬁnal STRASSE rule."
    assert locate(text, "Up to 5 unused days.") == (0, text.index("days.") + 5)
    start, end = locate(text, "The final Straße rule.") or (-1, -1)  # "ﬁ" is "fi", "ß" folds to "ss"
    assert text[start:end] == "The ﬁnal STRASSE rule."
    assert locate(text, "Up to 6 unused days.") is None


def test_pdf_sentence_is_highlighted_over_its_characters(sample_kit: Ragkit) -> None:
    view = sample_kit.show(HANDBOOK, 2, SENTENCE)
    assert view.png is not None and view.note == ""
    assert " ".join(view.text[view.start : view.end].split()) == " ".join(SENTENCE.split())
    assert len(view.boxes) == 2  # the sentence spans two lines of the page

    # Every character of the sentence lies under a highlight rectangle, none of another sentence.
    inside = char_boxes(HANDBOOK, 2, "Carried-over days must be taken by 31 March")
    assert inside and all(any(c.overlaps(b) for b in view.boxes) for c in inside)
    outside = char_boxes(HANDBOOK, 2, "Exceptions apply only")
    assert outside and not any(c.overlaps(b) for c in outside for b in view.boxes)

    # The PNG is marked where the boxes are, and nowhere near the next sentence.
    assert all(marked_share(view.png, HANDBOOK, 2, b) > 0.3 for b in view.boxes)
    assert marked_share(view.png, HANDBOOK, 2, outside[0]) == 0


@needs_ocr
def test_scanned_page_is_highlighted_from_the_ocr_word_boxes(tmp_path: Path) -> None:
    scan = FIXTURES / "hard" / "docling__ocr_test.pdf"
    kit = Ragkit(load_settings({"data_dir": tmp_path / "data"}))
    assert not kit.ingest([scan]).failed
    view = kit.show(scan, 1, "Docling bundles PDF document conversion")
    assert view.png is not None and view.boxes and view.note == ""
    assert all(marked_share(view.png, scan, 1, b) > 0.3 for b in view.boxes)
    again = kit.show(scan, 1, "Docling bundles PDF document conversion")  # boxes from the cache, no OCR
    assert again.boxes == view.boxes


def test_second_look_comes_from_the_cache(sample_kit: Ragkit) -> None:
    first = sample_kit.show(HANDBOOK, 2, SENTENCE)
    assert first.png is not None
    stamp = first.png.stat().st_mtime_ns
    again = sample_kit.show(HANDBOOK, 2, SENTENCE)
    assert again.png == first.png and again.png.stat().st_mtime_ns == stamp
    assert sample_kit.show(HANDBOOK, 3, "Full-time employees").png != first.png


def test_removing_a_document_removes_its_rendered_pages(tmp_path: Path) -> None:
    kit = Ragkit(load_settings({"data_dir": tmp_path / "data"}))
    kit.ingest([HANDBOOK, MINUTES])
    kept = kit.show(HANDBOOK, 2, SENTENCE).png
    assert kept is not None and kept.exists()
    assert kit.remove(MINUTES) and kept.exists()  # another document's pages stay
    assert kit.remove(HANDBOOK)
    assert not kept.exists() and not kept.parent.exists()


def test_pruning_a_vanished_document_removes_its_rendered_pages(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    handbook = docs / HANDBOOK.name
    handbook.write_bytes(HANDBOOK.read_bytes())
    kit = Ragkit(load_settings({"data_dir": tmp_path / "data"}))
    kit.ingest([docs])
    kept = kit.show(handbook, 2, SENTENCE).png
    assert kept is not None and kept.exists()
    handbook.unlink()
    report = kit.ingest([docs], prune=True)
    assert [f.status for f in report.files] == ["removed"] and not kept.parent.exists()


def test_other_formats_show_the_sentence_in_its_text(sample_kit: Ragkit) -> None:
    sentence = "The board approved a hiring plan of 22 new positions for 2027, including eight positions for the Lisbon office."
    view = sample_kit.show(MINUTES, 1, sentence)
    assert view.png is None and view.boxes == []
    assert view.text[view.start : view.end] == sentence
    assert "4. Hiring plan 2027" in view.text  # the heading above it is part of the context


def test_unknown_page_is_an_error(sample_kit: Ragkit) -> None:
    with pytest.raises(RagkitError, match="no page 9"):
        sample_kit.show(HANDBOOK, 9, SENTENCE)


def test_show_command_writes_the_page_and_its_boxes(sample_kit: Ragkit, tmp_path: Path) -> None:
    env = {"RAGKIT_DATA_DIR": str(sample_kit.settings.data_dir)}
    png = tmp_path / "page.png"
    done = ragkit_cli("show", str(HANDBOOK), "2", SENTENCE, "--png", str(png), "--json", env=env)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (
        shown["page"] == 2 and len(shown["boxes"]) == 2 and set(shown["boxes"][0]) == {"left", "bottom", "right", "top"}
    )
    assert png.read_bytes().startswith(b"\x89PNG")

    plain = ragkit_cli("show", str(HANDBOOK), "2", SENTENCE, env=env)
    assert "»Carried-over days must be taken by 31 March" in plain.stdout

    refused = ragkit_cli("show", str(MINUTES), "1", "Decision", "--png", str(tmp_path / "x.png"), env=env)
    assert refused.returncode == 1
    assert refused.stderr.strip().count("\n") == 0 and "only PDF pages are rendered" in refused.stderr
