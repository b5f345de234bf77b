"""Text -> search terms for the lexical (BM25) index, for English and Chinese alike.

SQLite FTS5 tokenizes on spaces and punctuation, which finds no words in Chinese, where words
are not separated. Text is therefore rewritten before indexing: runs of CJK characters become
overlapping character bigrams (a robust stand-in for word segmentation that needs no
dictionary), other text stays as words. The same function rewrites queries, so both sides agree.
"""

from __future__ import annotations

import re

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af"
_TOKEN = re.compile(rf"[{_CJK}]+|[^\W_{_CJK}]+", re.UNICODE)
#: One CJK character (Han, kana, Hangul): the one definition ragkit uses.
CJK_CHAR = re.compile(rf"[{_CJK}]")

#: Words that carry no meaning for retrieval; removed from queries only (documents keep them).
STOPWORDS = frozenset(
    """a an and are as at be but by can could did do does for from had has have how i if in into is it
    its me my of on or our should so than that the their them there these they this to was we were what
    when where which who whom why will with would you your tell please about""".split()
)


#: Chinese function characters (particles, pronouns, question words). A query bigram that
#: contains one usually spans a word boundary ("时，每" -> "差时") or carries no topic, and would
#: dilute the question's coverage; documents keep them.
CJK_STOP_CHARS = frozenset("的是在了有和与及对吗呢吧么什怎样哪些多少几请问我你他她它们这那个为把被就都也还")


def terms(text: str) -> list[str]:
    """Lower-cased words, with each CJK run replaced by its character bigrams."""
    out: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        token = match.group()
        if CJK_CHAR.match(token):
            out.extend([token] if len(token) == 1 else [token[i : i + 2] for i in range(len(token) - 1)])
        else:
            out.append(token)
    return out


#: English endings stripped by :func:`stem`, longest first.
_ENDINGS = ("ing", "ed", "es", "s", "e")


def stem(term: str) -> str:
    """A crude English stem ("passwords", "locked", "changes" -> "password", "lock", "chang"), so
    that a sentence stating a fact in another inflection still covers the question's word;
    other scripts are returned as they are."""
    if not term.isascii() or not term.isalpha():
        return term
    for ending in _ENDINGS:
        if term.endswith(ending) and len(term) - len(ending) >= 3 and not (ending == "s" and term.endswith("ss")):
            return term[: -len(ending)]
    return term


def index_text(text: str) -> str:
    """What goes into the FTS5 column for a chunk."""
    return " ".join(terms(text))


def query_terms(question: str) -> list[str]:
    """Distinct meaningful terms of a question, in order."""
    seen: dict[str, None] = {}
    for term in terms(question):
        if term in STOPWORDS or (len(term) == 1 and not CJK_CHAR.match(term)):
            continue
        if CJK_CHAR.match(term) and any(c in CJK_STOP_CHARS for c in term):
            continue
        seen.setdefault(term, None)
    return list(seen)


def match_expression(question: str) -> str | None:
    """An FTS5 MATCH expression OR-ing the question's terms (quoted, so no operator injection)."""
    parts = [f'"{t}"' for t in query_terms(question)]
    return " OR ".join(parts) if parts else None


def coverage(question: str, passage: str) -> float:
    """Share of the question's terms found in the passage: a language-neutral relevance signal."""
    wanted = query_terms(question)
    if not wanted:
        return 0.0
    have = set(terms(passage))
    return sum(1 for t in wanted if t in have) / len(wanted)


def is_cjk(text: str, threshold: float = 0.2) -> bool:
    """True when at least ``threshold`` of the letters are CJK (used to pick the answer language)."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(1 for c in letters if CJK_CHAR.match(c)) / len(letters) >= threshold
