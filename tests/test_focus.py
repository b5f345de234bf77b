"""Cutting passages to a prompt budget keeps the sentences that answer the question."""

from __future__ import annotations

from ragkit.focus import GAP, focus, sentences


def words(text: str) -> int:
    return len(text.split())


PASSAGE = (
    "The company was founded in Oslo. It makes boats. Its staff grew quickly in the nineties. "
    "Annual leave is 25 days per year for all staff. Carried-over leave must be taken by 31 March. "
    "The canteen opens at eight. Parking is free."
)


def test_passages_that_fit_are_kept_whole() -> None:
    assert focus("How many days of leave?", [PASSAGE, "Short."], 1000, words) == [sentences(PASSAGE), ["Short."]]
    assert focus("How many days of leave?", [PASSAGE], 0, words) == [sentences(PASSAGE)]  # 0: no budget


def test_best_sentences_within_budget() -> None:
    [cut] = focus("How many days of annual leave per year?", [PASSAGE], 20, words)
    assert "Annual leave is 25 days per year for all staff." in cut
    assert sum(words(s) for s in cut if s != GAP) <= 20
    assert cut[0] == GAP and cut[-1] == GAP  # text was left out on both sides
    assert "The company was founded in Oslo." not in cut


def test_similarity_can_pick_a_sentence_without_shared_words() -> None:
    def prefer_parking(_question: str, parts: list[str]) -> list[float]:
        return [1.0 if "Parking" in p else 0.0 for p in parts]

    [cut] = focus("Where do I leave the car?", [PASSAGE], 8, words, prefer_parking)
    assert "Parking is free." in cut and "The company was founded in Oslo." not in cut


def test_short_passages_keep_their_share_for_the_long_one() -> None:
    short = "Leave: see policy."
    cut = focus("When must carried-over leave be taken?", [short, PASSAGE], 30, words)
    assert cut[0] == [short]
    assert "Carried-over leave must be taken by 31 March." in cut[1]
    assert sum(words(s) for s in cut[1] if s != GAP) <= 30


def test_chinese_answer_sentence_that_is_not_the_first_is_kept() -> None:
    # The case: a quarterly report whose first sentence repeats the question's topic
    # words; the answer ("公司负责人…") stands later in the chunk.
    chunk = (
        "本公司董事会、监事会及董事、监事、高级管理人员保证季度报告内容的真实、准确、完整。"
        "本公司2025年第三季度报告未经审计。"
        "公司负责人刘道骐、主管会计工作负责人王敏及会计机构负责人张华保证季度报告中财务信息的真实、准确、完整。"
        "第三季度营业收入为12.3亿元，同比增长8%。"
    )
    other = "公司2025年第三季度报告全文刊登于上海证券交易所网站。" * 3
    question = "这家公司2025年第三季度报告的公司负责人是谁？"
    focused = focus(question, [chunk, other], 60, len)
    assert any("公司负责人刘道骐" in s for s in focused[0])


def test_sentences_split_english_chinese_and_lines() -> None:
    assert sentences("One. Two\nstill two? Three") == ["One.", "Two still two?", "Three"]
    assert sentences("第一句。第二句！") == ["第一句。", "第二句！"]
    assert sentences("| a | b |\n| 1 | 2 |") == ["| a | b |", "| 1 | 2 |"]  # table rows stay rows
