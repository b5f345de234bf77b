"""A draft answer and its evidence ids -> the checks that decide whether it may be shown.

Before an answer is shown, every number and name it adds to the question must stand in the
evidence sentences it was written from (:mod:`ragkit.claims`); the question's own details must
be met by the evidence: a number or year it names in the evidence or the sentences next to it,
a name in the evidence's documents or their file names, and at least ``min_coverage`` of its
terms (each weighted by its rarity among the prompt's sentences) in the evidence and its
neighbours, so that a question about "境外" hotels or "Linux" laptops is not answered from the
sentence about domestic hotels or macOS laptops. A small model often names a neighbouring
sentence: the evidence then moves to the one sentence that backs the answer, when one does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import claims, evidence, lexical
from .focus import sentences, term_weights, weighted_coverage
from .prompt import Prompt
from .records import Evidence, Hit, Unsupported


@dataclass
class Verdict:
    """The checks' outcome for a draft: what the answer rests on and what failed."""

    evidence: list[Evidence]
    unsupported: list[Unsupported] = field(default_factory=list)
    #: Share of the question's term weight that the evidence and its context hold (0 to 1).
    coverage: float = 1.0

    @property
    def passed(self) -> bool:
        """Whether the answer may be shown."""
        return not self.unsupported


def _context(sentence: str, passage: str) -> str:
    """``sentence`` with the sentences either side of it in its passage."""
    parts = sentences(passage)
    if sentence not in parts:
        return sentence
    i = parts.index(sentence)
    return " ".join(parts[max(0, i - 1) : i + 2])


#: Share of the answer's own terms (those the question does not contain) that must stand in
#: its evidence: an answer is copied from its sentences, not paraphrased into new facts.
MIN_ANSWER_COVERAGE = 0.5


def _answer_support(answer: str, question: str, text: str, facts: Sequence[claims.Claim]) -> float:
    """How well ``text`` backs ``answer``: 0 when a fact of the answer is missing from it, else
    the share of the answer's new terms it holds (1 when the answer adds no terms)."""
    if claims.unsupported(facts, text):
        return 0.0
    asked = set(lexical.terms(question))
    new = [t for t in lexical.query_terms(answer) if t not in asked]
    if not new:
        return 1.0
    have = set(lexical.terms(text))
    return sum(1 for t in new if t in have) / len(new)


#: Question words that name the kind of answer wanted, not its topic: the sentence that answers
#: "In what year…" or "How many…" states a year or a count, not the word.
_ANSWER_KINDS = frozenset(
    "many much often long far old year years date day month number amount percentage name called kind type".split()
)


#: Words that open a sentence about the previous sentence's subject ("It is found in…").
_ANAPHORA = re.compile(r"^(?:[它其该此这他她]|(?:it|its|this|these|they|their|he|his|she|her)\b)", re.IGNORECASE)


def _about(sentence: evidence.Sentence, prompt: Prompt) -> str:
    """What a sentence is about: its text, after the sentence before it in its passage when it
    opens with a pronoun (the subject it refers to stands there)."""
    text = sentence.text
    if sentence.id > 1 and _ANAPHORA.match(text):
        before = prompt.sentences[sentence.id - 2]
        if before.passage == sentence.passage:
            return f"{before.text} {text}"
    return text


def _uncovered(weights: dict[str, float], have: set[str]) -> list[str]:
    """The question's weighted terms whose stems are missing from ``have``, as the user wrote
    them: overlapping Chinese bigrams joined back into one run ("境外", "外出" -> "境外出")."""
    phrases: list[str] = []
    previous = ""
    for term in weights:
        if lexical.stem(term) in have:
            previous = ""
            continue
        if previous and lexical.is_cjk(term) and previous[-1] == term[0]:
            phrases[-1] += term[1:]
        else:
            phrases.append(term)
        previous = term
    return phrases


def _coverage(weights: dict[str, float], have: set[str]) -> float:
    """Share of the question's term weight whose stems stand in ``have`` (each stem counted once)."""
    stems: dict[str, float] = {}
    for term, weight in weights.items():
        stems[lexical.stem(term)] = max(weight, stems.get(lexical.stem(term), 0.0))
    total = sum(stems.values())
    return sum(w for t, w in stems.items() if t in have) / total if total else 1.0


def check(
    question: str,
    answer: str,
    ids: Sequence[int],
    prompt: Prompt,
    hits: Sequence[Hit],
    document_text: Callable[[str], str] = lambda _path: "",
    min_coverage: float = 0.0,
) -> Verdict:
    """Run the claim and question checks on a draft ``answer`` that named the evidence ``ids``
    (its confidence was checked by :func:`ragkit.answer.generate`). ``document_text`` gives a stored document's whole text, where
    a name the question asks about may stand (its title, its first page). Below
    ``min_coverage`` of the question's weighted terms in the evidence and its context, the
    evidence is about something else.

    A small model often writes the right fact and names a neighbouring sentence: when the
    sentences it named do not back the answer and one other sentence of the prompt does, the
    evidence points at that one (the user checks what really backs the answer). ``Evidence.n``
    numbers the sentences as the answer's ``[n]`` marks; ``Evidence.source`` is the passage's
    number among the hits.
    """
    facts = claims.answer_claims(answer, question)
    chosen = [prompt.sentences[i - 1] for i in ids]
    weights = term_weights(question, [s.text for s in prompt.sentences])
    if _answer_support(answer, question, " ".join(s.text for s in chosen), facts) < MIN_ANSWER_COVERAGE:
        # Only to a sentence that matches the question as well as the named ones: "25" written
        # from the sentence about carrying over days must not move to the sentence about
        # 25 days of leave, which answers another question.
        floor = max(weighted_coverage(weights, _about(s, prompt)) for s in chosen)
        scored = [
            (_answer_support(answer, question, s.text, facts), s)
            for s in prompt.sentences
            if weighted_coverage(weights, _about(s, prompt)) >= floor
        ]
        best_score, best = max(scored, key=lambda pair: pair[0])
        if best_score >= MIN_ANSWER_COVERAGE:
            chosen = [best]

    # Of several sentences named, those that hold nothing of the answer are not its evidence.
    def holds(text: str) -> bool:
        if facts:
            return len(claims.unsupported(facts, text)) < len(facts)
        return _answer_support(answer, question, text, []) > 0

    backing = [s for s in chosen if holds(s.text)]
    chosen = backing if 0 < len(backing) < len(chosen) else chosen
    stated = " ".join(s.text for s in chosen)
    missing = [Unsupported(c.text, c.kind, "answer") for c in claims.unsupported(facts, stated)]
    if not missing and _answer_support(answer, question, stated, facts) < MIN_ANSWER_COVERAGE:
        missing.append(Unsupported(answer, "words", "answer"))
    constraints = claims.question_constraints(question)
    near = " ".join(_context(s.text, hits[s.passage].chunk.text) for s in chosen)
    # A name the question asks about is often the document's subject, named once at its top:
    # the evidence's documents, and their file names, may hold it.
    documents = sorted({hits[s.passage].chunk.doc_path for s in chosen})
    around = " ".join(
        [h.chunk.text for h in hits if h.chunk.doc_path in documents]
        + [Path(d).stem for d in documents]
        + [document_text(d) for d in documents]
    )
    asked_names = [c for c in constraints if c.kind == "name"]
    unnamed = claims.unsupported(asked_names, around)
    missing += [
        Unsupported(c.text, c.kind, "question")
        for c in claims.unsupported([c for c in constraints if c.kind == "number"], near) + unnamed
    ]
    # The names found in the documents count as covered; every other term must stand near the evidence.
    found_names = [t for c in asked_names if c not in unnamed for t in lexical.terms(c.text)]
    have = {lexical.stem(t) for t in [*lexical.terms(near), *found_names]}
    topic = {t: w for t, w in weights.items() if t not in _ANSWER_KINDS}
    coverage = _coverage(topic, have)
    if coverage < min_coverage:
        missing.append(Unsupported(", ".join(_uncovered(topic, have)[:3]), "terms", "question"))
    found = [
        Evidence(
            n=k,
            sentence=s.text,
            file=hits[s.passage].chunk.doc_path,
            page=hits[s.passage].chunk.page,
            chunk_id=hits[s.passage].chunk.id,
            source=s.passage + 1,
        )
        for k, s in enumerate(chosen, start=1)
    ]
    return Verdict(found, missing, coverage)


def with_marks(answer: str, found: Sequence[Evidence]) -> str:
    """The answer as shown: its text, then one ``[n]`` per evidence sentence."""
    return answer.rstrip() + " " + "".join(f"[{e.n}]" for e in found)
