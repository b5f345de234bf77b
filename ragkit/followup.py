"""Follow-up questions -> standalone questions, so that retrieval sees what the user means.

"And in other cities?" retrieves nothing useful on its own. Before retrieval, the local model
rewrites a follow-up using the previous turn into a question that stands alone. This lives in
the library so that the page and ``ragkit chat`` behave the same.
"""

from __future__ import annotations

from collections.abc import Sequence

from .llm import ChatModel, Generation

#: (question, answer) pairs, oldest first.
History = Sequence[tuple[str, str]]

_SYSTEM = (
    "You rewrite the user's follow-up question so that it can be understood without the conversation. "
    "Replace pronouns and ellipses with what they refer to, keep the question's language and meaning, "
    "and do not answer it. Reply with the rewritten question only."
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
    text = "".join(llm.stream(messages, max_tokens=96, temperature=0.0, stats=Generation())).strip()
    text = text.splitlines()[0].strip().strip('"“”') if text else ""
    # A rewrite that came out empty or rambling is worse than the user's own words.
    if not text or len(text) > 3 * len(question) + 120:
        return question
    # Small models often echo the previous question; then search for both questions together.
    if _normal(text) == _normal(previous_question):
        return f"{previous_question} {question}"
    return text


def _normal(text: str) -> str:
    return " ".join(text.lower().split()).rstrip("?？.。")
