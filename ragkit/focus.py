"""Passages -> the sentences that matter, within a token budget for the prompt.

On a laptop CPU the prompt, not the answer, is most of the wait: the default 1.5B model reads
about 55 prompt tokens/s on two cores, so five whole 200-token passages cost some 20 s before
the first word. Most of a passage is surroundings of the one or two sentences that answer the
question. Each passage is therefore cut to a window around its best sentence (by similarity to
the question and share of the question's terms) so that all passages together fit the budget;
passages that already fit are kept whole. The user still sees and checks whole passages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from . import lexical

_SOFT_BREAK = re.compile(r"(?<!\n)\n(?!\n|\s*(?:[-*•#]|\d+[.)、]))")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])\s*|\n{2,}")
#: Marks text left out between kept sentences.
GAP = " … "


def reflow(passage: str) -> str:
    """Join lines broken inside sentences (PDF text), keeping list items and headings apart."""
    return _SOFT_BREAK.sub(" ", passage)


def sentences(passage: str) -> list[str]:
    """The passage's sentences (reflowed, stripped, empty ones dropped)."""
    return [s.strip() for s in _SENTENCE.split(reflow(passage)) if s and s.strip()]


def _window(parts: list[str], scores: list[float], budget: int, count: Callable[[str], int]) -> str:
    """The best sentence, grown with neighbours (next first) while the budget allows."""
    best = max(range(len(parts)), key=scores.__getitem__)
    low = high = best
    used = count(parts[best])
    grew = True
    while grew:
        grew = False
        for candidate in (high + 1, low - 1):
            if 0 <= candidate < len(parts) and used + count(parts[candidate]) <= budget:
                used += count(parts[candidate])
                low, high = min(low, candidate), max(high, candidate)
                grew = True
    text = " ".join(parts[low : high + 1])
    return (GAP.lstrip() if low > 0 else "") + text + (GAP.rstrip() if high < len(parts) - 1 else "")


def focus(
    question: str,
    passages: Sequence[str],
    budget: int,
    count: Callable[[str], int],
    similarity: Callable[[str, list[str]], list[float]] | None = None,
) -> list[str]:
    """Passages cut to fit ``budget`` tokens in all (``count`` measures text in tokens).

    ``similarity(question, sentences)`` scores sentences by meaning; without it (or for a
    language the embedder does not know) the share of the question's terms decides alone.
    """
    sizes = [count(p) for p in passages]
    if budget <= 0 or sum(sizes) <= budget:
        return list(passages)
    # Passages shorter than an equal share stay whole; the others share what is left.
    share = budget / len(passages)
    small = [i for i, size in enumerate(sizes) if size <= share]
    rest = len(passages) - len(small)
    share = (budget - sum(sizes[i] for i in small)) / rest if rest else share
    out = []
    for i, passage in enumerate(passages):
        parts = sentences(passage)
        if i in small or len(parts) < 2:
            out.append(passage)
            continue
        scores = [lexical.coverage(question, s) for s in parts]
        if similarity is not None:
            scores = [a + b for a, b in zip(scores, similarity(question, parts), strict=True)]
        out.append(_window(parts, scores, int(share), count))
    return out
