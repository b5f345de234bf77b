"""The answered/declined trade-off of ``min_confidence`` and ``min_coverage``, chosen on a dev half, reported on the other.

Reads answers files of ``ragkit eval qa`` run with ``RAGKIT_MIN_CONFIDENCE=0`` and
``RAGKIT_MIN_COVERAGE=0`` (every answer the other checks let through is kept, with the model's
confidence and the question's coverage by its evidence). Declining at thresholds ``(t, c)`` is
then exactly what a run at them does: an answer whose confidence is below ``t`` or whose
coverage is below ``c`` is declined, every other answer is the same tokens (the seed and the
logits do not change). The questions are split in two halves by a hash of their id: the pair is
chosen on the dev half (best mean of answerable F1, declined counting 0, and the share of
unanswerable questions declined) and reported on the test half, which it never saw. Run from the repository root:

    .venv/bin/python benchmarks/refusal_curve.py benchmarks/results/after/squad2_answers.jsonl \\
        benchmarks/results/after/cmrc_answers.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ragkit import metrics

THRESHOLDS = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.92, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99]
COVERAGES = [0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


@dataclass(frozen=True)
class Thresholds:
    """A run's two refusal settings: ``min_confidence`` and ``min_coverage``."""

    confidence: float
    coverage: float

    def __str__(self) -> str:
        return f"min_confidence {self.confidence:.2f}, min_coverage {self.coverage:.2f}"


def read(paths: list[Path]) -> list[dict[str, Any]]:
    """Every graded answer of the files."""
    rows = []
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            rows += [json.loads(line) | {"file": path.name} for line in lines if line.strip()]
    return rows


def is_dev(row: dict[str, Any]) -> bool:
    """The dev half: a stable hash of the question id, independent of the answers."""
    return hashlib.sha256(str(row["id"]).encode()).digest()[0] % 2 == 0


def _below(value: float | None, threshold: float) -> bool:
    return value is not None and value < threshold


def declined_at(row: dict[str, Any], at: Thresholds) -> bool:
    """Whether a run at ``at`` declines this question."""
    return (
        bool(row["declined"])
        or _below(row.get("confidence"), at.confidence)
        or _below(row.get("coverage"), at.coverage)
    )


def scores(rows: list[dict[str, Any]], at: Thresholds) -> dict[str, float]:
    """Answered share and F1 of the answerable, declined share of the unanswerable, at ``at``."""
    answerable = [r for r in rows if not r["impossible"]]
    impossible = [r for r in rows if r["impossible"]]
    kept = [r for r in answerable if not declined_at(r, at)]
    return {
        "answered": len(kept) / len(answerable) if answerable else 0.0,
        "f1": sum(r["f1"] for r in kept) / len(answerable) if answerable else 0.0,
        "declined": sum(declined_at(r, at) for r in impossible) / len(impossible) if impossible else 0.0,
    }


def objective(s: dict[str, float]) -> float:
    """What the thresholds are chosen for: right answers and honest refusals, weighted alike."""
    return (s["f1"] + s["declined"]) / 2


#: The checks in the order the pipeline applies them; each ablation row adds one.
CHECKS = ("confidence", "answer", "question", "coverage")


def ablation(rows: list[dict[str, Any]], at: Thresholds, checks: tuple[str, ...]) -> dict[str, float]:
    """The scores with only ``checks`` applied to the model's drafts (answers files that carry
    ``draft``): the relevance gate and the model's own refusals always stand, since a run
    without them would have no draft to grade."""
    kept_rows = []
    for row in rows:
        kinds = {"coverage" if u["kind"] == "terms" else u["where"] for u in row["unsupported"]}
        declined = (
            not row.get("draft")
            or ("confidence" in checks and _below(row.get("confidence"), at.confidence))
            or ("coverage" in checks and _below(row.get("coverage"), at.coverage))
            or bool(kinds & set(checks))
        )
        f1 = 0.0 if declined else metrics.f1(metrics.strip_citations(row["draft"]), row["gold"])
        kept_rows.append(row | {"declined": declined, "f1": f1, "confidence": None, "coverage": None})
    return scores(kept_rows, at)


def _curve(
    label: str, points: list[Thresholds], dev: list[dict[str, Any]], test: list[dict[str, Any]], best: Thresholds
) -> None:
    print(
        f"\n{label:>22} | {'dev answered':>12} {'F1':>6} {'declined':>8} | {'test answered':>13} {'F1':>6} {'declined':>8}"
    )
    for at in points:
        d, e = scores(dev, at), scores(test, at)
        mark = "  <- chosen on dev" if at == best else ""
        print(
            f"{at.confidence:10.2f} {at.coverage:11.2f} | {d['answered']:12.3f} {d['f1']:6.3f} {d['declined']:8.3f} | "
            f"{e['answered']:13.3f} {e['f1']:6.3f} {e['declined']:8.3f}{mark}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("answers", nargs="+", type=Path)
    parser.add_argument(
        "--report", nargs="*", type=Path, default=[], help="answers files graded at the chosen thresholds only"
    )
    parser.add_argument(
        "--at",
        nargs=2,
        type=float,
        action="append",
        default=[],
        metavar=("CONFIDENCE", "COVERAGE"),
        help="also report these thresholds (the shipped defaults, say)",
    )
    args = parser.parse_args()
    rows = read(args.answers)
    dev, test = [r for r in rows if is_dev(r)], [r for r in rows if not is_dev(r)]
    print(f"{len(rows)} answers: dev {len(dev)}, test {len(test)} ({', '.join(p.name for p in args.answers)})")
    grid = [Thresholds(t, c) for t in THRESHOLDS for c in COVERAGES]
    best = max(grid, key=lambda at: (objective(scores(dev, at)), -at.confidence, -at.coverage))
    print(f"chosen on the dev half: {best}")
    _curve("confidence  coverage", [Thresholds(t, best.coverage) for t in THRESHOLDS], dev, test, best)
    _curve("confidence  coverage", [Thresholds(best.confidence, c) for c in COVERAGES], dev, test, best)
    reported = [best, *(Thresholds(t, c) for t, c in args.at)]
    for at in reported:
        print()
        for name in sorted({r["file"] for r in test}):
            part = scores([r for r in test if r["file"] == name], at)
            print(f"test half of {name} at {at}: " + ", ".join(f"{k} {v:.3f}" for k, v in part.items()))
        for path in args.report:
            part = scores(read([path]), at)
            print(f"all of {path.name} at {at}: " + ", ".join(f"{k} {v:.3f}" for k, v in part.items()))
    if all("draft" in r for r in rows):
        print(f"\nablation on the test half ({len(test)} answers, {best} where those checks are on):")
        print(f"{'checks':44} {'answered':>8} {'F1':>6} {'declined':>8}")
        for upto in range(len(CHECKS) + 1):
            checks = CHECKS[:upto]
            a = ablation(test, best, checks)
            label = " + ".join(("gate and model", *checks))
            print(f"{label:44} {a['answered']:8.3f} {a['f1']:6.3f} {a['declined']:8.3f}")
        for check in CHECKS:
            a = ablation(test, best, tuple(c for c in CHECKS if c != check))
            print(f"{'all but ' + check:44} {a['answered']:8.3f} {a['f1']:6.3f} {a['declined']:8.3f}")


if __name__ == "__main__":
    main()
