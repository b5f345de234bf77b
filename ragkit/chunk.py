"""Pages -> chunks: token-sized passages cut at sentence and paragraph boundaries, with overlap.

Sizes are counted in the embedder's own tokens, so a chunk never silently exceeds what the
embedder reads (MiniLM truncates at 256). Boundaries are found with Latin and Chinese sentence
punctuation and blank lines; a sentence longer than a chunk is cut at token boundaries. Chunks
never cross pages, so every citation has one page, and each chunk keeps the character span it
came from so the quote can be checked against the page text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from . import injection, sentences
from .records import Chunk, Page


class Tokenizer(Protocol):
    """What the chunker needs from a tokenizer: token character offsets of each text."""

    def token_spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]: ...


class HFTokenizer:
    """Adapter over a Hugging Face ``tokenizers`` tokenizer (the embedder's tokenizer.json)."""

    def __init__(self, tokenizer_json: Path) -> None:
        from tokenizers import Tokenizer as _Tokenizer

        self._tok = _Tokenizer.from_file(str(tokenizer_json))
        self._tok.no_truncation()
        self._tok.no_padding()

    def token_spans(self, texts: Sequence[str]) -> list[list[tuple[int, int]]]:
        """Character spans of the tokens of each text, special tokens excluded."""
        encodings = self._tok.encode_batch(list(texts), add_special_tokens=False)
        return [[tuple(o) for o in enc.offsets] for enc in encodings]  # type: ignore[misc]

    def count(self, text: str) -> int:
        """Tokens in ``text``, special tokens excluded."""
        return len(self._tok.encode(text, add_special_tokens=False).ids)


@dataclass(frozen=True)
class _Unit:
    start: int
    end: int
    tokens: int


def chunk_id(doc_path: str, doc_sha256: str, ordinal: int) -> str:
    """Deterministic id: same file, same content, same position -> same id, on every run."""
    return hashlib.sha256(f"{doc_path}\x00{doc_sha256}\x00{ordinal}".encode()).hexdigest()[:32]


class Chunker:
    """Packs sentence units into chunks of at most ``size`` tokens with ``overlap`` tokens shared."""

    def __init__(self, tokenizer: Tokenizer, size: int = 200, overlap: int = 40) -> None:
        if not 0 <= overlap < size:
            raise ValueError("overlap must be >= 0 and smaller than size")
        self.tokenizer = tokenizer
        self.size = size
        self.overlap = overlap

    def _units(self, text: str) -> list[_Unit]:
        spans = list(sentences.spans(text, clauses=True))
        token_spans = self.tokenizer.token_spans([text[s:e] for s, e in spans]) if spans else []
        units: list[_Unit] = []
        for (start, end), toks in zip(spans, token_spans, strict=True):
            if len(toks) <= self.size:
                units.append(_Unit(start, end, max(len(toks), 1)))
                continue
            # An over-long sentence (a table row, a run-on line): cut it at token boundaries.
            for i in range(0, len(toks), self.size - self.overlap):
                window = toks[i : i + self.size]
                units.append(_Unit(start + window[0][0], start + window[-1][1], len(window)))
                if i + self.size >= len(toks):
                    break
        return units

    def _windows(self, units: list[_Unit]) -> Iterator[tuple[int, int]]:
        """Index ranges [i, j) of units forming each chunk."""
        i = 0
        while i < len(units):
            j, total = i, 0
            while j < len(units) and (j == i or total + units[j].tokens <= self.size):
                total += units[j].tokens
                j += 1
            yield i, j
            if j >= len(units):
                return
            # Step back over whole units that fit in the overlap budget, always moving forward.
            back, shared = j, 0
            while back - 1 > i and shared + units[back - 1].tokens <= self.overlap:
                back -= 1
                shared += units[back].tokens
            i = back

    def chunk(self, doc_path: str, doc_sha256: str, pages: Sequence[Page]) -> list[Chunk]:
        """All chunks of one document, numbered in reading order, each flagged if it may be aimed
        at the model (:mod:`ragkit.injection`)."""
        chunks: list[Chunk] = []
        for page in pages:
            units = self._units(page.text)
            hidden = injection.hidden_spans(page.text, page.hidden)
            for i, j in self._windows(units):
                start, end = units[i].start, units[j - 1].end
                ordinal = len(chunks)
                text = page.text[start:end]
                chunks.append(
                    Chunk(
                        id=chunk_id(doc_path, doc_sha256, ordinal),
                        doc_path=doc_path,
                        ordinal=ordinal,
                        page=page.number,
                        start=start,
                        end=end,
                        text=text,
                        flags=injection.scan(text, hidden=injection.overlaps(start, end, hidden)),
                    )
                )
        return chunks
