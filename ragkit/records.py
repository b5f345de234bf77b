"""Typed records shared by every layer: the CLI's ``--json`` and the page render these.

Data flows one way, file -> pages -> chunks -> vectors -> store, and
question -> hits -> prompt -> answer; each arrow consumes one of these records and
produces the next.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Page:
    """Text of one page (PDF) or of a whole file (formats without pages, ``number`` 1)."""

    number: int
    text: str
    #: Runs of the page's text that a reader never sees (white, zero-size or invisible text in a
    #: PDF, hidden elements in HTML): chunks holding them are flagged.
    hidden: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chunk:
    """A passage ready to embed: where it came from, down to the character span on its page."""

    id: str
    doc_path: str
    ordinal: int
    page: int
    start: int
    end: int
    text: str
    #: Why this chunk may be aimed at the model, not the reader (see :mod:`ragkit.injection`).
    flags: tuple[str, ...] = ()


@dataclass
class Hit:
    """A retrieved chunk: ``score`` is its cosine similarity to the question, ``lexical`` the
    share of the question's terms it contains (the signal that works for Chinese too)."""

    chunk: Chunk
    score: float
    rank: int = 0
    lexical: float = 0.0


@dataclass
class Source:
    """A passage shown under an answer; ``n`` is the number the model cites as ``[n]``."""

    n: int
    file: str
    page: int
    chunk_id: str
    text: str
    score: float
    cited: bool = False
    #: Injection flags of the passage (empty for ordinary text).
    flags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` contract: exactly these keys."""
        return {
            "n": self.n,
            "file": self.file,
            "page": self.page,
            "chunk_id": self.chunk_id,
            "text": self.text,
            "score": round(self.score, 4),
            "flags": list(self.flags),
        }


@dataclass(frozen=True)
class Evidence:
    """A sentence an answer rests on; the answer's ``[n]`` marks point at these."""

    n: int
    sentence: str
    file: str
    page: int
    chunk_id: str
    #: The number of the passage (:class:`Source`) the sentence belongs to.
    source: int

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` contract: exactly these keys."""
        return asdict(self)


@dataclass(frozen=True)
class Unsupported:
    """A fact the checks could not find where it must stand: a number or name of the answer
    missing from its evidence (``where="answer"``), or one of the question's own details
    missing from the evidence and its context (``where="question"``)."""

    claim: str
    kind: str
    where: str

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` contract: exactly these keys."""
        return asdict(self)


@dataclass
class Timings:
    """Where the time of one answer went, in milliseconds and tokens."""

    retrieval_ms: float = 0.0
    first_token_ms: float | None = None
    total_ms: float = 0.0
    prompt_tokens: int = 0
    #: Of ``prompt_tokens``, those the model read from its cache, not anew (a follow-up's
    #: repeated passages, the system prompt); 0 where a model server does not say.
    cached_tokens: int = 0
    completion_tokens: int = 0
    #: Where the model ran: "CPU, 2 threads", "CUDA, all layers; CPU 2 threads", "model server".
    device: str = ""

    def record(self, generation: Any, first_token_at: float | None, started: float) -> None:
        """Take a generation's token counts (a :class:`ragkit.llm.Generation`) and the time of
        its first shown word (``time.perf_counter()``, as ``started``)."""
        self.prompt_tokens = generation.prompt_tokens
        self.cached_tokens = generation.cached_tokens
        self.completion_tokens = generation.completion_tokens
        if first_token_at is not None:
            self.first_token_ms = (first_token_at - started) * 1000

    def to_json(self) -> dict[str, Any]:
        """Rounded for humans; ``first_token_ms`` is null when no model was asked."""
        data = asdict(self)
        return {k: (round(v, 1) if isinstance(v, float) else v) for k, v in data.items()}


@dataclass
class Answer:
    """The result of one question: text, whether ragkit declined, and the passages behind it."""

    question: str
    answer: str
    declined: bool
    sources: list[Source]
    timings: Timings
    model: str
    #: The question as retrieval saw it (a follow-up rewritten to stand alone); not in the JSON
    #: contract, shown by the page and ``ragkit chat`` when it differs from ``question``.
    standalone_question: str = ""
    #: The sentences the answer rests on (empty when declined).
    evidence: list[Evidence] = field(default_factory=list)
    #: The checks that failed: why an answer the model wrote was declined.
    unsupported: list[Unsupported] = field(default_factory=list)
    #: The probability the model gave to naming evidence rather than "none" (None: not asked,
    #: or the model server returned no log probabilities).
    confidence: float | None = None
    #: Share of the question's weighted terms its evidence and their context hold (None: the
    #: checks did not run, because the model or the gate declined first).
    coverage: float | None = None
    #: The answer the model wrote, before the checks (empty when it wrote none): kept in eval
    #: answers files so that each check's share of the refusals can be measured from one run.
    draft: str = ""

    @property
    def withheld(self) -> str:
        """Why a reply the model wrote (and a shell may have streamed) is not shown as an answer."""
        for where, says in (
            ("answer", "the answer states {}, which its evidence sentences do not"),
            ("question", "the evidence does not mention {}, which the question asks about"),
        ):
            failed = [f'"{u.claim}"' for u in self.unsupported if u.where == where]
            if failed:
                return f"(withheld: {says.format(', '.join(failed))})"
        return "(withheld: the model did not state an answer from the passages)"

    @property
    def shown_sources(self) -> list[Source]:
        """What to show under the answer: the cited passages, else all it was given (or the closest)."""
        return [s for s in self.sources if s.cited] or self.sources

    @property
    def evidence_for(self) -> str:
        """The text a shown passage's quoted sentence should match: the answer, or the question if declined."""
        return self.question if self.declined else self.answer

    def to_json(self) -> dict[str, Any]:
        """The ``ragkit query --json`` object."""
        return {
            "question": self.question,
            "answer": self.answer,
            "declined": self.declined,
            "sources": [s.to_json() for s in self.sources],
            "evidence": [e.to_json() for e in self.evidence],
            "unsupported": [u.to_json() for u in self.unsupported],
            "confidence": None if self.confidence is None else round(self.confidence, 4),
            "timings": self.timings.to_json(),
            "model": self.model,
        }


@dataclass(frozen=True)
class Box:
    """A rectangle on a PDF page in points, PDF's way: origin at the bottom left."""

    left: float
    bottom: float
    right: float
    top: float

    def to_json(self) -> dict[str, float]:
        """Rounded to a hundredth of a point."""
        return {k: round(v, 2) for k, v in asdict(self).items()}

    def overlaps(self, other: Box) -> bool:
        """Whether the two rectangles share any area."""
        return (
            self.left < other.right and other.left < self.right and self.bottom < other.top and other.bottom < self.top
        )


@dataclass
class PageView:
    """One cited sentence shown where it stands: its page's text around it and, for a PDF, the
    page rendered with the sentence highlighted (``boxes`` in PDF points, origin bottom left)."""

    file: str
    page: int
    sentence: str
    #: The page's stored text around the sentence; ``text[start:end]`` is the sentence
    #: (``start == end == -1`` when the stored text does not hold it).
    text: str
    start: int
    end: int
    #: The rendered page (a PNG in the data dir's cache); None for other formats, or why not.
    png: Path | None = None
    boxes: list[Box] = field(default_factory=list)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        """The ``ragkit show --json`` object."""
        return {
            "file": self.file,
            "page": self.page,
            "sentence": self.sentence,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "png": None if self.png is None else str(self.png),
            "boxes": [b.to_json() for b in self.boxes],
            "note": self.note,
        }


@dataclass
class DocumentInfo:
    """One ingested file as the manifest records it."""

    path: str
    sha256: str
    size: int
    mtime: float
    pages: int
    chunks: int
    parser: str
    ingested_at: float

    def to_json(self) -> dict[str, Any]:
        """Plain dict for ``ragkit sources --json``."""
        return asdict(self)


@dataclass
class FileResult:
    """What ingest did with one file: ``added``/``updated``/``unchanged``/``skipped``/``removed``."""

    path: str
    status: str
    chunks: int = 0
    reason: str = ""
    #: Parser that read an added or updated file (``pdf+ocr`` when its text came from OCR).
    parser: str = ""
    #: Pages of a stored file (1 for a format without pages): ingest's progress counts them.
    pages: int = 0


@dataclass
class IngestReport:
    """Summary of one ingest run, printed at the end and as ``ragkit ingest --json``."""

    collection: str
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        """Number of files that ended with ``status``."""
        return sum(1 for f in self.files if f.status == status)

    @property
    def chunks_added(self) -> int:
        """Chunks embedded and written in this run (added and updated files)."""
        return sum(f.chunks for f in self.files if f.status in ("added", "updated"))

    @property
    def pages_added(self) -> int:
        """Pages of the files added and updated in this run."""
        return sum(f.pages for f in self.files if f.status in ("added", "updated"))

    @property
    def failed(self) -> bool:
        """True when at least one file was skipped for a reason (the CLI then exits 1)."""
        return self.count("skipped") > 0

    def to_json(self) -> dict[str, Any]:
        """Counts plus the per-file errors, for ``ragkit ingest --json``."""
        return {
            "collection": self.collection,
            "added": self.count("added"),
            "updated": self.count("updated"),
            "unchanged": self.count("unchanged"),
            "skipped": self.count("skipped"),
            "removed": self.count("removed"),
            "chunks_added": self.chunks_added,
            "pages_added": self.pages_added,
            "seconds": round(self.seconds, 2),
            "errors": [{"file": f.path, "reason": f.reason} for f in self.files if f.status == "skipped"],
            "files": [asdict(f) for f in self.files],
        }
