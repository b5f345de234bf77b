"""Text aimed at the model rather than the reader: found at ingest, defused in the prompt.

A document can carry instructions for an AI ("ignore previous instructions…"), links that would
carry data out when rendered (``![](https://evil.example/?q=…)``), text a reader never sees (white
or zero-size text in a PDF, ``display:none`` in HTML) and invisible Unicode (zero-width and tag
characters, bidirectional overrides) that hides either. Such chunks stay searchable: a user may
need to find exactly that document. They are flagged in the store and under every answer, and the
prompt shows the model their text with the instruction-like parts and remote links removed, on
top of the rule that all passages are data.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from . import sentences

#: Flag names, as stored with a chunk and shown under an answer.
HIDDEN = "hidden-text"
INVISIBLE = "invisible-characters"
INSTRUCTIONS = "instructions"
REMOTE_LINK = "exfiltration-link"

#: Zero-width, word-joiner, bidirectional-control and tag characters (U+FEFF only inside text:
#: as the first character it is a byte-order mark).
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")

_INSTRUCTION_PATTERNS = (
    # English: overriding the rules, re-casting the assistant, asking for its prompt, addressing it.
    r"\b(ignore|disregard|forget|override|bypass)\b[^.\n]{0,40}\b(previous|prior|above|earlier|preceding|all)\b"
    r"[^.\n]{0,30}\b(instructions?|prompts?|rules|directions)\b",
    r"\b(you are now|from now on,? you are|pretend to be|you must now act as)\s+(an?\s+|the\s+)?"
    r"(ai|assistant|chatbot|language model|model|dan|unrestricted)\b",
    r"\b(reveal|print|show|repeat|output|leak)\b[^.\n]{0,20}\b(system prompt|your (instructions|prompt|rules))",
    r"\b(note|message|instructions?|attention) (to|for) (the |any )?(ai|assistant|llm|language model|chatbot)s?\b",
    r"\b(if you are|as) an? (ai|llm|language model|ai assistant)\b",
    # Chinese: 忽略之前的指令 / 你现在是一个… / 输出系统提示.
    r"(忽略|无视|忘记|不要理会)[^。\n]{0,12}(之前|以上|前面|先前|所有|上述)[^。\n]{0,12}(指令|指示|提示|规则)",
    r"(你现在是|从现在开始你是)[^。\n]{0,6}(助手|模型|人工智能|AI)",
    r"(输出|显示|泄露|重复)[^。\n]{0,8}(系统提示|提示词)",
)
_INSTRUCTION = re.compile("|".join(f"(?:{p})" for p in _INSTRUCTION_PATTERNS), re.IGNORECASE)

#: The shapes that carry data out when rendered: Markdown images, HTML images, and links whose
#: query string can hold data. A plain link to a page is ordinary document content.
_EXFIL = re.compile(r"!\[[^\]\n]{0,200}\]\([^)\n]*\)|<img\b[^>]*>|\b(?:https?|ftp)://[^\s<>\"')\]]+\?[^\s<>\"')\]]+")
#: Any remote URL, for answers: the model may only repeat links its sources contain.
_URL = re.compile(r"!?\[[^\]\n]{0,200}\]\([^)\n]*\)|<img\b[^>]*>|\b(?:https?|ftp)://[^\s<>\"')\]]+")

#: Shortest hidden run worth flagging: stray invisible spaces and bullets are not an attack.
MIN_HIDDEN_CHARS = 12


def scan(text: str, hidden: bool = False) -> tuple[str, ...]:
    """Flags for one chunk's text; ``hidden`` when the parser saw invisible text in its span."""
    flags = []
    if hidden:
        flags.append(HIDDEN)
    if _INVISIBLE.search(text[1:] if text.startswith("\ufeff") else text):
        flags.append(INVISIBLE)
    if _INSTRUCTION.search(_INVISIBLE.sub("", text)):
        flags.append(INSTRUCTIONS)
    if _EXFIL.search(text):
        flags.append(REMOTE_LINK)
    return tuple(flags)


def hidden_spans(page_text: str, runs: Iterable[str]) -> list[tuple[int, int]]:
    """Character spans of the page text that came from hidden runs (long enough to matter).

    Runs are matched word by word across any whitespace: parsers tidy the page's whitespace
    after reporting them.
    """
    spans = []
    for run in runs:
        words = run.split()
        if len(" ".join(words)) < MIN_HIDDEN_CHARS:
            continue
        pattern = re.compile(r"\s+".join(map(re.escape, words)))
        spans.extend(m.span() for m in pattern.finditer(page_text))
    return spans


def overlaps(start: int, end: int, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether [start, end) shares a character with any span."""
    return any(s < end and start < e for s, e in spans)


def defuse(text: str) -> str:
    """The passage as the model should read it: no invisible characters, no sentence that gives
    the model instructions, no image or data-carrying link. The stored text and the quote shown
    stay intact."""
    text = _INVISIBLE.sub("", text)
    text = _EXFIL.sub("[link removed]", text)

    attacks = [m.span() for m in _INSTRUCTION.finditer(text)]  # in the whole text: "；" may split one
    kept, pos, after_removed = [], 0, False
    for start, end in sentences.spans(text):
        removed = overlaps(start, end, attacks)
        if not (removed and after_removed):  # one mark for a run of removed sentences
            kept += [text[pos:start], "[instruction-like text removed]" if removed else text[start:end]]
        pos, after_removed = end, removed
    return "".join(kept) + text[pos:]


def unlisted_links(answer: str, sources: Iterable[str]) -> str:
    """The answer with every remote link or image that no source contains replaced: a model that
    repeats an injected exfiltration link, or invents one, must not hand it to a renderer."""
    known = "\n".join(sources)
    return _URL.sub(lambda m: m.group() if m.group() in known else "[link removed]", answer)
