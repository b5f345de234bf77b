"""Hits -> the answering policy: the relevance gate, the model's draft, its checks, or a refusal.

The passages go into the prompt fenced as data, each sentence numbered (:mod:`ragkit.prompt`).
The model's reply must begin with the ids of the sentences that state the answer, or ``none``
(a grammar holds it to that form, see :mod:`ragkit.evidence`), and then the answer written
from those sentences. Before an answer is shown it must pass three checks
(:mod:`ragkit.checks`), and ragkit declines when one fails:

1. **Confidence**: the probability the model gave to naming a sentence rather than ``none``
   (its first choice, read from the logits) is at least ``min_confidence``.
2. **Claims**: every number and name the answer adds to the question stands in the evidence
   sentences (:mod:`ragkit.claims`).
3. **The question's own details**: a number or year it names stands in the evidence or the
   sentences next to it; a name it names stands in the evidence's documents or in their file
   names; and the evidence with its neighbours holds at least ``min_coverage`` of the
   question's terms, each weighted by its rarity among the prompt's sentences, so that a
   question about "境外" hotels or "Linux" laptops is not answered from the sentence about
   domestic hotels or macOS laptops.

ragkit also declines without asking the model when no passage is relevant enough: a small
model asked about irrelevant text tends to invent an answer. Declining on a failed check
instead of removing the failing part keeps a rule a user can predict: what is shown was checked.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from . import claims, evidence, injection
from .checks import check, with_marks
from .llm import ChatModel, Generation
from .prefix import Turn
from .prompt import Prompt, language_of
from .records import Answer, Evidence, Hit, Source, Timings, Unsupported

REFUSALS = {
    "en": "Not in your documents: none of the ingested passages answers this question.",
    "zh": "您的文档中没有这个问题的答案：已导入的段落都无法回答它。",
}

#: An English passage whose cosine similarity is below ``min_score`` still counts as relevant
#: when it holds at least this share of the question's terms.
MIN_LEXICAL_COVERAGE = 0.5
#: For a Chinese question, cosine similarity says nothing (the packaged embedder is
#: English-only and places all Chinese text close together), so relevance rests on the share of
#: the question's content bigrams found in the passage: a third of them, at least.
MIN_LEXICAL_COVERAGE_CJK = 1 / 3

#: Phrases by which small models decline in their own words after naming evidence anyway.
_DECLINE_PHRASES = re.compile(
    r"(do(es)?(n['’]t| not) know|do(es)? not (contain|mention|provide|include|specify|say|state)|"
    r"(is|are) not (mentioned|provided|specified|stated|available|included|given)|no information|"
    r"not in (the|your) (documents|passages|sentences)|cannot (find|answer|be determined)|"
    r"不知道|没有(提到|提及|相关|找到|说明|给出)|未(提及|提到|说明|给出|找到)|未在.{0,12}中(找到|提及|提到)|"
    r"无法(回答|找到|确定|得知)|并未(提及|提到|说明))",
    re.IGNORECASE,
)
_MARKS = claims.MARKS


def is_relevant(hit: Hit, min_score: float, language: str) -> bool:
    """Whether a passage is close enough to the question to be worth answering from."""
    if language == "zh":
        return hit.lexical >= MIN_LEXICAL_COVERAGE_CJK
    return hit.score >= min_score or hit.lexical >= MIN_LEXICAL_COVERAGE


@dataclass
class Draft:
    """What the model produced for one question: the sentence ids it named, its answer text,
    how sure it was, and whether the reply itself declined."""

    answer: str
    ids: list[int]
    declined: bool
    probability: float | None
    first_token_at: float | None
    generation: Generation


#: Tokens the probe may generate: "Evidence", ":", then the choice between an id and "none"
#: (it stops at the first token past the choice: each one costs a decode step, 50-70 ms on 2 cores).
PROBE_TOKENS = 6


def generate(
    llm: ChatModel,
    prompt: Prompt,
    *,
    max_tokens: int,
    temperature: float,
    min_confidence: float,
    on_token: Callable[[str], None] | None = None,
) -> Draft:
    """Decide between answering and declining, then stream the answer line to ``on_token``.

    A probe of a few tokens reads the model's probability of naming a sentence rather than
    ``none`` (:func:`ragkit.evidence.answer_probability`). Below ``min_confidence`` ragkit
    declines; otherwise the reply is generated with ``none`` taken out of the grammar, so the
    model names its best sentences and answers from them. A small model's own pick between the
    two is close to a coin flip; a threshold chosen on labelled data is not. The probe reads the
    prompt once: the reply that follows reuses it from the KV cache (llama.cpp's prefix reuse,
    here and in its servers). Where the model server returns no log probabilities, the model's
    own choice stands.

    The evidence line is read, not shown. ``first_token_at`` is when the first word of the
    answer was ready to show (or when ragkit declined): the wait the user sees.
    """
    count = len(prompt.sentences)
    if not count:  # nothing that states a fact: no id to name
        return Draft("", [], True, None, time.perf_counter(), Generation())
    probe, written = Generation(), ""
    # Not bound to a name: leaving the loop drops the generator, which closes it and frees the
    # model for the reply (as the reply's own early stop below relies on).
    for piece in llm.stream(
        prompt.messages, max_tokens=PROBE_TOKENS, temperature=temperature, stats=probe, grammar=prompt.grammar
    ):
        written += piece
        # The steps answer_probability reads are recorded once the choice is written; a model
        # server reports the prompt's token counts only in its last chunk, so its probe runs on.
        if evidence.choice_made(written) and probe.prompt_tokens:
            break
    probability = evidence.answer_probability(probe.choices)
    if probability is not None and probability < min_confidence:
        return Draft("", [], True, probability, time.perf_counter(), probe)
    stats = Generation()
    text, shown, first = "", 0, None
    for piece in llm.stream(
        prompt.messages,
        max_tokens=max_tokens,
        temperature=temperature,
        stats=stats,
        grammar=evidence.grammar(count, allow_none=probability is None),
    ):
        text += piece
        reply = evidence.parse(text, count)
        if not reply.answer_started:
            if re.search(rf"{evidence.EVIDENCE}\s*{evidence.NONE}", text, re.I):
                break
            continue
        visible = _visible(reply.answer)
        if len(visible) > shown:
            first = first or time.perf_counter()
            if on_token:
                on_token(visible[shown:])
            shown = len(visible)
    reply = evidence.parse(text, count)
    answer = _MARKS.sub("", reply.answer).strip()
    declined = reply.ids is None or not answer or bool(_DECLINE_PHRASES.search(answer))
    stats.prompt_tokens = probe.prompt_tokens or stats.prompt_tokens
    stats.cached_tokens = probe.cached_tokens if probe.prompt_tokens else stats.cached_tokens
    return Draft(answer, reply.ids or [], declined, probability, first or time.perf_counter(), stats)


def _visible(answer: str) -> str:
    """What of a partial answer line may be shown: without the model's own ``[n]``/``(n)``
    marks (ragkit adds checked ones), holding back a bracket that may still become one."""
    text = _MARKS.sub("", answer)
    opening = max(text.rfind("["), text.rfind("("))
    if opening > max(text.rfind("]"), text.rfind(")")) and re.fullmatch(r"[\[(]\d*", text[opening:]):
        text = text[:opening]
    return text.rstrip()


@dataclass
class PlainDraft:
    """What the model answered to the naive baseline's prompt, as it wrote it."""

    text: str
    declined: bool
    first_token_at: float | None
    generation: Generation


def generate_plain(
    llm: ChatModel,
    messages: list[dict[str, str]],
    *,
    max_tokens: int,
    temperature: float,
    on_token: Callable[[str], None] | None = None,
) -> PlainDraft:
    """Stream the baseline's free reply; it declined when it says so in words."""
    stats = Generation()
    text, first = "", None
    for piece in llm.stream(messages, max_tokens=max_tokens, temperature=temperature, stats=stats):
        first = first or time.perf_counter()
        text += piece
        if on_token:
            on_token(piece)
    text = text.strip()
    return PlainDraft(text, not text or bool(_DECLINE_PHRASES.search(text)), first, stats)


#: Passages shown under a declined answer, so the user sees what came closest.
CLOSEST_ON_DECLINE = 3


def relevant(hits: Sequence[Hit], min_score: float, question: str) -> list[Hit]:
    """The relevance gate: the hits close enough to ``question`` to answer from."""
    language = language_of(question)
    return [h for h in hits if is_relevant(h, min_score, language)]


@dataclass(frozen=True)
class Policy:
    """How drafts become answers: the thresholds and the generation limits."""

    min_confidence: float
    min_coverage: float
    max_tokens: int
    temperature: float


@dataclass
class Reply:
    """What the policy made of one question: the text to show and what it rests on."""

    text: str
    declined: bool
    #: The hits to show under the text (all the model read, or the closest when declined).
    shown: list[Hit]
    #: Numbers (1-based, among ``shown``) of the passages the text cites.
    cited: set[int]
    evidence: list[Evidence] = field(default_factory=list)
    unsupported: list[Unsupported] = field(default_factory=list)
    generation: Generation | None = None
    first_token_at: float | None = None
    confidence: float | None = None
    coverage: float | None = None
    draft: str = ""
    #: What the prompt gave the model to read (a follow-up repeats it).
    turn: Turn | None = None

    def to_answer(self, question: str, standalone: str, model: str, timings: Timings) -> Answer:
        """The reply as the library returns it."""
        return Answer(
            question=question,
            answer=self.text,
            declined=self.declined,
            sources=self.sources(),
            timings=timings,
            model=model,
            standalone_question=standalone,
            evidence=self.evidence,
            unsupported=self.unsupported,
            confidence=self.confidence,
            coverage=self.coverage,
            draft=self.draft,
        )

    def sources(self) -> list[Source]:
        """The shown passages as numbered sources, each marked when the text cites it."""
        return [
            Source(
                n=n,
                file=h.chunk.doc_path,
                page=h.chunk.page,
                chunk_id=h.chunk.id,
                text=h.chunk.text,
                score=h.score,
                cited=n in self.cited,
                flags=h.chunk.flags,
            )
            for n, h in enumerate(self.shown, start=1)
        ]


def respond(
    llm: ChatModel,
    question: str,
    hits: Sequence[Hit],
    passages: Sequence[Hit],
    *,
    policy: Policy,
    prompt: Callable[[], Prompt],
    document_text: Callable[[str], str],
    asked: str | None = None,
    on_token: Callable[[str], None] | None = None,
) -> Reply:
    """Answer ``question`` from ``passages`` (the gated ``hits``), or decline.

    ``prompt`` builds the numbered prompt (only when there is a passage to read);
    ``document_text`` gives a stored document's text for the question's names; ``asked`` is the
    part of a rewritten follow-up whose details the evidence must meet (default: the question).
    Links that no shown passage holds are scrubbed from the text: a model must not invent them.
    """
    declined, cited, text = True, set(), REFUSALS[language_of(question)]
    reply = Reply(text, True, [], set())
    if passages:
        built = prompt()
        reply.turn = built.turn if built.sentences else None  # nothing to read: the model is not asked
        draft = generate(
            llm,
            built,
            max_tokens=policy.max_tokens,
            temperature=policy.temperature,
            min_confidence=policy.min_confidence,
            on_token=on_token,
        )
        reply.generation, reply.first_token_at, reply.confidence = (
            draft.generation,
            draft.first_token_at,
            draft.probability,
        )
        if not draft.declined:
            reply.draft = draft.answer
            verdict = check(
                asked or question,
                draft.answer,
                draft.ids,
                built,
                passages,
                document_text,
                min_coverage=policy.min_coverage,
            )
            reply.unsupported, reply.coverage = verdict.unsupported, verdict.coverage
            if verdict.passed:
                declined, text = False, with_marks(draft.answer, verdict.evidence)
                cited = {e.source for e in verdict.evidence}
                reply.evidence = verdict.evidence
    return _shown(reply, text, declined, cited, passages, hits)


def respond_plainly(
    llm: ChatModel,
    hits: Sequence[Hit],
    *,
    policy: Policy,
    messages: list[dict[str, str]],
    on_token: Callable[[str], None] | None = None,
) -> Reply:
    """The naive baseline: the model's own words from every hit, each one counted as cited."""
    plain = generate_plain(
        llm, messages, max_tokens=policy.max_tokens, temperature=policy.temperature, on_token=on_token
    )
    reply = Reply(
        plain.text, plain.declined, [], set(), generation=plain.generation, first_token_at=plain.first_token_at
    )
    return _shown(reply, plain.text, plain.declined, set(range(1, len(hits) + 1)), hits, hits)


def _shown(
    reply: Reply, text: str, declined: bool, cited: set[int], passages: Sequence[Hit], hits: Sequence[Hit]
) -> Reply:
    """``reply`` with its final text, the hits to show under it, and links nobody wrote scrubbed.

    An answer shows every passage in prompt order (its marks number them); a refusal the
    closest ones by retrieval rank (a follow-up's prompt puts the turn before's passages first).
    """
    closest = sorted(passages, key=lambda h: h.rank) if passages else list(hits)
    shown = list(passages) if passages and not declined else closest[:CLOSEST_ON_DECLINE]
    reply.text, reply.declined, reply.cited, reply.shown = (
        injection.unlisted_links(text, [h.chunk.text for h in shown]),
        declined,
        cited,
        shown,
    )
    return reply
