"""Scoring functions for the eval commands, written to match the published tools.

Retrieval metrics follow trec_eval / pytrec_eval as BEIR reports them (nDCG with linear gain
and log2 discount, recall over all judged-relevant documents, reciprocal rank of the first
relevant one). Answer metrics follow the SQuAD 2.0 evaluation script (lower-case, strip
punctuation and English articles, token overlap) and, for Chinese, the CMRC 2018 script's
mixed segmentation (each CJK character a token, other runs split into words) and its
longest-common-substring F1.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from .claims import BRACKET_MARKS
from .lexical import CJK_CHAR, is_cjk

# -- retrieval ----------------------------------------------------------------------------


def ndcg_at_k(ranking: Sequence[str], relevance: Mapping[str, int], k: int = 10) -> float:
    """Normalized discounted cumulative gain of the first ``k`` documents (0 with nothing relevant)."""
    dcg = sum(relevance.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranking[:k]))
    ideal = sorted((r for r in relevance.values() if r > 0), reverse=True)[:k]
    idcg = sum(r / math.log2(rank + 2) for rank, r in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at_k(ranking: Sequence[str], relevance: Mapping[str, int], k: int = 100) -> float:
    """Share of the relevant documents found in the first ``k``."""
    relevant = {doc for doc, r in relevance.items() if r > 0}
    return len(relevant.intersection(ranking[:k])) / len(relevant) if relevant else 0.0


def mrr_at_k(ranking: Sequence[str], relevance: Mapping[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document within the first ``k`` (0 if none)."""
    for rank, doc in enumerate(ranking[:k], start=1):
        if relevance.get(doc, 0) > 0:
            return 1.0 / rank
    return 0.0


def retrieval_scores(
    runs: Mapping[str, Sequence[str]], qrels: Mapping[str, Mapping[str, int]]
) -> dict[str, float | int]:
    """Mean nDCG@10, Recall@100 and MRR@10 over the judged queries (an unrun query scores 0)."""
    judged = [q for q, rels in qrels.items() if any(r > 0 for r in rels.values())]
    if not judged:
        return {"queries": 0, "ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    total = {"ndcg@10": 0.0, "recall@100": 0.0, "mrr@10": 0.0}
    for qid in judged:
        ranking, rels = runs.get(qid, ()), qrels[qid]
        total["ndcg@10"] += ndcg_at_k(ranking, rels, 10)
        total["recall@100"] += recall_at_k(ranking, rels, 100)
        total["mrr@10"] += mrr_at_k(ranking, rels, 10)
    return {"queries": len(judged), **{name: value / len(judged) for name, value in total.items()}}


# -- answers ------------------------------------------------------------------------------

_ARTICLES = re.compile(r"\b(a|an|the)\b")


def _is_punctuation(char: str) -> bool:
    return char in string.punctuation or unicodedata.category(char).startswith("P")


def strip_citations(text: str) -> str:
    """The answer without its ``[n]`` citation marks (:data:`ragkit.claims.BRACKET_MARKS`, the
    form the checks also read), which are not part of what it says; "(14)" is kept, since in an
    answer it is as likely a figure as a mark."""
    return BRACKET_MARKS.sub("", text)


def normalize(text: str) -> str:
    """SQuAD normalization: lower case, no punctuation, no English articles, single spaces."""
    text = "".join(c for c in text.lower() if not _is_punctuation(c))
    return " ".join(_ARTICLES.sub(" ", text).split())


def answer_tokens(text: str) -> list[str]:
    """Tokens for F1: words for English, single characters for CJK (CMRC's mixed segmentation)."""
    tokens: list[str] = []
    for word in normalize(text).split():
        if not CJK_CHAR.search(word):
            tokens.append(word)
            continue
        run = ""
        for char in word:
            if CJK_CHAR.match(char):
                tokens.extend([run] if run else [])
                tokens.append(char)
                run = ""
            else:
                run += char
        tokens.extend([run] if run else [])
    return tokens


def exact_match(prediction: str, golds: Iterable[str]) -> float:
    """1.0 when the normalized prediction equals a normalized gold answer."""
    if is_cjk(prediction):
        # Chinese is written without spaces; compare as token sequences so spacing cannot matter.
        return float(any(answer_tokens(prediction) == answer_tokens(g) for g in golds))
    return float(any(normalize(prediction) == normalize(g) for g in golds))


def _longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest run of tokens that ``a`` and ``b`` share (contiguous)."""
    best, row = 0, [0] * (len(b) + 1)
    for x in a:
        previous = 0
        for j, y in enumerate(b, start=1):
            current = row[j]
            row[j] = previous + 1 if x == y else 0
            best = max(best, row[j])
            previous = current
    return best


def f1(prediction: str, golds: Iterable[str]) -> float:
    """Best F1 of the prediction against any gold answer.

    English (SQuAD): bag-of-tokens overlap. Chinese (CMRC 2018's official script): the longest
    common substring of the mixed-segmented, punctuation-free texts, so that the right
    characters in the wrong order do not count.
    """
    predicted = answer_tokens(prediction)
    best = 0.0
    for gold in golds:
        wanted = answer_tokens(gold)
        if is_cjk(gold):
            common = _longest_common_run(predicted, wanted)
        else:
            common = sum((Counter(predicted) & Counter(wanted)).values())
        if common:
            precision, recall = common / len(predicted), common / len(wanted)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_answer(text: str, golds: Iterable[str]) -> bool:
    """True when a gold answer appears, normalized, inside ``text`` (an answer or a passage)."""
    have = f" {' '.join(answer_tokens(text))} "
    return any(want.strip() and want in have for want in (f" {' '.join(answer_tokens(g))} " for g in golds))
