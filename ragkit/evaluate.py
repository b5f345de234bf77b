"""``ragkit eval``: measure retrieval and answers on labelled data, through the real product.

Both evaluations write the dataset's records as files, ingest them with the normal ingest path
into a throw-away store (or a kept ``work_dir``, re-used incrementally), and then run every
query through the normal retriever or every question through the normal ``ask``, once per
pipeline, so ragkit and the naive baseline are compared on the same store in the same run.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from . import metrics
from .datasets import DocumentFiles, Question, Record, read_corpus, read_qrels, read_queries, read_questions
from .library import Ragkit
from .records import Answer, IngestReport

COLLECTION = "eval"
#: Documents per query in a run file: enough for Recall@100.
RUN_DEPTH = 100

#: Called with (stage, done, total) as the evaluation advances.
StageProgress = Callable[[str, int, int], None]


def output_path(path: Path, pipeline: str, first: bool) -> Path:
    """Where a pipeline's output goes: ``path`` for the first pipeline, ``name.<pipeline>.ext`` after."""
    return path if first else path.with_name(f"{path.stem}.{pipeline}{path.suffix}")


@contextmanager
def _workspace(kit: Ragkit, work_dir: Path | None) -> Iterator[tuple[Ragkit, Path]]:
    """A Ragkit over a store of its own, in ``work_dir`` (kept) or a temporary folder.

    On a shared store server a workspace gets a collection name of its own, so that evaluations
    never meet each other or a team's collections: a temporary one a random name, dropped
    afterwards; a kept ``work_dir`` one derived from this machine and the folder, so that the next
    run over the same folder finds its documents again.
    """
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
        collection = COLLECTION
        if kit.settings.store_url:
            place = f"{socket.gethostname()}:{work_dir.resolve()}".encode()
            collection = f"{COLLECTION}-{hashlib.sha256(place).hexdigest()[:12]}"
        with Ragkit(replace(kit.settings, data_dir=work_dir / "data", collection=collection)) as kept:
            yield kept, work_dir
        return
    collection = f"{COLLECTION}-{uuid.uuid4().hex[:12]}" if kit.settings.store_url else COLLECTION
    with tempfile.TemporaryDirectory(prefix="ragkit-eval-") as tmp:
        evalkit = Ragkit(replace(kit.settings, data_dir=Path(tmp) / "data", collection=collection))
        try:
            yield evalkit, Path(tmp)
        finally:
            if kit.settings.store_url:
                evalkit.store.drop(collection)
            evalkit.close()


def _ingest(
    kit: Ragkit, records: list[Record], folder: Path, progress: StageProgress | None
) -> tuple[DocumentFiles, IngestReport]:
    files = DocumentFiles.write(records, folder)
    report = kit.ingest(
        [files.folder],
        prune=True,
        progress=(lambda _result, done, total: progress("ingest", done, total)) if progress else None,
    )
    return files, report


# -- retrieval ----------------------------------------------------------------------------


@dataclass
class RetrievalResult:
    """Scores (with qrels) and speed of one pipeline."""

    pipeline: str
    run_file: str
    scores: dict[str, float | int] | None
    queries: int
    ms_per_query: float

    def to_json(self) -> dict[str, Any]:
        """One pipeline's block of ``ragkit eval retrieval --json``."""
        return {
            "pipeline": self.pipeline,
            "run_file": self.run_file,
            "queries": self.queries,
            "ms_per_query": round(self.ms_per_query, 1),
            "scores": None if self.scores is None else {k: round(v, 4) for k, v in self.scores.items()},
        }


@dataclass
class RetrievalReport:
    """What ``ragkit eval retrieval`` measured."""

    documents: int
    chunks: int
    ingest_seconds: float
    results: list[RetrievalResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object."""
        return {
            "documents": self.documents,
            "chunks": self.chunks,
            "ingest_seconds": round(self.ingest_seconds, 1),
            "pipelines": [r.to_json() for r in self.results],
        }


def evaluate_retrieval(
    kit: Ragkit,
    *,
    corpus: Path,
    queries: Path,
    qrels: Path | None,
    run_out: Path,
    pipelines: Sequence[str],
    work_dir: Path | None = None,
    progress: StageProgress | None = None,
) -> RetrievalReport:
    """Ingest a BEIR corpus, rank documents for every query, write TREC run files, score them."""
    records, asked = read_corpus(corpus), read_queries(queries)
    judged = read_qrels(qrels) if qrels else None
    with _workspace(kit, work_dir) as (evalkit, folder):
        files, ingested = _ingest(evalkit, records, folder / "docs", progress)
        report = RetrievalReport(
            documents=len(records),
            chunks=sum(d.chunks for d in evalkit.sources()),
            ingest_seconds=ingested.seconds,
        )
        for index, name in enumerate(pipelines):
            target = output_path(run_out, name, index == 0)
            target.parent.mkdir(parents=True, exist_ok=True)
            runs: dict[str, list[str]] = {}
            started = time.perf_counter()
            with target.open("w", encoding="utf-8") as out:
                for done, (qid, text) in enumerate(asked.items(), start=1):
                    hits = evalkit.search_documents(text, n=RUN_DEPTH, pipeline=name)
                    runs[qid] = [files.id_of(h.path) for h in hits]
                    for rank, (doc_id, hit) in enumerate(zip(runs[qid], hits, strict=True), start=1):
                        out.write(f"{qid} Q0 {doc_id} {rank} {hit.score:.6f} ragkit-{name}\n")
                    if progress:
                        progress(f"queries ({name})", done, len(asked))
            elapsed = time.perf_counter() - started
            report.results.append(
                RetrievalResult(
                    pipeline=name,
                    run_file=str(target),
                    scores=None if judged is None else metrics.retrieval_scores(runs, judged),
                    queries=len(asked),
                    ms_per_query=elapsed * 1000 / max(1, len(asked)),
                )
            )
    return report


# -- question answering -------------------------------------------------------------------


def sample_questions(questions: list[Question], limit: int | None, seed: int) -> list[Question]:
    """A seeded sample of ``limit`` questions, half of them unanswerable when the data has both.

    Refusals can only be measured on unanswerable questions, and a data set where they are rare
    would otherwise sample few of them. Order is the file's, so runs are easy to compare.
    """
    if limit is None or limit >= len(questions):
        return list(questions)
    rng = random.Random(seed)
    answerable = [q for q in questions if not q.impossible]
    impossible = [q for q in questions if q.impossible]
    if answerable and impossible:
        half = min(limit // 2, len(impossible))
        chosen = rng.sample(impossible, half) + rng.sample(answerable, min(limit - half, len(answerable)))
    else:
        chosen = rng.sample(questions, limit)
    keep = {q.id for q in chosen}
    return [q for q in questions if q.id in keep]


@dataclass
class Graded:
    """One answered question with its grades."""

    question: Question
    answer: Answer
    doc_ids: list[str]

    @property
    def prediction(self) -> str:
        """What the answer says, without citation marks; empty when ragkit declined (SQuAD 2.0)."""
        return "" if self.answer.declined else metrics.strip_citations(self.answer.answer)

    def citation_hit(self) -> bool:
        """A cited passage is the gold passage or holds a gold answer."""
        return any(
            (self.question.passage_id is not None and doc_id == self.question.passage_id)
            or metrics.contains_answer(source.text, self.question.answers)
            for source, doc_id in zip(self.answer.sources, self.doc_ids, strict=True)
            if source.cited
        )

    def evidence_hit(self) -> bool:
        """The evidence sentences of an answer hold a gold answer (citation precision)."""
        return metrics.contains_answer(" ".join(e.sentence for e in self.answer.evidence), self.question.answers)

    def to_json(self) -> dict[str, Any]:
        """One line of the answers file (with the gold answers, so that a line can be re-graded,
        e.g. at another ``min_confidence``: ``benchmarks/refusal_curve.py``)."""
        return {
            "id": self.question.id,
            "question": self.question.question,
            "gold": list(self.question.answers),
            "impossible": self.question.impossible,
            "answer": self.answer.answer,
            "declined": self.answer.declined,
            "draft": self.answer.draft,
            "f1": round(metrics.f1(self.prediction, self.question.answers), 4),
            "confidence": None if self.answer.confidence is None else round(self.answer.confidence, 4),
            "coverage": None if self.answer.coverage is None else round(self.answer.coverage, 4),
            "evidence": [e.to_json() for e in self.answer.evidence],
            "unsupported": [u.to_json() for u in self.answer.unsupported],
            "sources": [
                {"doc_id": doc_id, "chunk_id": s.chunk_id, "score": round(s.score, 4), "cited": s.cited}
                for s, doc_id in zip(self.answer.sources, self.doc_ids, strict=True)
            ],
            "timings": self.answer.timings.to_json(),
        }


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def qa_scores(graded: Sequence[Graded]) -> dict[str, float | int | None]:
    """The QA metrics over a list of graded answers (None where a metric has nothing to count)."""
    answerable = [g for g in graded if not g.question.impossible]
    impossible = [g for g in graded if g.question.impossible]
    declined = [g for g in graded if g.answer.declined]
    answered = [g for g in answerable if not g.answer.declined]
    ttft = [g.answer.timings.first_token_ms for g in graded if g.answer.timings.first_token_ms is not None]
    return {
        "questions": len(graded),
        "answerable": len(answerable),
        "unanswerable": len(impossible),
        "exact_match": _mean([metrics.exact_match(g.prediction, g.question.answers) for g in answerable]),
        "f1": _mean([metrics.f1(g.prediction, g.question.answers) for g in answerable]),
        "answer_containment": _mean(
            [float(metrics.contains_answer(g.prediction, g.question.answers)) for g in answerable]
        ),
        "answered_rate": len(answered) / len(answerable) if answerable else None,
        "refusal_precision": sum(1 for g in declined if g.question.impossible) / len(declined) if declined else None,
        "refusal_recall": sum(1 for g in impossible if g.answer.declined) / len(impossible) if impossible else None,
        "citation_hit_rate": _mean([float(g.citation_hit()) for g in answered]),
        "citation_precision": _mean([float(g.evidence_hit()) for g in answered if g.answer.evidence]),
        "ttft_mean_ms": _mean(ttft),
        "ttft_p50_ms": statistics.median(ttft) if ttft else None,
    }


@dataclass
class QAResult:
    """Scores of one pipeline and where its answers were written."""

    pipeline: str
    answers_file: str
    scores: dict[str, float | int | None]

    def to_json(self) -> dict[str, Any]:
        """One pipeline's block of ``ragkit eval qa --json``."""
        return {
            "pipeline": self.pipeline,
            "answers_file": self.answers_file,
            "scores": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.scores.items()},
        }


@dataclass
class QAReport:
    """What ``ragkit eval qa`` measured."""

    passages: int
    model: str
    results: list[QAResult] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` object."""
        return {"passages": self.passages, "model": self.model, "pipelines": [r.to_json() for r in self.results]}


def evaluate_qa(
    kit: Ragkit,
    *,
    passages: Path,
    questions: Path,
    out: Path,
    pipelines: Sequence[str],
    limit: int | None = None,
    seed: int = 0,
    model: str | None = None,
    work_dir: Path | None = None,
    progress: StageProgress | None = None,
    drop_gold: bool = False,
) -> QAReport:
    """Ingest passages, answer a sample of questions with each pipeline, write and score answers.

    ``drop_gold`` measures what users hit most: the topic is in the documents, the fact is
    not. The sample is of answerable questions only, their own passages are left out of the
    store (the other passages of the same article stay), and each becomes unanswerable.
    """
    records = read_corpus(passages)
    asked = read_questions(questions)
    if drop_gold:
        asked = sample_questions([q for q in asked if not q.impossible and q.passage_id], limit, seed)
        gone = {q.passage_id for q in asked}
        records = [r for r in records if r.id not in gone]
        asked = [replace(q, answers=[], impossible=True) for q in asked]
    else:
        asked = sample_questions(asked, limit, seed)
    with _workspace(kit, work_dir) as (evalkit, folder):
        files, _ingested = _ingest(evalkit, records, folder / "docs", progress)
        report = QAReport(passages=len(records), model=evalkit.llm(model).label)
        for index, name in enumerate(pipelines):
            target = output_path(out, name, index == 0)
            target.parent.mkdir(parents=True, exist_ok=True)
            graded: list[Graded] = []
            with target.open("w", encoding="utf-8") as handle:
                for done, question in enumerate(asked, start=1):
                    answer = evalkit.ask(question.question, model=model, pipeline=name)
                    item = Graded(question, answer, [files.id_of(s.file) for s in answer.sources])
                    graded.append(item)
                    handle.write(json.dumps(item.to_json(), ensure_ascii=False) + "\n")
                    handle.flush()
                    if progress:
                        progress(f"questions ({name})", done, len(asked))
            report.results.append(QAResult(name, str(target), qa_scores(graded)))
    return report
