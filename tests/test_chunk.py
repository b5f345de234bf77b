"""Chunking with the embedder's real tokenizer: sizes, overlap, boundaries, spans, ids."""

from __future__ import annotations

import pytest

from ragkit import models
from ragkit.chunk import Chunker, HFTokenizer, chunk_id
from ragkit.records import Page


@pytest.fixture(scope="module")
def tokenizer() -> HFTokenizer:
    return HFTokenizer(models.embedder_dir() / "tokenizer.json")


def sentences(n: int) -> str:
    return " ".join(f"Sentence number {i} talks about topic {i * 7} in some detail." for i in range(n))


def test_chunks_respect_size_and_overlap(tokenizer: HFTokenizer) -> None:
    chunker = Chunker(tokenizer, size=60, overlap=15)
    page = Page(1, sentences(40))
    chunks = chunker.chunk("/d/a.txt", "sha", [page])
    assert len(chunks) > 5
    for c in chunks:
        assert len(tokenizer.token_spans([c.text])[0]) <= 60
        assert page.text[c.start : c.end] == c.text  # the span points at the page text
        assert c.text.startswith("Sentence") and c.text.endswith(".")  # sentence boundaries
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start < prev.end  # overlapping
        assert nxt.start > prev.start  # always moving forward


def test_every_sentence_is_covered(tokenizer: HFTokenizer) -> None:
    text = sentences(25)
    chunks = Chunker(tokenizer, size=50, overlap=10).chunk("/d/a.txt", "sha", [Page(1, text)])
    covered = "".join(c.text for c in chunks)
    for i in range(25):
        assert f"Sentence number {i} " in covered


def test_chinese_sentence_punctuation_is_a_boundary(tokenizer: HFTokenizer) -> None:
    text = "".join(f"第{i}条规定员工出差必须提前申请并获得经理批准。" for i in range(30))
    chunks = Chunker(tokenizer, size=60, overlap=10).chunk("/d/z.md", "sha", [Page(1, text)])
    assert len(chunks) > 3
    for c in chunks:
        assert c.text.startswith("第") and c.text.endswith("。")
        assert len(tokenizer.token_spans([c.text])[0]) <= 60


def test_overlong_sentence_is_cut_at_token_boundaries(tokenizer: HFTokenizer) -> None:
    text = " ".join(f"cell{i}" for i in range(400))  # a table row with no punctuation
    chunks = Chunker(tokenizer, size=50, overlap=10).chunk("/d/t.txt", "sha", [Page(1, text)])
    assert len(chunks) > 3
    assert all(len(tokenizer.token_spans([c.text])[0]) <= 50 for c in chunks)
    assert chunks[-1].text.endswith("cell399")


def test_chunks_never_cross_pages_and_keep_page_numbers(tokenizer: HFTokenizer) -> None:
    pages = [Page(1, sentences(3)), Page(2, "Second page only."), Page(5, sentences(2))]
    chunks = Chunker(tokenizer, size=200, overlap=20).chunk("/d/p.pdf", "sha", pages)
    assert [c.page for c in chunks] == [1, 2, 5]
    assert chunks[1].text == "Second page only."
    assert [c.ordinal for c in chunks] == [0, 1, 2]


def test_ids_are_deterministic_and_content_versioned(tokenizer: HFTokenizer) -> None:
    chunker = Chunker(tokenizer, size=40, overlap=5)
    pages = [Page(1, sentences(10))]
    first = [c.id for c in chunker.chunk("/d/a.txt", "v1", pages)]
    assert first == [c.id for c in chunker.chunk("/d/a.txt", "v1", pages)]
    assert set(first).isdisjoint(c.id for c in chunker.chunk("/d/a.txt", "v2", pages))
    assert first[0] == chunk_id("/d/a.txt", "v1", 0)


def test_overlap_must_be_smaller_than_size(tokenizer: HFTokenizer) -> None:
    with pytest.raises(ValueError):
        Chunker(tokenizer, size=10, overlap=10)
