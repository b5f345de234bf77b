"""Follow-up questions: the rewrite rules around the model, then a real terminal chat."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ragkit import Ragkit
from ragkit.followup import rewrite
from ragkit.llm import Generation

from .conftest import ragkit_cli


class Echo:
    """Stands in for the model to pin down the rules applied to its reply."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.calls = 0
        self.lanes: list[str] = []

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        stats: Generation,
        lane: str = "answer",
    ) -> Iterator[str]:
        self.calls += 1
        self.lanes.append(lane)
        yield self.reply


HISTORY = [("What is the minimum password length?", "14 characters [1].")]


def test_no_history_means_no_rewrite() -> None:
    llm = Echo("anything")
    assert rewrite(llm, "How long?", []) == "How long?" and llm.calls == 0  # type: ignore[arg-type]


def test_good_rewrite_is_used() -> None:
    llm = Echo('"How often must the password be changed?"\nExtra line')
    assert rewrite(llm, "And how often?", HISTORY) == "How often must the password be changed?"  # type: ignore[arg-type]
    assert llm.lanes == ["aside"]  # the answer's passages stay read for the next answer


def test_a_new_question_after_an_echo_stands_alone() -> None:
    llm = Echo("What is the minimum password length?")  # the small model echoes the old question
    question = "Until what date must carried-over annual leave be taken?"
    assert rewrite(llm, question, HISTORY) == question  # type: ignore[arg-type]
    pointing = "Is that also true for contractors working over the summer months?"  # long, but a follow-up
    assert rewrite(llm, pointing, HISTORY).startswith(pointing + " (follow-up to: ")  # type: ignore[arg-type]


def test_echo_of_previous_question_asks_the_new_question_first() -> None:
    llm = Echo("What is the minimum password length")
    assert rewrite(llm, "Is MFA required?", HISTORY) == (  # type: ignore[arg-type]
        "Is MFA required? (follow-up to: What is the minimum password length?)"
    )


def test_empty_or_rambling_rewrite_keeps_the_question() -> None:
    assert rewrite(Echo(""), "And MFA?", HISTORY) == "And MFA?"  # type: ignore[arg-type]
    assert rewrite(Echo("x" * 500), "And MFA?", HISTORY) == "And MFA?"  # type: ignore[arg-type]


@pytest.mark.llm
def test_terminal_chat_answers_and_follows_up(sample_kit: Ragkit, tmp_path: Path) -> None:
    lines = "What is the minimum password length for Northwind accounts?\nIs MFA required too?\n\n"
    kept = tmp_path / "chat.md"
    env = {"RAGKIT_DATA_DIR": str(sample_kit.settings.data_dir)}
    result = ragkit_cli("chat", "--export", str(kept), input=lines, env=env)
    assert result.returncode == 0, result.stderr
    first, _, rest = result.stdout.partition("Sources:")
    assert "14" in first
    assert "it_security_policy.md p.1" in rest
    assert "(searched for: " in rest  # the follow-up was rewritten with the previous turn
    assert rest.count("Sources:") + rest.count("Closest passages:") >= 1  # the second turn answered too
    assert "closest sentences" in result.stderr  # shown while the model read

    exported = kept.read_text(encoding="utf-8")  # both turns, each answer with its quoted sources
    assert "## 1. What is the minimum password length for Northwind accounts?" in exported
    assert "## 2. Is MFA required too?" in exported
    assert "it_security_policy.md, page 1: “" in exported and "14 characters" in exported
