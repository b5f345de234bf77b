"""Evidence-first answers with the real 0.5B GGUF: ids, the claim check and the threshold."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ragkit import Ragkit

from .conftest import ragkit_cli

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
