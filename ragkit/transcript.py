"""A conversation -> Markdown a person can keep: each question, its answer, and the sentences
it rests on with file and page, so that the citations can still be checked later.

Text from documents and from the model is escaped as the page escapes it, so that a passage
cannot turn into a link or an image in whatever renders the file later.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from .records import Answer
from .render import neutralize


def _literal(text: str) -> str:
    """``text`` on one line, with nothing in it that could become a link, an image or HTML."""
    return neutralize(" ".join(text.split()))


def to_markdown(answers: Sequence[Answer], title: str = "ragkit conversation") -> str:
    """The conversation as Markdown: questions as headings, answers, quoted sources."""
    lines = [
        f"# {title}",
        "",
        f"Exported {time.strftime('%Y-%m-%d %H:%M')} · model {answers[0].model}" if answers else "",
    ]
    for number, answer in enumerate(answers, start=1):
        lines += ["", f"## {number}. {_literal(answer.question)}", ""]
        if answer.standalone_question and answer.standalone_question != answer.question:
            lines += [f"*Searched for: {_literal(answer.standalone_question)}*", ""]
        lines.append(f"**{'Declined' if answer.declined else 'Answer'}:** {_literal(answer.answer)}")
        if answer.evidence:
            lines += ["", "Sources:"]
            lines += [
                f"- \\[{e.n}\\] {_literal(Path(e.file).name)}, page {e.page}: “{_literal(e.sentence)}”"
                for e in answer.evidence
            ]
    return "\n".join(lines).rstrip() + "\n"
