"""Evidence-first answers with the real 0.5B GGUF: ids, the claim check and the threshold."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ragkit import Ragkit
from ragkit.errors import ConfigError
from ragkit.llm import _STATE_ATTRIBUTES, LANE_ANSWER, LANE_ASIDE, Generation, LocalLLM

from .conftest import SAMPLE_DOCS, ragkit_cli

pytestmark = pytest.mark.llm


def test_each_mark_points_at_the_sentence_that_states_the_answer(sample_kit: Ragkit) -> None:
    answer = sample_kit.ask("What is the minimum password length for Northwind accounts?")
    assert not answer.declined, answer.answer
    assert answer.answer.endswith("".join(f"[{e.n}]" for e in answer.evidence))
    [first, *_] = answer.evidence
    assert "14 characters" in first.sentence and Path(first.file).name == "it_security_policy.md"
    assert first.sentence in answer.sources[first.source - 1].text  # a sentence of the cited passage
    assert answer.sources[first.source - 1].cited
    assert 0.0 <= (answer.confidence or 0.0) <= 1.0 and not answer.unsupported


def test_the_threshold_decides(sample_kit: Ragkit) -> None:
    question = "What budget did the board approve for the new Lisbon office?"
    declined = Ragkit(replace(sample_kit.settings, min_confidence=1.0)).ask(question)
    assert declined.declined and declined.confidence is not None and declined.confidence < 1.0
    assert declined.evidence == [] and declined.timings.completion_tokens <= 6  # only the probe ran
    answered = Ragkit(replace(sample_kit.settings, min_confidence=0.0)).ask(question)
    assert answered.evidence, answered.unsupported  # threshold 0: the model must name sentences


def test_query_json_carries_evidence_and_unsupported(sample_kit: Ragkit) -> None:
    result = ragkit_cli(
        "--data-dir",
        str(sample_kit.settings.data_dir),
        "query",
        "--json",
        "Within how many hours must security incidents be reported?",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"evidence", "unsupported", "confidence"} <= data.keys()
    assert data["evidence"] and "24 hours" in data["evidence"][0]["sentence"]
    assert set(data["evidence"][0]) == {"n", "sentence", "file", "page", "chunk_id", "source"}
    assert data["evidence"][0]["page"] == 5


def test_a_follow_up_reads_the_turn_before_from_the_cache(sample_kit: Ragkit) -> None:
    """The rewrite runs between the two answers on its own lane of the model's cache, and the
    follow-up's prompt starts as the first turn's did (its question, its passages as read):
    most of it comes from the cache (with the rewrite on the answers' lane, 4 tokens did)."""
    first = sample_kit.ask("What is the minimum password length for Northwind accounts?")
    follow = sample_kit.ask("And how often must it be changed?", history=[(first.question, first.answer)])
    assert follow.standalone_question != follow.question  # it was rewritten: the aside ran
    timings = follow.timings
    assert timings.cached_tokens >= 0.5 * timings.prompt_tokens, timings


def test_a_lane_switch_brings_back_exactly_what_the_answer_lane_read(sample_kit: Ragkit) -> None:
    """An aside (the rewrite) between two answers: the second reads its whole prompt from the
    restored state and writes what a fresh context writes. State from the wrong lane, or none,
    would give other words or a full re-read."""
    llm = sample_kit.llm()
    assert isinstance(llm, LocalLLM)
    missing = [name for name in _STATE_ATTRIBUTES if not hasattr(llm._llm, name)]
    assert not missing, f"llama_cpp.Llama no longer has {missing}: LocalLLM._switch must change"
    text = (SAMPLE_DOCS / "it_security_policy.md").read_text()
    answer = [
        {"role": "system", "content": "You answer questions about the user's text."},
        {"role": "user", "content": f"{text}\n\nQuestion: What is the minimum password length?"},
    ]
    aside = [{"role": "user", "content": "Rewrite as a full question: and for contractors?"}]

    def run(messages: list[dict[str, str]], lane: str) -> tuple[str, Generation]:
        stats = Generation()
        return "".join(llm.stream(messages, max_tokens=12, temperature=0.0, stats=stats, lane=lane)), stats

    first, read = run(answer, LANE_ANSWER)
    run(aside, LANE_ASIDE)
    again, stats = run(answer, LANE_ANSWER)
    assert stats.cached_tokens >= read.prompt_tokens - 1, (stats, read)
    llm._llm.reset()
    fresh, cold = run(answer, LANE_ANSWER)
    assert cold.cached_tokens == 0 and first == again == fresh


def test_a_prompt_longer_than_the_context_is_a_one_line_setting_error(sample_kit: Ragkit) -> None:
    small = LocalLLM(sample_kit.model_path(), "small", n_ctx=128)
    long = [{"role": "user", "content": "The cat sat on the mat. " * 100}]
    with pytest.raises(ConfigError, match="raise n_ctx or lower context_tokens"):
        list(small.stream(long, max_tokens=4, temperature=0.0, stats=Generation()))


def test_the_model_loads_with_the_settings_measured_best(sample_kit: Ragkit) -> None:
    # docs/benchmarks.md: flash attention off unless asked for (the thresholds were chosen
    # without it); on the CPU the weights are read in, not mapped (a mapped file stayed
    # resident beside llama.cpp's repacked copy of them).
    import llama_cpp

    shipped = sample_kit.llm()._llm.__getstate__()  # type: ignore[union-attr]  # its load settings
    assert not shipped["flash_attn"]
    if not llama_cpp.llama_supports_gpu_offload():
        assert not shipped["use_mmap"]
    asked = LocalLLM(sample_kit.model_path(), "fa", n_ctx=128, flash_attn=True)
    assert asked._llm.__getstate__()["flash_attn"]
