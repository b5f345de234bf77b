"""Text -> the checkable facts it states (numbers, amounts, dates, names) -> are they supported?

A small model copies the right passage and still writes the wrong number ("25" where the
sentence says "Up to 5 unused days"), or a number no passage holds. Before an answer is shown,
every number and name it states must stand in the evidence sentences it was written from. The
same check runs the other way for the question: a year, number or name the question asks
about must be in the evidence or next to it, because most unanswerable questions look like
answerable ones with one detail changed ("in 2005" where the documents say 1995).

Numbers are compared by value after normalising how they are written: ``1,200`` = ``1200`` =
``1 200``; ``12%`` = ``12 %``; full-width digits; ``1.2 million`` = ``1,200,000``;
``1.2万`` = ``12000``; Chinese numerals before a unit (``六百元`` = ``600元``). Names are the
capitalised words of English text that do not begin a sentence. Chinese names are not
checked: without word segmentation they cannot be told from other words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

#: Multipliers written after a number.
_SCALES = {
    "万": Decimal(10_000),
    "亿": Decimal(100_000_000),
    "thousand": Decimal(1_000),
    "million": Decimal(1_000_000),
    "billion": Decimal(1_000_000_000),
    "trillion": Decimal(1_000_000_000_000),
}
_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
#: What may follow a Chinese numeral for it to count as a number ("一般" is no number, "六百元" is).
_CN_COUNTED = "元|年|月|日|天|号|人|次|倍|岁|个|家|名|项|条|小时|分钟|公里|米|张|台|件|页|%|％"

_NUMBER = re.compile(
    r"(?<![0-9A-Za-z.])(\d{1,3}(?:[,\u00a0\u202f ]\d{3})+(?!\d)|\d+)(\.\d+)?"
    r"(?:\s*(万|亿)|\s+(thousand|million|billion|trillion)\b)?",
    re.IGNORECASE,
)
_CN_NUMBER = re.compile(
    rf"([零〇一二两三四五六七八九十百千万亿]*[零〇一二两三四五六七八九十][零〇一二两三四五六七八九十百千万亿]*)(?={_CN_COUNTED})"
)
#: Citation marks, ``[n]``, ``[n, m]`` or ``(n)``: the answer's pointers, not its claims.
_BRACKETED = r"\[\d+(?:\s*[,，、]\s*\d+)*\]"
#: ``[n]`` marks only (``[1]``, ``[1, 2]``, ``[1、2]``): what ragkit's prompts ask for.
BRACKET_MARKS = re.compile(rf"\s*{_BRACKETED}")
MARKS = re.compile(rf"\s*(?:{_BRACKETED}|\(\d+\))")
_WORD = re.compile(r"[^\W\d_][\w'’\-]*", re.UNICODE)
_SENTENCE_START = re.compile(r"(^|[.!?:;]\s+|\n)\s*[\"“(]*$")
#: Capitalised words that are not names (pronouns, months and days are names: they are facts).
_NOT_NAMES = frozenset("i a an the this that these those it its he she they we you".split())


@dataclass(frozen=True)
class Claim:
    """One checkable fact: as written, and the key it is compared by."""

    text: str
    kind: str  # "number" or "name"
    key: str


def _value(digits: str, fraction: str | None) -> Decimal:
    return Decimal(re.sub(r"[,\u00a0\u202f ]", "", digits) + (fraction or ""))


def _chinese_value(text: str) -> Decimal | None:
    """The value of a Chinese numeral such as 六百, 一千二百, 三万五千, 二〇二六 (None if malformed)."""
    if all(c in _CN_DIGITS for c in text):  # digit by digit: 二〇二六
        return Decimal("".join(str(_CN_DIGITS[c]) for c in text))
    total, section, digit = 0, 0, None
    for char in text:
        if char in _CN_DIGITS:
            digit = _CN_DIGITS[char]
        elif char in _CN_UNITS:
            section += (1 if digit is None else digit) * _CN_UNITS[char]
            digit = None
        elif char in _CN_BIG:
            total = (total + section + (digit or 0)) * _CN_BIG[char]
            section, digit = 0, None
        else:
            return None
    return Decimal(total + section + (digit or 0))


def _canonical(value: Decimal) -> str:
    try:
        return format(value.normalize(), "f")
    except InvalidOperation:
        return str(value)


def numbers(text: str) -> list[Claim]:
    """The numbers ``text`` states, each keyed by its value with its scale applied."""
    text = unicodedata.normalize("NFKC", text)
    found: list[Claim] = []
    for match in _NUMBER.finditer(text):
        value = _value(match.group(1), match.group(2))
        scale = match.group(3) or match.group(4)
        if scale:
            value *= _SCALES[scale.lower()]
        found.append(Claim(match.group(0).strip(), "number", _canonical(value)))
    for match in _CN_NUMBER.finditer(text):
        if match.group(1) in ("一", "两"):  # 一个, 一次, 两天: a count in words, not a figure
            continue
        cn_value = _chinese_value(match.group(1))
        if cn_value is not None:
            found.append(Claim(match.group(1), "number", _canonical(cn_value)))
    return found


def number_keys(text: str) -> set[str]:
    """Every value a number in ``text`` may be cited as: with its scale, and as written
    ("1.2 million" supports both 1200000 and 1.2)."""
    keys = {c.key for c in numbers(text)}
    normal = unicodedata.normalize("NFKC", text)
    keys |= {_canonical(_value(m.group(1), m.group(2))) for m in _NUMBER.finditer(normal)}
    return keys


def names(text: str) -> list[Claim]:
    """Capitalised English words that do not start a sentence: names of people, places, things."""
    found = []
    for match in _WORD.finditer(text):
        word = match.group().strip("'’-")
        if not word or not word[0].isupper() or not word[0].isascii():
            continue
        if word.lower() in _NOT_NAMES or _SENTENCE_START.search(text[: match.start()]):
            continue
        key = re.sub(r"['’]s$", "", word).lower()
        found.append(Claim(word, "name", key))
    return found


def _words(text: str) -> set[str]:
    return {re.sub(r"['’]s$", "", w.strip("'’-")).lower() for w in _WORD.findall(unicodedata.normalize("NFKC", text))}


#: A name matches the same name with one of these endings ("America" -> "American",
#: "Norman" -> "Normans"), and a plural name its singular, once it is this long: shorter names
#: are too often the start of unrelated words. Other endings make other words ("Paris" is no
#: "parish").
_MIN_STEM = 4
_ENDINGS = ("s", "es", "n", "ns", "an", "ans", "ian", "ians", "ese", "ish")


def _named(key: str, words: set[str]) -> bool:
    """Whether ``words`` hold the name ``key``, or the same name with a usual ending."""
    if key in words:
        return True
    if len(key) < _MIN_STEM:
        return False
    forms = {key + ending for ending in _ENDINGS} | {key[: -len(e)] for e in ("s", "es") if key.endswith(e)}
    return not forms.isdisjoint(words)


def unsupported(claims: Iterable[Claim], evidence: str) -> list[Claim]:
    """The claims that ``evidence`` does not state."""
    values, words = number_keys(evidence), _words(evidence)
    missing = []
    for claim in claims:
        ok = claim.key in values if claim.kind == "number" else _named(claim.key, words)
        if not ok:
            missing.append(claim)
    return missing


def answer_claims(answer: str, question: str) -> list[Claim]:
    """What the answer adds to the question: its numbers and names the question did not state
    (``[n]`` citation marks are not claims)."""
    answer = MARKS.sub(" ", answer)
    asked_numbers, asked_words = number_keys(question), _words(question)
    claims = [c for c in numbers(answer) if c.key not in asked_numbers]
    claims += [c for c in names(answer) if c.key not in asked_words]
    return _distinct(claims)


def question_constraints(question: str) -> list[Claim]:
    """The details a question pins its answer to: the numbers and years it names, and its names."""
    return _distinct([*numbers(question), *names(question)])


def _distinct(claims: list[Claim]) -> list[Claim]:
    seen: dict[tuple[str, str], Claim] = {}
    for claim in claims:
        seen.setdefault((claim.kind, claim.key), claim)
    return list(seen.values())
