"""Retrieval ablation: dense alone, BM25 alone, reciprocal rank fusion and score fusion variants.

Prints nDCG@10, Recall@100 and MRR@10 for each way of combining the two rankings ragkit
computes, on a BEIR data set already ingested by ``ragkit eval retrieval --work-dir``. This is
how the fusion in ``ragkit/retrieve.py`` was chosen. Run from the repository root:

    .venv/bin/ragkit eval retrieval --corpus C.jsonl --queries Q.jsonl --qrels R.tsv \\
        --run-out /tmp/run.tsv --work-dir WORK
    .venv/bin/python benchmarks/fusion_ablation.py WORK --corpus C.jsonl --queries Q.jsonl --qrels R.tsv
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from ragkit import Ragkit, load_settings, metrics
from ragkit.datasets import DocumentFiles, read_corpus, read_qrels, read_queries
from ragkit.evaluate import COLLECTION, RUN_DEPTH

Ranking = list[tuple[str, float]]
POOL = 300


def min_max(ranking: Ranking) -> dict[str, float]:
    if not ranking:
        return {}
    low, high = min(s for _, s in ranking), max(s for _, s in ranking)
    return {cid: (s - low) / (high - low) if high > low else 1.0 for cid, s in ranking}


def convex(alpha: float, pool: int) -> Callable[[Ranking, Ranking], dict[str, float]]:
    """alpha * min-max(dense) + (1 - alpha) * min-max(BM25) over the top ``pool`` of each."""

    def fuse(dense: Ranking, lexed: Ranking) -> dict[str, float]:
        fused: dict[str, float] = {}
        for ranking, weight in ((dense[:pool], alpha), (lexed[:pool], 1 - alpha)):
            for cid, score in min_max(ranking).items():
                fused[cid] = fused.get(cid, 0.0) + weight * score
        return fused

    return fuse


def rrf(k: int) -> Callable[[Ranking, Ranking], dict[str, float]]:
    """Reciprocal rank fusion: the sum of 1 / (k + rank) over both rankings."""

    def fuse(dense: Ranking, lexed: Ranking) -> dict[str, float]:
        fused: dict[str, float] = {}
        for ranking in (dense, lexed):
            for rank, (cid, _) in enumerate(ranking, start=1):
                fused[cid] = fused.get(cid, 0.0) + 1 / (k + rank)
        return fused

    return fuse


VARIANTS: dict[str, Callable[[Ranking, Ranking], dict[str, float]]] = {
    "dense only (MiniLM)": lambda dense, lexed: dict(dense),
    "BM25 only (FTS5)": lambda dense, lexed: dict(lexed),
    "RRF k=10": rrf(10),
    "RRF k=60": rrf(60),
    "min-max, dense weight 0.3": convex(0.3, POOL),
    "min-max, dense weight 0.5 (ragkit)": convex(0.5, POOL),
    "min-max, dense weight 0.7": convex(0.7, POOL),
    "min-max 0.5, pool 30": convex(0.5, 30),
    "min-max 0.5, pool 100": convex(0.5, 100),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_dir", type=Path, help="the --work-dir of an earlier `ragkit eval retrieval`")
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--queries", type=Path, required=True)
    parser.add_argument("--qrels", type=Path, required=True)
    args = parser.parse_args()
    files = DocumentFiles.write(read_corpus(args.corpus), args.work_dir / "docs")
    kit = Ragkit(load_settings({"data_dir": args.work_dir / "data"}))
    qrels = read_qrels(args.qrels)
    queries = {qid: text for qid, text in read_queries(args.queries).items() if qid in qrels}
    vectors = kit.embedder.embed(list(queries.values()))
    rankings = {
        qid: (kit.store.dense_search(COLLECTION, vector, POOL), kit.store.lexical_search(COLLECTION, text, POOL))
        for (qid, text), vector in zip(queries.items(), vectors, strict=True)
    }
    ids = {cid for pair in rankings.values() for ranking in pair for cid, _ in ranking}
    doc_of = {cid: files.id_of(chunk.doc_path) for cid, chunk in kit.store.chunks(COLLECTION, sorted(ids)).items()}
    print(f"{len(queries)} judged queries")
    print(f"{'variant':36} nDCG@10  R@100   MRR@10")
    for name, fuse in VARIANTS.items():
        runs: dict[str, list[str]] = {}
        for qid, (dense, lexed) in rankings.items():
            docs: dict[str, None] = {}  # a document ranks by its best chunk
            for cid, _ in sorted(fuse(dense, lexed).items(), key=lambda item: item[1], reverse=True):
                docs.setdefault(doc_of[cid], None)
            runs[qid] = list(docs)[:RUN_DEPTH]
        s = metrics.retrieval_scores(runs, qrels)
        print(f"{name:36} {s['ndcg@10']:.4f}  {s['recall@100']:.4f}  {s['mrr@10']:.4f}")


if __name__ == "__main__":
    main()
