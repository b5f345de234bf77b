"""Table rows keep their column headers in DOCX, XLSX, PPTX and HTML."""

from __future__ import annotations

from pathlib import Path

from ragkit.parse import parse_file
from ragkit.parse.tables import table_lines
from ragkit.parse.worker import ParseWorker

from .conftest import FIXTURES, SAMPLE_DOCS


def test_rows_after_a_header_are_labelled() -> None:
    rows = [["Region", "Q3 2026 revenue (EUR k)", "Change"], ["Nordics", "1,870", "+16.1%"], ["DACH", "", "+9%"]]
    assert list(table_lines(rows)) == [
        "Region | Q3 2026 revenue (EUR k) | Change",
        "Region: Nordics | Q3 2026 revenue (EUR k): 1,870 | Change: +16.1%",
        "Region: DACH | Change: +9%",  # an empty cell is left out, the others keep their column
    ]


def test_tables_without_a_header_stay_plain() -> None:
    assert list(table_lines([["1", "2"], ["3", "4"]])) == ["1 | 2", "3 | 4"]  # numbers name no column
    assert list(table_lines([["Title", ""], ["a", "b"]])) == ["Title", "a | b"]  # a title row
    assert list(table_lines([["only one row", "x"]])) == ["only one row | x"]


def test_docx_table_of_the_sample_minutes() -> None:
    text = parse_file(SAMPLE_DOCS / "board_minutes_2026_q3.docx")[0].text
    assert "Region: Nordics | Q3 2026 revenue (EUR k): 1,870 | Q3 2025 revenue (EUR k): 1,610" in text


def test_docx_merged_cells_keep_later_cells_under_their_headers() -> None:
    text = parse_file(FIXTURES / "tables" / "word_tables.docx")[0].text
    assert "Header 0.0: Cell 1.0 | Header 0.1: Cell 1.1 | Header 0.2: Cell 1.2" in text
    # A cell spanning two grid columns: the next cell is still under "Header 0.3".
    assert "Header 0.2: Merged Cell 1.1 1.2 | Header 0.3: Cell 1.3" in text


def test_html_colspan(tmp_path: Path) -> None:
    page = tmp_path / "t.html"
    page.write_text(
        "<table><tr><th>Model</th><th colspan=2>Accuracy</th><th>Set</th></tr>"
        "<tr><td>TableFormer</td><td>51.3</td><td>52.6</td><td>WTQ</td></tr></table>",
        encoding="utf-8",
    )
    text = parse_file(page)[0].text
    assert "Model: TableFormer | Accuracy: 51.3 | Accuracy: 52.6 | Set: WTQ" in text


def test_table_titles_and_section_rows_are_not_values() -> None:
    rows = [
        ["Revenue by region", None, None],
        ["Region", "2026", "2025"],
        ["Europe", "", ""],
        ["Nordics", "1,870", "1,610"],
    ]
    assert list(table_lines(rows)) == [
        "Revenue by region",  # a title above the header, no empty cells joined to it
        "Region | 2026 | 2025",
        "Europe",  # one cell across a wide table labels a section, it is no "Region"
        "Region: Nordics | 2026: 1,870 | 2025: 1,610",
    ]


def test_pdf_ruled_table_rows_keep_their_headers() -> None:
    text = parse_file(FIXTURES / "tables" / "warn_report_p1.pdf")[0].text
    assert "Company: McGraw-Hill Education | City: Monterey | No. Of: 137" in text
    assert "Fiscal Year" in text  # the page's text around the table stays


def test_pdf_table_ruled_in_bands_gives_one_line_per_row() -> None:
    text = parse_file(FIXTURES / "tables" / "nics_background_checks.pdf")[0].text
    # Rules every five states: each state is still its own row, its total under "Totals".
    assert "State / Territory: Alabama | " in text
    assert "State / Territory: Alaska | " in text
    assert [line for line in text.splitlines() if line.startswith("State / Territory: Alaska")][0].endswith(
        "Totals: 7,095"
    )


def test_pdf_boxes_that_are_no_table_keep_the_text_layer() -> None:
    text = parse_file(FIXTURES / "tables" / "senate_expenditures.pdf")[0].text
    assert "DISTRICT DIRECTOR" in text and " | " not in text


def test_pdf_tables_can_be_switched_off_for_speed() -> None:
    warn = FIXTURES / "tables" / "warn_report_p1.pdf"
    with ParseWorker(pdf_tables=False) as plain, ParseWorker() as labelled:
        assert "Company: McGraw-Hill Education" not in plain.parse(warn).pages[0].text
        assert "Company: McGraw-Hill Education" in labelled.parse(warn).pages[0].text
