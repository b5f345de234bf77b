"""Cutting passages to a prompt budget keeps the sentences that answer the question."""

from __future__ import annotations

from ragkit.focus import focus, sentences


def words(text: str) -> int:
    return len(text.split())


PASSAGE = (
    "The company was founded in Oslo. It makes boats. Its staff grew quickly in the nineties. "
    "Annual leave is 25 days per year for all staff. Carried-over leave must be taken by 31 March. "
    "The canteen opens at eight. Parking is free."
)


def test_passages_that_fit_are_kept_whole() -> None:
    assert focus("How many days of leave?", [PASSAGE, "Short."], 1000, words) == [PASSAGE, "Short."]
    assert focus("How many days of leave?", [PASSAGE], 0, words) == [PASSAGE]  # 0: no budget


def test_window_around_the_best_sentence_within_budget() -> None:
    [cut] = focus("How many days of annual leave per year?", [PASSAGE], 20, words)
    assert "Annual leave is 25 days per year" in cut
    assert words(cut) <= 22  # budget plus the gap marks
    assert cut.startswith("…") and cut.endswith("…")  # text was left out on both sides
    assert "canteen" not in cut or "founded" not in cut


def test_similarity_can_pick_a_sentence_without_shared_words() -> None:
    def prefer_parking(_question: str, parts: list[str]) -> list[float]:
        return [1.0 if "Parking" in p else 0.0 for p in parts]

    [cut] = focus("Where do I leave the car?", [PASSAGE], 8, words, prefer_parking)
    assert "Parking is free." in cut and "founded" not in cut


def test_short_passages_keep_their_share_for_the_long_one() -> None:
    short = "Leave: see policy."
    cut = focus("When must carried-over leave be taken?", [short, PASSAGE], 30, words)
    assert cut[0] == short
    assert "31 March" in cut[1] and words(cut[1]) <= 30


def test_sentences_split_english_and_chinese() -> None:
    assert sentences("One. Two\nstill two? Three") == ["One.", "Two still two?", "Three"]
    assert sentences("第一句。第二句！") == ["第一句。", "第二句！"]
