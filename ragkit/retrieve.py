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
#: Candidates taken from each ranking before fusion (at least four per passage wanted).
CANDIDATES = 30


class Retriever:
    """Hybrid retrieval over one store with one embedder."""

    def __init__(self, store: Store, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def retrieve(self, question: str, collection: str, top_k: int) -> list[Hit]:
        """The ``top_k`` best chunks for ``question``, with cosine score and lexical coverage."""
        query = self.embedder.embed([question])[0]
        pool = max(CANDIDATES, top_k * 4)
        dense = self.store.dense_search(collection, query, pool)
        lexed = self.store.lexical_search(collection, question, pool)

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
