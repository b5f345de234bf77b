"""Hybrid retrieval on the sample documents, through ``ragkit search`` and the library."""

from __future__ import annotations

import json
from pathlib import Path

from ragkit import Ragkit

from .conftest import ragkit_cli


def search(kit: Ragkit, *args: str) -> list[dict[str, object]]:
    result = ragkit_cli("search", "--json", *args, env={"RAGKIT_DATA_DIR": str(kit.settings.data_dir)})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_search_lists_ranked_passages(sample_kit: Ragkit) -> None:
    hits = search(sample_kit, "-k", "3", "What is the minimum password length for Northwind accounts?")
    assert [h["rank"] for h in hits] == [1, 2, 3]
    assert Path(str(hits[0]["file"])).name == "it_security_policy.md" and "14" in str(hits[0]["text"])


def test_search_ranks_whole_documents(sample_kit: Ragkit) -> None:
    docs = search(sample_kit, "--documents", "What budget did the board approve for the new Lisbon office?")
    names = [Path(str(d["file"])).name for d in docs]
    assert names[0] == "board_minutes_2026_q3.docx" and len(names) == len(set(names))
    scores = [float(str(d["score"])) for d in docs]
    assert scores == sorted(scores, reverse=True)


def test_chinese_recall_rests_on_the_lexical_side(sample_kit: Ragkit) -> None:
    # The packaged embedder is English-only; BM25 over character bigrams finds the passage.
    question = "在一线城市出差时，每晚的住宿费上限是多少？"
    hybrid = sample_kit.retrieve(question, top_k=1)
    assert Path(hybrid[0].chunk.doc_path).name == "差旅报销制度.md" and "600" in hybrid[0].chunk.text


def test_search_of_an_empty_collection_fails_clearly(data_dir: Path) -> None:
    result = ragkit_cli("search", "anything", env={"RAGKIT_DATA_DIR": str(data_dir)})
    assert result.returncode == 4 and "has no documents" in result.stderr
