"""Question -> hits: dense and lexical search, fused by a convex combination of their scores.

Dense search (MiniLM) understands paraphrase in English; lexical search (BM25 over words and
CJK bigrams) finds exact names, numbers and Chinese text that the English-only embedder cannot
represent. Each ranking's scores are min-max normalized over a deep candidate pool and averaged
with equal weights (a candidate missing from one ranking gets 0 there). Unlike reciprocal rank
fusion this keeps how far ahead the leaders are: on BEIR SciFact it scored nDCG@10 0.742
against RRF's 0.72 (``benchmarks/fusion_ablation.py``, docs/benchmarks.md). Equal weights are
the neutral choice, and the best of the weights tried. Each hit keeps its cosine similarity and
lexical coverage: the answerer uses them to decide whether anything is relevant enough to
answer from.

One retriever serves every caller; :class:`Pipeline` only switches parts off, so the naive
baseline the eval commands compare against is this same code with the lexical side removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import lexical
from .embed import Embedder
from .errors import ConfigError
from .records import Hit
from .store import Store

#: Candidates taken from each ranking before fusion. Min-max normalization needs a deep pool:
#: its minimum is what a candidate absent from that ranking is worth.
CANDIDATES = 300
#: Weight of the dense score; the lexical score gets the rest.
DENSE_WEIGHT = 0.5


@dataclass(frozen=True)
class Pipeline:
    """How a question is answered: which rankings are fused, how many passages, which prompt.

    ``guarded`` turns on what ragkit adds over a plain RAG loop: the relevance gate that
    declines without asking the model, the cited prompt, and the citation checks.
    """

    name: str
    lexical: bool
    passages: int | None  # None: the configured top_k
    guarded: bool


#: ``naive`` is what most local RAG tools ship: dense top-4 and an "answer from the context" prompt.
PIPELINES = {
    "default": Pipeline("default", lexical=True, passages=None, guarded=True),
    "naive": Pipeline("naive", lexical=False, passages=4, guarded=False),
}


def pipeline(name: str) -> Pipeline:
    """The pipeline called ``name``."""
    try:
        return PIPELINES[name]
    except KeyError:
        raise ConfigError(f"unknown pipeline {name!r}; choose one of: {', '.join(PIPELINES)}") from None


@dataclass(frozen=True)
class DocumentHit:
    """A document ranked by its best chunk."""

    path: str
    score: float
    chunk_id: str


def _min_max(ranking: list[tuple[str, float]]) -> dict[str, float]:
    """Scores rescaled to [0, 1] over the ranking (all 1 when they are equal)."""
    if not ranking:
        return {}
    low, high = min(s for _, s in ranking), max(s for _, s in ranking)
    span = high - low
    return {cid: (score - low) / span if span > 0 else 1.0 for cid, score in ranking}


class Retriever:
    """Hybrid retrieval over one store with one embedder."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def _rank(
        self, question: str, collection: str, pool: int, use_lexical: bool
    ) -> tuple[list[tuple[str, float]], np.ndarray, dict[str, float]]:
        """Chunk ids with their fused score, best first, plus the query vector and dense cosines."""
        query = self.embedder.embed([question])[0]
        dense = self.store.dense_search(collection, query, pool)
        if use_lexical:
            fused: dict[str, float] = {}
            lexed = self.store.lexical_search(collection, question, pool)
            for ranking, weight in ((dense, DENSE_WEIGHT), (lexed, 1.0 - DENSE_WEIGHT)):
                for cid, score in _min_max(ranking).items():
                    fused[cid] = fused.get(cid, 0.0) + weight * score
        else:  # dense alone: the cosine is the score
            fused = dict(dense)
        order = sorted(fused.items(), key=lambda item: item[1], reverse=True)
        return order, query, dict(dense)

    def retrieve(self, question: str, collection: str, top_k: int, *, use_lexical: bool = True) -> list[Hit]:
        """The ``top_k`` best chunks for ``question``, with cosine score and lexical coverage."""
        pool = max(CANDIDATES, top_k) if use_lexical else top_k  # dense alone needs no fusion pool
        order, query, cosine = self._rank(question, collection, pool, use_lexical)
        chunks = self.store.chunks(collection, [cid for cid, _ in order])  # drops what the manifest does not list
        best = [cid for cid, _ in order if cid in chunks][:top_k]
        missing = [cid for cid in best if cid not in cosine]
        for cid, vec in self.store.vectors(collection, missing).items():
            cosine[cid] = float(np.dot(vec, query))
        return [
            Hit(
                chunk=chunks[cid],
                score=cosine.get(cid, 0.0),
                rank=i,
                lexical=lexical.coverage(question, chunks[cid].text),
            )
            for i, cid in enumerate(best, start=1)
        ]

    def documents(self, question: str, collection: str, n: int, *, use_lexical: bool = True) -> list[DocumentHit]:
        """The ``n`` best documents, each scored by its best chunk (what a run file lists)."""
        order, _query, _cosine = self._rank(question, collection, max(CANDIDATES, n * 3), use_lexical)
        chunks = self.store.chunks(collection, [cid for cid, _ in order])
        best: dict[str, DocumentHit] = {}
        for cid, score in order:
            if cid in chunks and chunks[cid].doc_path not in best:
                best[chunks[cid].doc_path] = DocumentHit(chunks[cid].doc_path, score, cid)
        return list(best.values())[:n]
