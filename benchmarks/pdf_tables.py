"""PDF tables with and without header-labelled rows: is the answer's cell found, with its column?

Ingests the ruled-table PDFs of the shared hard-document corpus twice in the same run: as the
text layer reads them (the table step switched off) and as ragkit reads them now (ruled
tables re-read by pdfplumber, each row labelled with its headers). For each question below
it reports whether a retrieved passage holds the answer's value on one line with its row's key
and its column header, and, with ``--answer``, what the model answers. The questions were
written from the PDFs' tables, not from ragkit's output. Run from the repository root:

    .venv/bin/python benchmarks/pdf_tables.py [--answer] [--model qwen2.5-coder-1.5b]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from ragkit import Ragkit, load_settings

ROOT = Path(__file__).resolve().parent.parent
TABLES = ROOT.parent / "shared/eval/docs/pdfs/tables_forms"
FILES = [
    "pdfplumber__WARN-Report-for-7-1-2015-to-03-25-2016.pdf",
    "pdfplumber__nics-background-checks-2015-11.pdf",
]
#: (question, the row's key, the column header, the value): all three on one line of a passage.
QUESTIONS = [
    (
        "How many employees were affected by the McGraw-Hill Education layoff in Monterey?",
        "McGraw-Hill",
        "No. Of",
        "137",
    ),
    ("In which city did Maxim Integrated Product give notice of a closure?", "Maxim Integrated", "City", "San Jose"),
    ("How many employees did Leidos in El Segundo lay off?", "Leidos", "No. Of", "72"),
    ("What was the total number of firearm background checks in Alaska in November 2015?", "Alaska", "Totals", "7,095"),
    (
        "What was the total number of firearm background checks in Florida in November 2015?",
        "Florida",
        "Totals",
        "103,532",
    ),
]


def holds_cell(text: str, key: str, header: str, value: str) -> bool:
    """A line of ``text`` names the row, the column and the value."""
    return any(key in line and header in line and value in line for line in text.splitlines())


def run(label: str, tables: bool, answer: bool, model: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="ragkit-tables-") as tmp:
        docs = Path(tmp) / "docs"
        docs.mkdir()
        for name in FILES:
            shutil.copy(TABLES / name, docs / name)
        kit = Ragkit(load_settings({"data_dir": Path(tmp) / "data", "pdf_tables": tables}))
        report = kit.ingest([docs])
        print(f"\n{label}: {report.chunks_added} chunks in {report.seconds:.1f} s")
        found = 0
        for question, key, header, value in QUESTIONS:
            hits = kit.retrieve(question)
            ok = any(holds_cell(h.chunk.text, key, header, value) for h in hits)
            found += ok
            said = ""
            if answer:
                reply = kit.ask(question, model=model)
                said = f" | answer: {reply.answer[:70]}{'  <- right' if value in reply.answer else ''}"
            print(f"  {'yes' if ok else 'no ':3} {question[:70]:70}{said}")
        print(f"  cell with its header in a retrieved passage: {found}/{len(QUESTIONS)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answer", action="store_true", help="Also ask the model each question.")
    parser.add_argument("--model", default=None, help="Answer model (default: the configured one).")
    args = parser.parse_args()
    run("text layer only (before)", tables=False, answer=args.answer, model=args.model)
    run("ruled tables as labelled rows (now)", tables=True, answer=args.answer, model=args.model)


if __name__ == "__main__":
    main()
