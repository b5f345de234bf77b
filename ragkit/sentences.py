"""Where sentences end: one rule for the chunker, the prompt's numbered sentences and the
injection filter, so a sentence the model is shown, cites and has filtered is the same span.

Latin punctuation ends a sentence only before whitespace ("3.5", "e.g.," and URLs stay whole);
CJK punctuation ends one at once, whitespace or not; closing quotes stay with the sentence they
close; a line break always ends one. The chunker also cuts at clauses (``;`` and ``:`` before
whitespace, ``…``, a bracket closed after a full stop) so that a long sentence can be packed in
pieces.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_LATIN_ENDS = ".!?"
_CLAUSE_ENDS = ";:"
_CJK_ENDS = "。！？；"
_CJK_CLAUSE_ENDS = "…"
_QUOTES = "\"'’”"
_BRACKETS = ")\\]"
_CJK_CLOSERS = "”」』）"


def _boundary(latin_ends: str, closers: str, cjk_ends: str) -> re.Pattern[str]:
    return re.compile(rf"(?<=[{re.escape(latin_ends)}])[{closers}]*\s+|(?<=[{cjk_ends}])[{_CJK_CLOSERS}]*\s*|\n+")


#: A closing bracket after a full stop is mostly an abbreviation's ("etc.)", "et al.)"), and "…"
#: as often a pause or a table of contents' leader as an end: they end a clause, not a sentence.
_SENTENCE = _boundary(_LATIN_ENDS, _QUOTES, _CJK_ENDS)
_CLAUSE = _boundary(_LATIN_ENDS + _CLAUSE_ENDS, _QUOTES + _BRACKETS, _CJK_ENDS + _CJK_CLAUSE_ENDS)


def spans(text: str, *, clauses: bool = False) -> Iterator[tuple[int, int]]:
    """Character spans of the sentences of ``text`` (with ``clauses``, of its clauses), the
    whitespace between them left out; a line of its own (a heading, a table row) is one too."""
    pos = 0
    for match in (_CLAUSE if clauses else _SENTENCE).finditer(text):
        if match.end() <= pos:
            continue
        end = match.start() if match.group().isspace() else match.end()
        piece = text[pos:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            yield pos + lead, pos + len(piece.rstrip())
        pos = match.end()
    if text[pos:].strip():
        lead = len(text[pos:]) - len(text[pos:].lstrip())
        yield pos + lead, len(text.rstrip())


def split(text: str) -> list[str]:
    """The sentences of ``text``, stripped, empty ones dropped."""
    return [text[start:end] for start, end in spans(text)]
