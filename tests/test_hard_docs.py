"""Hard documents: every file ends ingested with sensible text or skipped with a precise reason.

Real files (tests/fixtures/hard, see its SOURCE.md), real parsers in the real worker process,
real Tesseract when installed. Timeouts, memory limits and crashes are provoked with real
pathological inputs and a real signal, never with mocks.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import threading
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from ragkit import Ragkit, load_settings
from ragkit.errors import ConfigError, ParseError
from ragkit.parse import ocr
from ragkit.parse.pdf import garbled as pdf_text_is_garbled
from ragkit.parse.worker import ParseWorker
from ragkit.passwords import Passwords
from ragkit.records import FileResult

from .conftest import FIXTURES, ragkit_cli

HARD = FIXTURES / "hard"
ENCRYPTED = "libreoffice-writer-password.pdf"
PASSWORD = "openpassword"
OCR = ocr.available()
needs_ocr = pytest.mark.skipif(not OCR, reason="tesseract (Debian tesseract-ocr) is not installed")

#: File -> (status, text expected in the parsed pages, or the start of the skip reason).
EXPECTED: dict[str, tuple[str, str]] = {
    "OCRmyPDF__invalid.pdf": ("skipped", "corrupt: "),
    "libreoffice-writer-password.pdf": ("added", "Lorem ipsum dolor sit amet"),
    "multicolumn.pdf": ("added", "Two-Column Document with Lorem Ipsum"),
    "docling__table_mislabeled_as_picture.pdf": ("added", "Global Study on Legal Aid"),
    "docling__normal_4pages.pdf": ("added", "코로나바이러스감염"),
    "pdfminer.six__issue_566_test_2.pdf": ("added", "甲方：中国饮料有限公司"),
    "docling__right_to_left_01.pdf": ("added", "تحسين الإنتاجية"),
    "Strict.docx": ("added", "Some text"),
    "textbox.docx": ("added", "Infectious Disease Reporting Procedure"),
    "example_04.html": ("added", "Row 2, Col 2 & 3 (colspan)"),
    "duck.md": ("added", "Swimming in the lake"),
    "powerpoint_sample.pptx": ("added", "R1 | True | False"),
    "xlsx_04_inflated.xlsx": ("added", "first | second | third"),
    "docling__ocr_test.pdf": ("added", "Docling bundles PDF document conversion")
    if OCR
    else ("skipped", ocr.UNAVAILABLE),
    "OCRmyPDF__type3_font_nomapping.pdf": ("added", "ua") if OCR else ("skipped", ocr.UNUSABLE),
    "pdfminer.six__encrypted_doc_no_id.pdf": ("added", "WO 2003/036426") if OCR else ("skipped", ocr.UNAVAILABLE),
}


def slow_pdf(path: Path, operators: int = 200_000) -> Path:
    """A valid one-page PDF whose single content stream shows text ``operators`` times.

    Six kilobytes on disk; pypdf needs several seconds to extract it, which is what a parse
    timeout is for.
    """
    stream = zlib.compress(b"BT /F1 1 Tf " + b"(x) Tj 0 0 Td " * operators + b"ET")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n%b\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%b\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.write_bytes(bytes(out))
    return path


def docx_bomb(path: Path) -> Path:
    """A 0.8 MB DOCX whose document part inflates to 280 MB of paragraphs (a zip bomb)."""
    rels = (
        '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="r1" Target="word/document.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/></Relationships>'
    )
    body = b"<w:p><w:r><w:t>a</w:t></w:r></w:p>" * 8_000_000
    namespace = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("_rels/.rels", rels)
        archive.writestr("word/document.xml", b"<w:document %b><w:body>%b</w:body></w:document>" % (namespace, body))
    return path


@pytest.fixture(scope="module")
def worker() -> Iterator[ParseWorker]:
    with ParseWorker() as shared:
        yield shared


@pytest.fixture(scope="module")
def hard_kit(tmp_path_factory: pytest.TempPathFactory, isolated_env: None) -> tuple[Ragkit, dict[str, FileResult]]:
    """The fixture files ingested once (the encrypted one with its password from a map)."""
    docs = tmp_path_factory.mktemp("hard-docs")
    for name in EXPECTED:
        shutil.copy(HARD / name, docs / name)
    kit = Ragkit(load_settings({"data_dir": tmp_path_factory.mktemp("hard-store")}))
    report = kit.ingest([docs], passwords=Passwords(patterns=((ENCRYPTED, PASSWORD),)))
    return kit, {Path(f.path).name: f for f in report.files}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_hard_file_is_ingested_or_skipped_with_its_reason(
    name: str, hard_kit: tuple[Ragkit, dict[str, FileResult]], worker: ParseWorker
) -> None:
    status, detail = EXPECTED[name]
    result = hard_kit[1][name]
    assert result.status == status, result
    if status == "skipped":
        assert result.reason.startswith(detail), result.reason
        return
    assert result.chunks > 0
    pages = worker.parse(HARD / name, PASSWORD if name == ENCRYPTED else None).pages
    assert detail in "\n".join(p.text for p in pages)


@pytest.mark.parametrize(
    "garbage",
    [
        "/g437/g258",  # Type3 glyph names (OCRmyPDF type3_font_nomapping.pdf, pypdf)
        "3HQČåQt\x03SURVWĜHGN\\\x03QD\x03~þWHFK",  # non-Unicode CMap (pdfminer issue-791, pypdf and PDFium)
        # Japanese slides through pypdf (pdfminer nlp2004slides.pdf): shifted code points
        "ίϯύϥϒϧͳ৽ฉࣄه͔Βͷ\nݻ༗දݱͷൃݟ\n৽\x01ࢁ༞հ\n\x01ࠜؔ૱\n$PNQVUFS\x014DJFODF\x01%FQBSUNFOU",
    ],
)
def test_garbled_text_layers_are_recognised(garbage: str) -> None:
    assert pdf_text_is_garbled(garbage)


def test_real_text_in_any_script_is_not_garbled(worker: ParseWorker) -> None:
    for name in ("multicolumn.pdf", "docling__normal_4pages.pdf", "docling__right_to_left_01.pdf", "duck.md"):
        for page in worker.parse(HARD / name).pages:
            assert not pdf_text_is_garbled(page.text), (name, page.number)


def test_every_fixture_file_is_covered() -> None:
    assert {p.name for p in HARD.iterdir()} - {"SOURCE.md"} == set(EXPECTED)
    assert sum(p.stat().st_size for p in HARD.iterdir()) < 3 * 1024 * 1024


@needs_ocr
def test_scanned_page_is_ocred_and_reported(hard_kit: tuple[Ragkit, dict[str, FileResult]]) -> None:
    assert hard_kit[1]["docling__ocr_test.pdf"].parser == "pdf+ocr"
    (info,) = [d for d in hard_kit[0].sources() if d.path.endswith("docling__ocr_test.pdf")]
    assert info.parser == "pdf+ocr"


def test_without_tesseract_the_reason_says_how_to_get_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker started with a PATH that has no tesseract cannot OCR, and says so."""
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    with ParseWorker() as bare:
        with pytest.raises(ParseError) as scanned:
            bare.parse(HARD / "docling__ocr_test.pdf")
        with pytest.raises(ParseError) as garbled:
            bare.parse(HARD / "OCRmyPDF__type3_font_nomapping.pdf")
    assert scanned.value.reason == "no text layer (scanned): OCR not available (install tesseract-ocr)"
    assert garbled.value.reason == ocr.UNUSABLE


@pytest.mark.parametrize(
    ("password", "outcome"),
    [(None, "encrypted: password required"), ("not-it", "encrypted: wrong password"), (PASSWORD, "Lorem ipsum")],
)
def test_encrypted_pdf_passwords(worker: ParseWorker, password: str | None, outcome: str) -> None:
    try:
        text = "\n".join(p.text for p in worker.parse(HARD / ENCRYPTED, password).pages)
    except ParseError as exc:
        text = exc.reason
    assert text.startswith(outcome)


def test_a_password_for_other_files_does_not_lock_an_openly_encrypted_one(worker: ParseWorker) -> None:
    """Encrypted with an empty user password: opened as is, by pypdf, PDFium and OCR alike."""
    path = HARD / "pdfminer.six__encrypted_doc_no_id.pdf"
    try:
        outcome = worker.parse(path, "a-password-for-other-files").parser
    except ParseError as exc:
        outcome = exc.reason
    assert outcome == ("pdf+ocr" if OCR else ocr.UNAVAILABLE)


def test_password_map_matches_names_and_globs(tmp_path: Path) -> None:
    (tmp_path / "pw.toml").write_text('"scans/*.pdf" = "one"\n"report.pdf" = "two"\n')
    passwords = Passwords.load("fallback", tmp_path / "pw.toml")
    assert passwords.for_file(Path("/data/scans/a.pdf")) == "one"
    assert passwords.for_file(Path("/data/report.pdf")) == "two"
    assert passwords.for_file(Path("/data/other.pdf")) == "fallback"
    assert "one" not in repr(passwords) and "fallback" not in repr(passwords)
    (tmp_path / "bad.toml").write_text('"a.pdf" = 3\n')
    with pytest.raises(ConfigError, match="a.pdf"):
        Passwords.load(None, tmp_path / "bad.toml")


def test_cli_password_flags_open_the_file_and_are_never_printed(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(HARD / ENCRYPTED, docs / ENCRYPTED)
    data = tmp_path / "data"
    wrong = ragkit_cli("--data-dir", str(data), "ingest", "--json", "--password", "s3cret-wrong", str(docs))
    assert wrong.returncode == 1
    assert '"reason": "encrypted: wrong password"' in wrong.stdout
    assert "s3cret-wrong" not in wrong.stdout + wrong.stderr
    (tmp_path / "pw.toml").write_text(f'"*.pdf" = "{PASSWORD}"\n')
    right = ragkit_cli("--data-dir", str(data), "ingest", "--passwords", str(tmp_path / "pw.toml"), str(docs))
    assert right.returncode == 0, right.stderr
    assert "1 added" in right.stderr
    assert PASSWORD not in right.stdout + right.stderr
    assert PASSWORD.encode() not in b"".join(p.read_bytes() for p in data.rglob("*") if p.is_file())


def test_timeout_kills_the_worker_and_the_next_file_parses(tmp_path: Path) -> None:
    slow = slow_pdf(tmp_path / "slow.pdf")
    with ParseWorker(timeout=1) as limited:
        started = time.monotonic()
        with pytest.raises(ParseError, match=r"^.*: timeout: parsing took over 1 s$"):
            limited.parse(slow)
        assert time.monotonic() - started < 5
        assert limited.pid is None  # killed; the next parse starts a fresh worker
        assert "Swimming in the lake" in limited.parse(HARD / "duck.md").pages[0].text


def test_memory_limit_skips_a_zip_bomb_and_the_next_file_parses(tmp_path: Path) -> None:
    bomb = docx_bomb(tmp_path / "bomb.docx")
    big = tmp_path / "big.txt"
    big.write_bytes(b"word " * (30 * 1024 * 1024))
    with ParseWorker(memory_mb=400) as limited:
        for path in (bomb, big):
            with pytest.raises(ParseError, match="too large: the parser needed over 400 MB"):
                limited.parse(path)
        assert "Swimming in the lake" in limited.parse(HARD / "duck.md").pages[0].text


def test_a_crashing_parser_is_reported_and_replaced(tmp_path: Path) -> None:
    """A real SIGSEGV delivered to the worker while it parses, as a native-code crash would."""
    slow = slow_pdf(tmp_path / "slow.pdf")
    with ParseWorker() as crashing:
        crashing.parse(HARD / "duck.md")
        pid = crashing.pid
        threading.Timer(0.5, os.kill, (pid, signal.SIGSEGV)).start()
        with pytest.raises(ParseError, match=r"corrupt: parser crashed \(signal 11\)"):
            crashing.parse(slow)
        assert "Swimming" in crashing.parse(HARD / "duck.md").pages[0].text
        assert crashing.pid != pid


def test_ingest_goes_on_after_timeouts(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    slow_pdf(docs / "slow.pdf")
    shutil.copy(HARD / "duck.md", docs / "duck.md")
    kit = Ragkit(load_settings({"data_dir": tmp_path / "data", "parse_timeout": 1}))
    report = {Path(f.path).name: f for f in kit.ingest([docs]).files}
    assert report["slow.pdf"].reason == "timeout: parsing took over 1 s"
    assert report["duck.md"].status == "added"


def test_parse_limits_are_settings() -> None:
    env = {"RAGKIT_PARSE_TIMEOUT": "2.5", "RAGKIT_PARSE_MEMORY_MB": "512"}
    settings = load_settings(environ=env)
    assert (settings.parse_timeout, settings.parse_memory_mb) == (2.5, 512)
    with pytest.raises(ConfigError, match="parse_memory_mb must be at least 256"):
        load_settings({"parse_memory_mb": 100}, environ={})
    with pytest.raises(ConfigError, match="parse_timeout must be positive"):
        load_settings({"parse_timeout": 0}, environ={})
