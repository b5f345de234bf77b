"""The eval metrics on small examples checked by hand (and against the published scripts' rules)."""

from __future__ import annotations

import math

import pytest

from ragkit import metrics
from ragkit.datasets import Question
from ragkit.evaluate import Graded, qa_scores, sample_questions
from ragkit.records import Answer, Source, Timings


def test_ndcg_linear_gain_log2_discount() -> None:
    # DCG = 0 + 1/log2(3) + 2/log2(4); ideal = 2/log2(2) + 1/log2(3)
    expected = (1 / math.log2(3) + 1.0) / (2.0 + 1 / math.log2(3))
    assert metrics.ndcg_at_k(["a", "b", "c"], {"b": 1, "c": 2}) == pytest.approx(expected)
    assert expected == pytest.approx(0.61991, abs=1e-5)
    assert metrics.ndcg_at_k(["b", "a"], {"b": 1}) == 1.0
    assert metrics.ndcg_at_k(["a", "b"], {"b": 1}, k=1) == 0.0
    assert metrics.ndcg_at_k(["a"], {}) == 0.0


def test_recall_and_mrr() -> None:
    assert metrics.recall_at_k(["a", "b", "c"], {"b": 1, "c": 1, "d": 1}, k=2) == pytest.approx(1 / 3)
    assert metrics.mrr_at_k(["a", "b", "c"], {"b": 1, "c": 1}) == 0.5
    assert metrics.mrr_at_k(["a", "b"], {"z": 1}) == 0.0
    assert metrics.mrr_at_k(["a", "b"], {"b": 1}, k=1) == 0.0


def test_retrieval_scores_average_over_judged_queries_only() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}, "q3": {"d3": 0}}  # q3 has nothing relevant: not judged
    runs = {"q1": ["d1"], "q3": ["d3"]}  # q2 was not run: scores 0
    scores = metrics.retrieval_scores(runs, qrels)
    assert scores["queries"] == 2
    assert scores["ndcg@10"] == 0.5 and scores["recall@100"] == 0.5 and scores["mrr@10"] == 0.5


def test_squad_normalization_exact_match_and_f1() -> None:
    assert metrics.normalize("The  Eiffel Tower!") == "eiffel tower"
    assert metrics.exact_match("The Eiffel Tower!", ["eiffel tower"]) == 1.0
    assert metrics.exact_match("Eiffel", ["eiffel tower"]) == 0.0
    # tokens [cat, sat, on, mat] vs [cat, on, mat]: P = 3/4, R = 1
    assert metrics.f1("the cat sat on the mat", ["cat on mat"]) == pytest.approx(6 / 7)
    assert metrics.f1("dog", ["cat", "dog house"]) == pytest.approx(2 / 3)  # best over golds
    assert metrics.f1("", ["cat"]) == 0.0


def test_chinese_is_scored_by_character() -> None:
    assert metrics.answer_tokens("北京市2024年") == ["北", "京", "市", "2024", "年"]
    assert metrics.f1("北京市", ["北京"]) == pytest.approx(0.8)  # P 2/3, R 1
    assert metrics.exact_match("北京。", ["北 京"]) == 1.0
    assert metrics.contains_answer("会议在北京市举行。", ["北京"])


def test_containment_and_citation_marks() -> None:
    assert metrics.strip_citations("It is 14 May 2026 [1][2].") == "It is 14 May 2026."
    assert (
        metrics.strip_citations("上限为600元[1、2]，共(3)晚。") == "上限为600元，共(3)晚。"
    )  # "、" as the checks read it
    assert metrics.contains_answer("The move is on 14 May, 2026.", ["14 May 2026"])
    assert not metrics.contains_answer("In 1066 AD", ["106"])  # whole tokens only


def _graded(
    qid: str, impossible: bool, declined: bool, text: str = "", cited_text: str = "", ttft: float = 100.0
) -> Graded:
    question = Question(qid, "q?", [] if impossible else ["Paris"], impossible, passage_id="p1")
    source = Source(1, "/d/0.txt", 1, "c1", cited_text, 0.5, cited=bool(cited_text))
    answer = Answer("q?", text, declined, [source], Timings(first_token_ms=ttft), "m")
    return Graded(question, answer, ["p9"])


def test_qa_scores_count_refusals_and_citations() -> None:
    graded = [
        _graded("a1", False, False, "Paris [1]", cited_text="The capital is Paris."),  # right, cited well
        _graded("a2", False, False, "Lyon [1]", cited_text="Lyon is big."),  # wrong, citation misses
        _graded("a3", False, True, "Not in your documents"),  # answerable but declined
        _graded("u1", True, True, "Not in your documents", ttft=300.0),  # correct refusal
        _graded("u2", True, False, "Rome [1]", cited_text="Rome."),  # answered an unanswerable one
    ]
    s = qa_scores(graded)
    assert (s["questions"], s["answerable"], s["unanswerable"]) == (5, 3, 2)
    assert s["exact_match"] == pytest.approx(1 / 3)  # a declined answer predicts "" (SQuAD 2.0)
    assert s["answered_rate"] == pytest.approx(2 / 3)
    assert s["refusal_precision"] == pytest.approx(1 / 2)  # declined a3 (wrongly) and u1
    assert s["refusal_recall"] == pytest.approx(1 / 2)
    assert s["citation_hit_rate"] == pytest.approx(1 / 2)  # over answered answerable: a1 hit, a2 miss
    assert s["ttft_p50_ms"] == 100.0 and s["ttft_mean_ms"] == pytest.approx(140.0)


def test_sample_is_seeded_and_half_unanswerable() -> None:
    questions = [Question(f"q{i}", "?", [] if i % 5 == 0 else ["x"], i % 5 == 0) for i in range(100)]
    first = sample_questions(questions, 20, seed=3)
    assert first == sample_questions(questions, 20, seed=3)
    assert first != sample_questions(questions, 20, seed=4)
    assert len(first) == 20 and sum(q.impossible for q in first) == 10
    assert sample_questions(questions, None, seed=0) == questions


def test_cmrc_f1_is_the_longest_common_substring() -> None:
    # CMRC 2018's official metric: characters in the wrong order do not count as overlap.
    assert metrics.f1("京北", ["北京"]) == pytest.approx(0.5)
    assert metrics.f1("在北京市。", ["北京"]) == pytest.approx(2 * (2 / 4) * 1 / (2 / 4 + 1))
