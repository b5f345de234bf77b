"""Parsing real files of every supported format, and refusing bad ones with a clear reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragkit.errors import ParseError
from ragkit.parse import parse_file

from .conftest import FIXTURES, SAMPLE_DOCS


def test_pdf_keeps_page_numbers() -> None:
    pages = parse_file(SAMPLE_DOCS / "employee_handbook.pdf")
    assert [p.number for p in pages] == [1, 2, 3, 4, 5, 6]
    assert "31 March" in pages[1].text
    assert "24 hours" in pages[4].text


def test_docx_reads_paragraphs_and_tables() -> None:
    (page,) = parse_file(SAMPLE_DOCS / "board_minutes_2026_q3.docx")
    assert "EUR 1.2 million" in page.text
    assert "Nordics" in page.text and "1,870" in page.text  # from the revenue table


def test_markdown_and_chinese_text() -> None:
    (page,) = parse_file(SAMPLE_DOCS / "差旅报销制度.md")
    assert "600元" in page.text
    (md,) = parse_file(SAMPLE_DOCS / "it_security_policy.md")
    assert "14 characters" in md.text


def test_html_drops_scripts_and_keeps_title(tmp_path: Path) -> None:
    html = tmp_path / "page.html"
    html.write_text(
        "<html><head><title>Visitor policy</title><style>p{color:red}</style></head>"
        "<body><script>track()</script><h1>Visitors</h1><p>Visitors sign in at reception.</p></body></html>",
        encoding="utf-8",
    )
    (page,) = parse_file(html)
    assert page.text.startswith("Visitor policy")
    assert "Visitors sign in at reception." in page.text
    assert "track()" not in page.text and "color" not in page.text


def test_text_in_legacy_encoding(tmp_path: Path) -> None:
    path = tmp_path / "gbk.txt"
    path.write_bytes("员工每年享有十五天带薪年假，需要提前两周向经理申请。".encode("gb18030"))
    (page,) = parse_file(path)
    assert "带薪年假" in page.text


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("corrupt.pdf", "corrupt:"),
        ("binary.pdf", "corrupt: not a PDF"),
        ("encrypted.pdf", "encrypted: password required"),
        ("empty.txt", "empty:"),
    ],
)
def test_bad_files_raise_a_reason(name: str, reason: str) -> None:
    path = FIXTURES / "bad" / name
    with pytest.raises(ParseError) as err:
        parse_file(path)
    assert err.value.reason.startswith(reason)
    assert str(path) in str(err.value)


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(ParseError, match="unsupported file type .png"):
        parse_file(path)
