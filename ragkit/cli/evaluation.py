"""``ragkit eval``: retrieval and answers measured on labelled data."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .. import PIPELINES, evaluate_qa, evaluate_retrieval
from .base import Group, cli, emit_json, make_kit

# -- eval -----------------------------------------------------------------------------------

pipeline_option = click.option(
    "--pipeline",
    "pipelines",
    multiple=True,
    type=click.Choice(list(PIPELINES)),
    help="Pipeline(s) to run; default: both, ragkit's default first and the naive baseline.",
)
work_dir_option = click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the eval's documents and store here and re-use them next time (default: a temporary dir).",
)


def _progress(quiet: bool) -> Callable[[str, int, int], None]:
    """A tqdm bar on stderr per stage (ingest, then each pipeline's questions)."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if quiet:
            return
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, dynamic_ncols=True)
        bars[stage].total = total
        bars[stage].update(done - bars[stage].n)
        if done == total:
            bars[stage].close()

    return update


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _figure(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


@cli.group(name="eval", cls=Group)
def eval_group() -> None:
    """Measure retrieval and answers on labelled data (BEIR and SQuAD-style files)."""


@eval_group.command(name="retrieval")
@click.option(
    "--corpus",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='Corpus JSONL: {"_id","title","text"} per line.',
)
@click.option(
    "--queries",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='Queries JSONL: {"_id","text"} per line.',
)
@click.option(
    "--qrels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Relevance TSV with header 'query-id corpus-id score'; without it only run files are written.",
)
@click.option(
    "--run-out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="TREC run file (top 100 documents per query); other pipelines get NAME.<pipeline>.EXT.",
)
@pipeline_option
@work_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def eval_retrieval(
    ctx: click.Context,
    corpus: Path,
    queries: Path,
    qrels: Path | None,
    run_out: Path,
    pipelines: tuple[str, ...],
    work_dir: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Ingest a corpus into a throw-away store, rank documents for each query, score the runs."""
    report = evaluate_retrieval(
        make_kit(ctx),
        corpus=corpus,
        queries=queries,
        qrels=qrels,
        run_out=run_out,
        pipelines=pipelines or tuple(PIPELINES),
        work_dir=work_dir,
        progress=_progress(quiet),
    )
    if as_json:
        emit_json(report.to_json())
        return
    click.echo(f"{report.documents} documents, {report.chunks} chunks (ingest {report.ingest_seconds:.1f}s)")
    rows = [("pipeline", "nDCG@10", "Recall@100", "MRR@10", "ms/query", "run file")]
    for r in report.results:
        s = r.scores or {}
        rows.append(
            (
                r.pipeline,
                *(_figure(s.get(m)) for m in ("ndcg@10", "recall@100", "mrr@10")),
                f"{r.ms_per_query:.1f}",
                r.run_file,
            )
        )
    click.echo(_table(rows))


_QA_ROWS = [
    ("exact_match", "exact match (answerable)"),
    ("f1", "F1 (answerable)"),
    ("answer_containment", "answer containment"),
    ("answered_rate", "answered (answerable)"),
    ("refusal_precision", "refusal precision"),
    ("refusal_recall", "refusal recall (unanswerable declined)"),
    ("citation_hit_rate", "citation hit rate"),
    ("citation_precision", "citation precision (evidence)"),
    ("ttft_mean_ms", "time to first token, mean ms"),
    ("ttft_p50_ms", "time to first token, p50 ms"),
]


@eval_group.command(name="qa")
@click.option(
    "--passages",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='Passages JSONL: {"id","title","text"} per line.',
)
@click.option(
    "--questions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='Questions JSONL: {"id","question","answers":[...],"is_impossible"?,"passage_id"?}.',
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Answers JSONL, one line per question; other pipelines get NAME.<pipeline>.EXT.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Answer a seeded sample of N questions (half unanswerable when the data has both).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
@click.option("--model", "-m", help="Model name or GGUF path (default: the configured model).")
@click.option(
    "--drop-gold",
    is_flag=True,
    help="Answerable questions only, their own passages left out of the store: every answer should be a refusal.",
)
@pipeline_option
@work_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def eval_qa(
    ctx: click.Context,
    passages: Path,
    questions: Path,
    out: Path,
    limit: int | None,
    seed: int,
    model: str | None,
    drop_gold: bool,
    pipelines: tuple[str, ...],
    work_dir: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Ingest passages into a throw-away store, answer the questions, score answers and refusals."""
    report = evaluate_qa(
        make_kit(ctx),
        passages=passages,
        questions=questions,
        out=out,
        pipelines=pipelines or tuple(PIPELINES),
        limit=limit,
        seed=seed,
        model=model,
        work_dir=work_dir,
        progress=_progress(quiet),
        drop_gold=drop_gold,
    )
    if as_json:
        emit_json(report.to_json())
        return
    first = report.results[0].scores
    click.echo(
        f"{report.passages} passages; {first['questions']} questions ({first['answerable']} answerable, "
        f"{first['unanswerable']} unanswerable); model {report.model}"
    )
    rows = [("metric", *(r.pipeline for r in report.results))]
    rows += [(label, *(_figure(r.scores[key]) for r in report.results)) for key, label in _QA_ROWS]
    click.echo(_table(rows))
    for r in report.results:
        click.echo(f"answers ({r.pipeline}): {r.answers_file}")
