"""The claim check: numbers, dates, amounts and names compared as written in any usual way."""

from __future__ import annotations

from ragkit import claims


def missing(answer: str, evidence: str, question: str = "") -> list[str]:
    return [c.text for c in claims.unsupported(claims.answer_claims(answer, question), evidence)]


def test_numbers_match_however_they_are_written() -> None:
    assert missing("1200 days", "1,200 days") == []
    assert missing("1,200", "1 200 people") == []
    assert missing("12%", "a rise of 12 %") == []
    assert missing("600元", "每晚不超过６００元") == []  # full-width digits
    assert missing("EUR 1.2 million", "a budget of EUR 1,200,000") == []
    assert missing("1,200,000", "EUR 1.2 million") == []
    assert missing("25", "Up to 5 unused days") == ["25"]
    assert missing("1.2 million", "1.2 billion") == ["1.2 million"]


def test_chinese_amounts() -> None:
    assert missing("1.2万元", "预算为12000元") == []
    assert missing("12,000元", "预算1.2万元") == []
    assert missing("六百元", "每晚不超过600元") == []
    assert missing("三万五千元", "合计35000元") == []
    assert missing("800元", "每晚不超过600元") == ["800"]
    assert claims.numbers("这十分重要") == []  # a numeral character in a word is no number
    assert [c.key for c in claims.numbers("2026年3月31日")] == ["2026", "3", "31"]


def test_dates_and_names() -> None:
    assert missing("31 March", "must be taken by 31 March") == []
    assert missing("30 March", "must be taken by 31 March") == ["30"]
    assert missing("by 31 April", "must be taken by 31 March") == ["April"]
    assert missing("It went to Lisbon.", "the office in Porto") == ["Lisbon"]
    assert missing("Beyoncé's first album", "Beyoncé released it") == []
    # the same name with a suffix or a plural ending is the same name; a short one must match whole
    assert missing("the Normans", "the Norman conquest") == []
    assert missing("in America", "the American colonies") == []
    assert missing("in England", "the English crown") == ["England"]
    assert missing("It was Ada.", "It was Adam.") == ["Ada"]
    assert missing("in Paris", "the parish council") == ["Paris"]  # other endings make other words


def test_what_the_question_states_is_no_new_claim() -> None:
    assert missing("Lisbon got EUR 2 million [1]", "EUR 2 million", "How much did the Lisbon office get?") == []
    assert missing("14 [2]", "at least 14 characters") == []  # citation marks are not claims


def test_question_constraints() -> None:
    found = claims.question_constraints("Which manufacturer bought the factory in 2005 from Siemens?")
    assert {c.key for c in found} == {"2005", "siemens"}
    assert claims.unsupported(found, "Siemens sold the factory in 1995.")[0].key == "2005"
