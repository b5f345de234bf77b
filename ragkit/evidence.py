"""Focused passages -> numbered sentences -> the model names the ones that state the answer.

The model's reply starts with the ids of the sentences that state the answer, or ``none``,
before it writes a word of the answer. A llama.cpp grammar (GBNF) holds it to that form, so an
id is always a sentence of the prompt. Writing the answer from named sentences keeps a small
model on the fact it picked, every ``[n]`` the user sees points at one quoted sentence, and the
claim check (:mod:`ragkit.claims`) has the exact sentences to check the answer against.

How sure the model was is read off its first choice: the probability it gave a sentence id
rather than ``none`` at the first position of the evidence line (:func:`answer_probability`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from . import lexical
from .focus import GAP

EVIDENCE = "Evidence:"
ANSWER = "Answer:"
NONE = "none"
#: Most sentences the model may name: an answer rests on one or two.
MAX_IDS = 3
_REPLY = re.compile(
    rf"{EVIDENCE}[ \t]*(?P<ids>{NONE}|[\d, \t]*\d)?[ \t]*(?:\n\s*{ANSWER}[ \t]*(?P<answer>.*))?", re.S | re.I
)


@dataclass(frozen=True)
class Sentence:
    """A sentence as the model sees it: its id in the prompt and the passage it belongs to."""

    id: int
    passage: int  # 0-based index of the passage (hit) in the prompt
    text: str


#: A line with fewer terms than this (a heading, a section number) gets no id: it gives
#: context but states no fact, and every id the model can name is one more way to miss.
MIN_TERMS = 2


def _states_something(text: str) -> bool:
    return text != GAP and len(lexical.terms(text)) >= MIN_TERMS


def number(blocks: Sequence[tuple[int, Sequence[str]]]) -> list[Sentence]:
    """Ids 1..N for the sentences of the prompt's ``(passage index, sentences)`` blocks, in
    prompt order (gap marks and headings get none); a passage may have more than one block."""
    out: list[Sentence] = []
    for passage, parts in blocks:
        for text in parts:
            if _states_something(text):
                out.append(Sentence(len(out) + 1, passage, text))
    return out


def render(parts: Sequence[str], numbered: Iterator[Sentence]) -> str:
    """One block's body for the prompt: each sentence on its own line after its ``(id)``, taken
    in turn from ``numbered`` (an iterator shared by the blocks)."""
    lines = [f"({next(numbered).id}) {text}" if _states_something(text) else text for text in parts]
    return "\n".join(lines)


def grammar(count: int, *, allow_none: bool = True) -> str:
    """GBNF for the reply: ``Evidence: none``, or up to MAX_IDS valid ids, then the answer line.

    ``allow_none=False`` once ragkit has decided to answer (:func:`answer_probability` reached
    the threshold): the model then names its best sentences.
    """
    ids = " | ".join(f'"{i}"' for i in range(1, count + 1))
    more = ' ( ", " id )?' * (MAX_IDS - 1)
    answer = f'id{more} "\\n{ANSWER} " answer'
    choice = f'( "{NONE}" | {answer} )' if allow_none else answer
    return f'root ::= "{EVIDENCE} " {choice}\nid ::= {ids}\nanswer ::= [^\\n]+\n'


@dataclass(frozen=True)
class Reply:
    """The model's reply, parsed: the sentence ids it named (None: it wrote ``none`` or no
    valid id) and the answer text (empty until the answer line has begun)."""

    ids: list[int] | None
    answer: str
    answer_started: bool


def parse(text: str, count: int) -> Reply:
    """Read a (possibly partial) reply; ids outside 1..count are dropped, repeats kept once.

    Servers that ignore the grammar may still follow the instructions; a reply that does not
    begin with the evidence line names no evidence and is declined.
    """
    match = _REPLY.match(text.lstrip())
    if not match:
        return Reply(None, "", False)
    raw = match.group("ids") or ""
    ids = list(dict.fromkeys(int(n) for n in re.findall(r"\d+", raw) if 1 <= int(n) <= count))[:MAX_IDS]
    answer = match.group("answer")
    return Reply(ids or None, (answer or "").strip(), answer is not None)


def _masses(top: dict[str, float]) -> tuple[float, float, float]:
    """Probability of (a sentence id, ``none``, a bare space) among one step's candidates."""
    digit = none = space = 0.0
    for token, logprob in top.items():
        word, p = token.strip(), math.exp(logprob)
        if word[:1].isdigit():
            digit += p
        elif word and NONE.startswith(word.lower()):
            none += p
        elif not word and token:
            space += p
    return digit, none, space


def choice_made(text: str) -> bool:
    """Whether a reply has written past ``Evidence:`` to an id or ``none``: the steps
    :func:`answer_probability` reads were all generated before its last token."""
    return text.startswith(EVIDENCE) and bool(text[len(EVIDENCE) :].strip())


def answer_probability(choices: Sequence[tuple[str, dict[str, float]]]) -> float | None:
    """The probability the model gave to naming a sentence rather than ``none``.

    ``choices`` are (text generated before the token, {candidate token: logprob}) for the first
    generated tokens, read before the grammar masked anything. Right after ``Evidence:`` the
    model writes `` none`` (one token), an id, or a space that an id (or ``none``) follows:
    P(id) = P(id) + P(space) * P(id | space), the last factor taken from the next step when the
    space was taken (else 1, see below). None when the step was not recorded (a model server that returns no log
    probabilities).
    """
    steps = {before: top for before, top in choices}
    if EVIDENCE not in steps:
        return None
    digit, none, space = _masses(steps[EVIDENCE])
    # When the space was not taken (the model wrote " none" at once) the next step is unknown;
    # where it was taken, an id followed with a probability above 0.99 in every case seen with
    # both packaged models, so the space counts as the way to an id.
    share = 1.0
    if EVIDENCE + " " in steps:
        then_digit, then_none, _ = _masses(steps[EVIDENCE + " "])
        share = then_digit / (then_digit + then_none) if then_digit + then_none else 1.0
    total = digit + none + space
    return (digit + space * share) / total if total else None
