"""Answers from the real GGUFs over the sample documents: cited, declined, in Chinese."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from ragkit import Ragkit
from ragkit.answer import REFUSALS
from ragkit.lexical import is_cjk
from ragkit.llm import default_threads, gpu_layers, placement

from .conftest import SAMPLE_DOCS, ragkit_cli

DEFAULT_MODEL = "qwen2.5-coder-1.5b"

pytestmark = pytest.mark.llm


@pytest.fixture(scope="module")
def default_kit(sample_kit: Ragkit) -> Ragkit:
    """The same store answered by the default model. Evidence-first answering is calibrated for
    it; the 0.5B names a sentence or "none" close to chance (docs/benchmarks.md), so the tests
    of what an answer says use the model users get."""
    return Ragkit(replace(sample_kit.settings, model=DEFAULT_MODEL))


# (question, span the answer and its cited passage must contain, file, page); the README's own
# examples are answered in test_readme.py.
ANSWERABLE = [
    ("Within how many hours must security incidents be reported?", "24 hours", "employee_handbook.pdf", 5),
    ("What is the minimum password length for Northwind accounts?", "14", "it_security_policy.md", 1),
    ("What budget did the board approve for the new Lisbon office?", "1.2 million", "board_minutes_2026_q3.docx", 1),
]


@pytest.mark.parametrize(("question", "span", "file", "page"), ANSWERABLE)
def test_answer_is_correct_and_cites_file_and_page(
    default_kit: Ragkit, question: str, span: str, file: str, page: int
) -> None:
    streamed: list[str] = []
    answer = default_kit.ask(question, on_token=streamed.append)
    assert not answer.declined, answer.answer
    assert span.lower() in answer.answer.lower()
    unmarked = re.compile(r"\s*\[[\d,\s]+\]")  # citation marks may be corrected after streaming
    assert unmarked.sub("", "".join(streamed)).strip() == unmarked.sub("", answer.answer).strip()
    supporting = [s for s in answer.sources if Path(s.file).name == file and s.page == page and span in s.text]
    assert supporting, [(s.file, s.page) for s in answer.sources]
    assert answer.timings.first_token_ms and answer.timings.prompt_tokens > 0
    assert answer.timings.completion_tokens > 0 and answer.timings.total_ms >= answer.timings.first_token_ms


def test_unanswerable_question_is_declined_with_closest_passages(default_kit: Ragkit) -> None:
    answer = default_kit.ask("Are employees allowed to bring their dog to the office?")
    assert answer.declined
    assert answer.answer == REFUSALS["en"]
    assert 1 <= len(answer.sources) <= 3  # the closest passages are still shown


def test_out_of_domain_question_is_declined_before_the_model(sample_kit: Ragkit) -> None:
    answer = sample_kit.ask("Who painted the Mona Lisa?")
    assert answer.declined and answer.timings.first_token_ms is None


def test_chinese_question_gets_a_chinese_answer(default_kit: Ragkit) -> None:
    answer = default_kit.ask("在一线城市出差时，每晚的住宿费上限是多少？")
    assert not answer.declined, answer.answer
    assert "600" in answer.answer and is_cjk(answer.answer)
    assert any(Path(s.file).name == "差旅报销制度.md" and "600元" in s.text for s in answer.shown_sources)


def test_chinese_question_about_missing_topic_declines_in_chinese(sample_kit: Ragkit) -> None:
    answer = sample_kit.ask("公司的股票期权计划是怎样的？")
    assert answer.declined and answer.answer == REFUSALS["zh"]


def run_cli(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return ragkit_cli(*args, env={"RAGKIT_DATA_DIR": str(data_dir)})


def test_cli_json_contract(sample_kit: Ragkit) -> None:
    result = run_cli(
        "query",
        "--json",
        "What budget did the board approve for the new Lisbon office?",
        data_dir=sample_kit.settings.data_dir,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {
        "question",
        "answer",
        "declined",
        "sources",
        "evidence",
        "unsupported",
        "confidence",
        "timings",
        "model",
    }
    assert isinstance(data["evidence"], list) and isinstance(data["unsupported"], list)
    assert isinstance(data["declined"], bool) and data["model"] == "qwen2.5-coder-0.5b"
    assert set(data["timings"]) == {
        "retrieval_ms",
        "first_token_ms",
        "total_ms",
        "prompt_tokens",
        "cached_tokens",
        "completion_tokens",
        "device",
    }
    assert data["timings"]["device"] == placement(gpu_layers(None), default_threads())  # "CPU, 2 threads" here
    for source in data["sources"]:
        assert set(source) == {"n", "file", "page", "chunk_id", "text", "score", "flags"}
        assert isinstance(source["page"], int) and isinstance(source["score"], float)
    assert [s["n"] for s in data["sources"]] == list(range(1, len(data["sources"]) + 1))


def test_cli_streams_answer_then_sources(sample_kit: Ragkit) -> None:
    result = run_cli(
        "query", "What is the minimum password length for Northwind accounts?", data_dir=sample_kit.settings.data_dir
    )
    assert result.returncode == 0, result.stderr
    answer, _, sources = result.stdout.partition("\nSources:\n")
    assert "14" in answer
    assert 'it_security_policy.md p.1 — "' in sources and "14 characters" in sources


def test_cli_ingest_json_and_exit_code(tmp_path: Path) -> None:
    bad = tmp_path / "in"
    bad.mkdir()
    (bad / "broken.pdf").write_bytes(b"%PDF-1.7\n garbage")
    (bad / "ok.md").write_text("# Parking\n\nStaff park on level 2 of the garage.\n", encoding="utf-8")
    result = run_cli("ingest", "--json", str(bad), data_dir=tmp_path / "data")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["added"] == 1 and data["skipped"] == 1
    assert data["errors"][0]["file"].endswith("broken.pdf") and data["errors"][0]["reason"].startswith("corrupt")


def test_query_on_empty_store_says_how_to_ingest(tmp_path: Path) -> None:
    result = run_cli("query", "anything?", data_dir=tmp_path / "empty")
    assert result.returncode == 4
    assert "ragkit ingest" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_readme_sample_folder_is_what_the_tests_use() -> None:
    assert sorted(p.name for p in SAMPLE_DOCS.iterdir()) == [
        "board_minutes_2026_q3.docx",
        "employee_handbook.pdf",
        "it_security_policy.md",
        "差旅报销制度.md",
    ]


def test_two_questions_at_once_both_get_answers(default_kit: Ragkit) -> None:
    """The page's sessions share one model; generation is serialized, never interleaved."""
    from concurrent.futures import ThreadPoolExecutor

    questions = [
        "What is the minimum password length for Northwind accounts?",
        "在一线城市出差时，每晚的住宿费上限是多少？",
    ]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(default_kit.ask, questions))
    assert "14" in answers[0].answer and "600" in answers[1].answer
