"""Passages -> the sentences that matter, within a token budget for the prompt.

On a laptop CPU the prompt, not the answer, is most of the wait: the default 1.5B model reads
about 55 prompt tokens/s on two cores, so five whole 200-token passages cost some 20 s before
the first word. Most of a passage is surroundings of the one or two sentences that answer the
question. Each passage that does not fit its share of the budget keeps the sentences that match
the question best (by meaning, when the embedder knows the language, and by the question's
rarer terms), in their original order; passages that already fit are kept whole. The user
still sees and checks whole passages.

Terms are weighted by how rare they are among the sentences being ranked: a question's topic
words ("company", "report") stand in every sentence of a report, the word that asks for the fact
("负责人", "carried over") in few. An unweighted share of the question's terms let a title
sentence that repeats the topic beat the sentence holding the answer.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Sequence

from . import lexical
from .sentences import split

_SOFT_BREAK = re.compile(r"(?<!\n)\n(?!\n|\s*(?:[-*•#|]|\d+[.)、]))")
#: Stands for text left out between kept sentences.
GAP = "…"


def reflow(passage: str) -> str:
    """Join lines broken inside sentences (PDF text), keeping list items, table rows and headings apart."""
    return _SOFT_BREAK.sub(" ", passage)


def sentences(passage: str) -> list[str]:
    """The passage's sentences (reflowed, stripped, empty ones dropped); a line of its own
    (a heading, a list item, a table row) is a sentence too."""
    return split(reflow(passage))


def term_weights(question: str, texts: Sequence[str]) -> dict[str, float]:
    """The question's terms, each weighted by its rarity (BM25's idf) among ``texts``."""
    wanted = lexical.query_terms(question)
    seen = Counter(t for text in texts for t in set(lexical.terms(text)))
    n = len(texts)
    return {t: math.log(1 + (n - seen[t] + 0.5) / (seen[t] + 0.5)) for t in wanted}


def weighted_coverage(weights: dict[str, float], text: str) -> float:
    """Share of the question's term weight found in ``text`` (0 to 1)."""
    total = sum(weights.values())
    if not total:
        return 0.0
    have = set(lexical.terms(text))
    return sum(w for t, w in weights.items() if t in have) / total


def _keep(parts: list[str], scores: list[float], budget: float, count: Callable[[str], int]) -> list[str]:
    """The best sentences that fit ``budget`` (the best one always), in order, gaps marked."""
    order = sorted(range(len(parts)), key=lambda i: -scores[i])
    best = order[0]
    chosen, used = {best}, count(parts[best])
    # Best first; among equals, the sentences nearest the best one (its context).
    for i in sorted(order[1:], key=lambda i: (-scores[i], abs(i - best))):
        size = count(parts[i])
        if used + size <= budget:
            chosen.add(i)
            used += size
    out: list[str] = []
    for i in range(len(parts)):
        if i in chosen:
            out.append(parts[i])
        elif not out or out[-1] != GAP:
            out.append(GAP)
    return out


def focus(
    question: str,
    passages: Sequence[str],
    budget: int,
    count: Callable[[str], int],
    similarity: Callable[[str, list[str]], list[float]] | None = None,
) -> list[list[str]]:
    """Each passage as the sentences the model reads, ``GAP`` where text was left out, so that
    all fit ``budget`` tokens (``count`` measures text in tokens; 0 means no budget).

    ``similarity(question, sentences)`` scores sentences by meaning; without it (or for a
    language the embedder does not know) the weighted share of the question's terms decides alone.
    """
    split = [sentences(p) or [p.strip()] for p in passages]
    sizes = [count(p) for p in passages]
    if budget <= 0 or sum(sizes) <= budget:
        return split
    # Passages shorter than an equal share stay whole; the others share what is left.
    share = budget / len(passages)
    small = [i for i, size in enumerate(sizes) if size <= share]
    rest = len(passages) - len(small)
    share = (budget - sum(sizes[i] for i in small)) / rest if rest else share
    weights = term_weights(question, [s for parts in split for s in parts])
    out = []
    for i, parts in enumerate(split):
        if i in small or len(parts) < 2:
            out.append(parts)
            continue
        scores = [weighted_coverage(weights, s) for s in parts]
        if similarity is not None:
            scores = [a + b for a, b in zip(scores, similarity(question, parts), strict=True)]
        out.append(_keep(parts, scores, share, count))
    return out
