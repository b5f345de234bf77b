"""Convert the CMRC 2018 trial set into the two inputs of ``ragkit eval``.

CMRC 2018 is a reading-comprehension set (question, passage, answer span) with no unanswerable
questions. For retrieval it becomes a BEIR collection: every passage a document, every question
a query, its own passage the one relevant document. For QA, a seeded fifth of the passages is
held out of the ingested set and the questions about them are marked unanswerable: they are
about topics the ingested documents never mention, which is how a user's out-of-scope question
looks in Chinese. Run from the repository root:

    .venv/bin/python benchmarks/prepare_cmrc.py [--source ../shared/eval/cmrc2018_trial] [--out benchmarks/data/cmrc]

Writes ``corpus.jsonl``, ``queries.jsonl``, ``qrels.tsv`` (retrieval) and ``passages.jsonl``,
``questions.jsonl`` (QA) under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT_SHARE = 0.2


def _read(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT.parent / "shared/eval/cmrc2018_trial")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/data/cmrc")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held-out passage draw")
    args = parser.parse_args()
    passages = _read(args.source / "trial_passages.jsonl")
    questions = _read(args.source / "trial_questions.jsonl")
    args.out.mkdir(parents=True, exist_ok=True)

    _write(args.out / "corpus.jsonl", [{"_id": p["id"], "title": p["title"], "text": p["text"]} for p in passages])
    _write(args.out / "queries.jsonl", [{"_id": q["id"], "text": q["question"]} for q in questions])
    with (args.out / "qrels.tsv").open("w", encoding="utf-8") as qrels:
        qrels.write("query-id\tcorpus-id\tscore\n")
        qrels.writelines(f"{q['id']}\t{q['passage_id']}\t1\n" for q in questions)

    held_out = set(random.Random(args.seed).sample([p["id"] for p in passages], round(len(passages) * HELD_OUT_SHARE)))
    _write(args.out / "passages.jsonl", [p for p in passages if p["id"] not in held_out])
    _write(
        args.out / "questions.jsonl",
        [{**q, "is_impossible": q["passage_id"] in held_out} for q in questions],
    )
    print(
        f"{args.out}: {len(passages)} passages, {len(questions)} queries; QA: {len(passages) - len(held_out)} "
        f"passages ingested, questions about the {len(held_out)} held out are unanswerable"
    )


if __name__ == "__main__":
    main()
