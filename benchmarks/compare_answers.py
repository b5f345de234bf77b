"""Grade answers files of ``ragkit eval qa`` side by side, on the questions they all answered.

Runs cut short (or made by older ragkit versions, whose answers files carry no gold answers)
are compared on the same questions: the ids every file holds. Grades come from the questions
file with ragkit's own metrics (SQuAD normalization; CMRC 2018's longest-common-substring F1
for Chinese). *cited gold* means a passage the answer cites is the question's own passage;
*evidence holds gold* (citation precision) that the quoted evidence sentences contain a gold
answer, for answers files that carry evidence. A run made at ``RAGKIT_MIN_CONFIDENCE=0`` is
graded as at another threshold with ``LABEL@T=answers.jsonl`` (answers whose confidence is below
``T`` count as declined, as in a run at ``T``). Run from the repository root:

    .venv/bin/python benchmarks/compare_answers.py --questions ../shared/eval/squad2_open/open_questions.jsonl \\
        before=benchmarks/results/before/squad2_answers.jsonl after=benchmarks/results/after/squad2_answers.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ragkit import metrics
from ragkit.datasets import read_questions


def _read(path: Path) -> dict[str, dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return {str(row["id"]): row for row in map(json.loads, filter(str.strip, lines))}


def grade(rows: list[dict[str, Any]], golds: dict[str, Any]) -> dict[str, float | int]:
    """The QA figures of ``rows`` (answer lines) against the questions in ``golds``."""
    answerable = [r for r in rows if not golds[r["id"]].impossible]
    impossible = [r for r in rows if golds[r["id"]].impossible]
    answered = [r for r in answerable if not r["declined"]]

    def said(row: dict[str, Any]) -> str:
        return "" if row["declined"] else metrics.strip_citations(row["answer"])

    def share(values: list[float]) -> float:
        return sum(values) / len(values) if values else float("nan")

    with_evidence = [r for r in answered if r.get("evidence")]
    return {
        "questions": len(rows),
        "exact match": share([metrics.exact_match(said(r), golds[r["id"]].answers) for r in answerable]),
        "F1": share([metrics.f1(said(r), golds[r["id"]].answers) for r in answerable]),
        "answered (answerable)": len(answered) / len(answerable) if answerable else float("nan"),
        "declined (unanswerable)": share([float(r["declined"]) for r in impossible]),
        "cited gold passage": share(
            [
                float(any(s["cited"] and s["doc_id"] == golds[r["id"]].passage_id for s in r["sources"]))
                for r in answered
            ]
        ),
        "evidence holds gold": share(
            [
                float(metrics.contains_answer(" ".join(e["sentence"] for e in r["evidence"]), golds[r["id"]].answers))
                for r in with_evidence
            ]
        ),
        "ttft p50 ms": sorted(t)[len(t) // 2]
        if (t := [r["timings"]["first_token_ms"] for r in rows if r["timings"]["first_token_ms"] is not None])
        else float("nan"),
    }


def _at(rows: dict[str, dict[str, Any]], label: str) -> dict[str, dict[str, Any]]:
    """``rows`` as a run at the threshold a ``LABEL@T`` label names would have answered them."""
    if "@" not in label:
        return rows
    threshold = float(label.rsplit("@", 1)[1])
    below = {i for i, r in rows.items() if r.get("confidence") is not None and r["confidence"] < threshold}
    return {i: r | {"declined": True, "evidence": []} if i in below else r for i, r in rows.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, required=True)
    parser.add_argument("runs", nargs="+", help="LABEL=answers.jsonl")
    args = parser.parse_args()
    golds = {q.id: q for q in read_questions(args.questions)}
    runs = {label: _at(_read(Path(path)), label) for label, path in (run.split("=", 1) for run in args.runs)}
    common = set.intersection(*(set(rows) for rows in runs.values()))
    table = {label: grade([rows[i] for i in sorted(common)], golds) for label, rows in runs.items()}
    print(f"{len(common)} questions answered by every run")
    print(f"{'metric':26}" + "".join(f"{label:>12}" for label in table))
    for metric in next(iter(table.values())):
        print(f"{metric:26}" + "".join(f"{row[metric]:12.3f}" for row in table.values()))


if __name__ == "__main__":
    main()
