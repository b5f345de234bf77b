"""Follow-up questions -> standalone questions, so that retrieval sees what the user means.

"And in other cities?" retrieves nothing useful on its own. Before retrieval, the local model
rewrites a follow-up using the previous turn into a question that stands alone. This lives in
the library so that the page and ``ragkit chat`` behave the same.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from . import lexical
from .llm import LANE_ASIDE, ChatModel, Generation

#: (question, answer) pairs, oldest first.
History = Sequence[tuple[str, str]]

_SYSTEM = (
    "You rewrite the user's follow-up question so that it can be understood without the conversation. "
    "Replace pronouns and ellipses with what they refer to, keep the question's language and meaning, "
    "and ask only what the follow-up asks, not the previous question again. Do not answer it. "
    "Reply with the rewritten question only.\n"
    'Example: previous question "What is the notice period for managers?", follow-up "And for interns?" '
    '-> "What is the notice period for interns?"\n'
    'Example: previous question "What is the minimum password length?", follow-up "And how often must it '
    'be changed?" -> "How often must the password be changed?"'
)


_CONTEXT = " (follow-up to: "
#: Content terms from which a question whose rewrite echoed the previous one stands alone
#: ("Until what date must carried-over annual leave be taken?" has eight, "And how often must
#: it be changed?" three).
MIN_STANDALONE_TERMS = 6
#: Words by which a question points back at the conversation: then it is a follow-up however long.
_POINTS_BACK = re.compile(
    r"\b(it|its|that|this|these|those|they|them|their|there|he|she|also|too)\b|[它这那其该]", re.I
)


def rewrite(llm: ChatModel, question: str, history: History) -> str:
    """The standalone form of ``question`` given the last turn of ``history``."""
    if not history:
        return question
    previous_question, previous_answer = history[-1]
    prompt = (
        f"Previous question: {previous_question}\n"
        f"Previous answer: {previous_answer[:600]}\n\n"
        f"Follow-up question: {question}\n\nRewritten question:"
    )
    messages = [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": prompt}]
    # An aside: the model keeps the passages the answer read for the next answer to reuse.
    text = "".join(llm.stream(messages, max_tokens=96, temperature=0.0, stats=Generation(), lane=LANE_ASIDE)).strip()
    text = text.splitlines()[0].strip().strip('"“”') if text else ""
    # A rewrite that came out empty or rambling is worse than the user's own words.
    if not text or len(text) > 3 * len(question) + 120:
        return question
    # Small models often echo the previous question. Then the follow-up comes first, as the
    # thing to answer, with the previous question after it as its context: glued the other
    # way round ("<previous> <follow-up>"), the model answered the previous question again.
    # A follow-up that says this much on its own is a new question, not a follow-up at all.
    if _normal(text) == _normal(previous_question):
        if len(lexical.query_terms(question)) >= MIN_STANDALONE_TERMS and not _POINTS_BACK.search(question):
            return question
        return f"{question}{_CONTEXT}{previous_question})"
    return text


def asked(standalone: str) -> str:
    """What a standalone question asks, without the previous question added as its context:
    the details the answer must meet are the follow-up's, not the previous question's."""
    return standalone.split(_CONTEXT, 1)[0]


def _normal(text: str) -> str:
    return " ".join(text.lower().split()).rstrip("?？.。")
