"""Question -> hits: dense and lexical search fused with reciprocal rank fusion.

Dense search (MiniLM) understands paraphrase in English; lexical search (BM25 over words and
CJK bigrams) finds exact names, numbers and Chinese text that the English-only embedder cannot
represent. Reciprocal rank fusion combines the two rankings without calibrating their scores.
Each hit keeps its cosine similarity and lexical coverage: the answerer uses them to decide
whether anything is relevant enough to answer from.
"""

from __future__ import annotations

import numpy as np

from . import lexical
from .embed import Embedder
from .records import Hit
from .store import Store

RRF_K = 60


class Retriever:
    """Hybrid retrieval over one store with one embedder."""

    def __init__(self, store: Store, embedder: Embedder, *, candidates: int = 30, lexical_search: bool = True) -> None:
        self.store = store
        self.embedder = embedder
        self.candidates = candidates
        self.lexical_search = lexical_search

    def retrieve(self, question: str, collection: str, top_k: int) -> list[Hit]:
        """The ``top_k`` best chunks for ``question``, with cosine score and lexical coverage."""
        query = self.embedder.embed([question])[0]
        pool = max(self.candidates, top_k * 4)
        dense = self.store.dense_search(collection, query, pool)
        lexed = self.store.lexical_search(collection, question, pool) if self.lexical_search else []

        fused: dict[str, float] = {}
        for ranking in (dense, lexed):
            for rank, (cid, _score) in enumerate(ranking):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        order = sorted(fused, key=fused.__getitem__, reverse=True)
        chunks = self.store.chunks(collection, order)  # drops anything the manifest does not list
        order = [cid for cid in order if cid in chunks][:top_k]

        cosine = dict(dense)
        missing = [cid for cid in order if cid not in cosine]
        for cid, vec in self.store.vectors(collection, missing).items():
            cosine[cid] = float(np.dot(vec, query))
        return [
            Hit(
                chunk=chunks[cid],
                score=cosine.get(cid, 0.0),
                rank=i,
                lexical=lexical.coverage(question, chunks[cid].text),
            )
            for i, cid in enumerate(order, start=1)
        ]
