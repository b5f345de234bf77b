"""Fuzz the parsers and the chunker with Hypothesis for a bounded time; prints what it found.

Parsers get mutated copies of real seed files (the hard-document fixtures and sample_docs):
raw byte flips, insertions, deletions and truncations, and, for the ZIP-based formats (DOCX,
PPTX, XLSX), the same mutations applied to one XML part inside a well-formed archive, so that
the XML parsers are reached rather than the ZIP checksum. Every input is parsed by the real
worker process under a short timeout. The property: a file yields pages or a ParseError, never
a hang or crash. Failures (timeouts, crashes) are saved under ``--out``. Library exceptions that
the catch-all turned into ``corrupt: <Type>: …`` are counted by type, as findings to read.

The chunker gets generated page texts (Latin and CJK punctuation, blank lines, long runs
without boundaries) and must return chunks whose span is their text, in order, never empty and
never over what the embedder reads. Run from the repository root:

    .venv/bin/python benchmarks/fuzz.py --seconds 300 [--out /tmp/fuzz]
"""

from __future__ import annotations

import argparse
import io
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ragkit.chunk import Chunker, HFTokenizer
from ragkit.embed import Embedder
from ragkit.errors import ParseError
from ragkit.parse.worker import ParseWorker
from ragkit.records import Page

ROOT = Path(__file__).resolve().parent.parent
SEED_DIRS = (ROOT / "tests" / "fixtures" / "hard", ROOT / "sample_docs")
SUFFIXES = (".pdf", ".docx", ".pptx", ".xlsx", ".html")
#: Seconds one mutated file may take; real seeds parse in well under a second (OCR aside).
PARSE_TIMEOUT = 15.0
EXAMPLES_PER_ROUND = 20

Mutation = tuple[str, float, bytes]
mutations = st.lists(
    st.tuples(
        st.sampled_from(("flip", "insert", "delete", "truncate", "repeat")),
        st.floats(0, 1, allow_nan=False),
        st.binary(min_size=1, max_size=64),
    ),
    min_size=1,
    max_size=8,
)


def mutate(data: bytes, changes: list[Mutation]) -> bytes:
    """Apply byte-level changes, each at a relative position of the current data."""
    for op, where, payload in changes:
        at = int(where * len(data))
        if op == "flip" and data:
            at = min(at, len(data) - 1)
            data = data[:at] + bytes([data[at] ^ (payload[0] or 1)]) + data[at + 1 :]
        elif op == "insert":
            data = data[:at] + payload + data[at:]
        elif op == "delete":
            data = data[:at] + data[at + len(payload) :]
        elif op == "truncate":
            data = data[:at]
        elif op == "repeat":  # duplicate a slice many times: long runs, deep nesting
            data = data[:at] + data[at : at + len(payload)] * 2000 + data[at:]
    return data


def mutate_member(data: bytes, member: float, changes: list[Mutation]) -> bytes:
    """Mutate one XML part of a ZIP-based file and re-zip it, so the archive stays valid."""
    source = zipfile.ZipFile(io.BytesIO(data))
    names = [n for n in source.namelist() if n.endswith((".xml", ".rels"))]
    target = names[int(member * len(names)) % len(names)]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            content = source.read(name)
            archive.writestr(name, mutate(content, changes) if name == target else content)
    return out.getvalue()


class ParserFuzz:
    """Mutated seeds through the real worker; counts outcomes and keeps failing inputs."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.worker = ParseWorker(timeout=PARSE_TIMEOUT)
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []
        self.inputs = 0

    def check(self, seed: Path, data: bytes) -> None:
        self.inputs += 1
        path = self.out / "current" / f"input{seed.suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        try:
            pages = self.worker.parse(path).pages
            assert pages and all(p.text for p in pages), "parser returned empty pages"
            self.outcomes[f"{seed.suffix} ok"] += 1
        except ParseError as exc:
            kind = exc.reason.split(":", 2)
            label = ":".join(kind[:2]) if exc.reason.startswith("corrupt: ") and len(kind) > 2 else kind[0]
            self.outcomes[f"{seed.suffix} {label.strip()}"] += 1
            if exc.reason.startswith(("timeout", "corrupt: parser crashed", "corrupt: parser exited")):
                saved = self.out / f"failure-{len(self.failures)}{seed.suffix}"
                saved.write_bytes(data)
                self.failures.append(f"{seed.name}: {exc.reason} (input saved as {saved})")


def seed_property(seed: Path, fuzz: ParserFuzz) -> Callable[[], None]:
    """One round of mutated copies of ``seed`` (inside one XML part, or anywhere in the file)."""
    data = seed.read_bytes()
    zipped = seed.suffix in (".docx", ".pptx", ".xlsx")

    @settings(
        max_examples=EXAMPLES_PER_ROUND,
        deadline=None,
        database=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
    )
    @given(changes=mutations, member=st.floats(0, 1, allow_nan=False), inside=st.booleans())
    def check(changes: list[Mutation], member: float, inside: bool) -> None:
        fuzz.check(seed, mutate_member(data, member, changes) if zipped and inside else mutate(data, changes))

    return check


def fuzz_parsers(seeds: list[Path], deadline: float, fuzz: ParserFuzz) -> None:
    """Round-robin over the seeds until the deadline."""
    while time.monotonic() < deadline:
        for seed in seeds:
            if time.monotonic() >= deadline:
                return
            seed_property(seed, fuzz)()


def chunker_property(chunker: Chunker, max_tokens: int) -> Callable[[], None]:
    """Chunks point at their text, in order, non-empty, within what the embedder reads.

    The budget checked is the embedder's ``max_tokens``, not the chunk size: a chunk cut inside
    a word re-tokenizes into a token or two more than the window it was cut from.
    """
    texts = st.text(
        alphabet=st.one_of(
            st.sampled_from(list(" \n\n\t.!?;:。！？；…”」）\"')]abcXYZ中文字0123")),
            st.characters(codec="utf-8"),
        ),
        max_size=3000,
    )

    # Long runs with no sentence boundary take the cut-at-token-boundaries path.
    runs = st.builds(lambda piece, times: piece * times, st.text(min_size=1, max_size=6), st.integers(1, 1500))
    page_texts = st.lists(st.one_of(texts, runs), min_size=1, max_size=4).map("".join)

    @settings(max_examples=EXAMPLES_PER_ROUND * 5, deadline=None, database=None)
    @given(pages=st.lists(page_texts, min_size=1, max_size=3))
    def check(pages: list[str]) -> None:
        doc = [Page(i, text) for i, text in enumerate(pages, start=1)]
        chunks = chunker.chunk("fuzz.txt", "0" * 64, doc)
        for ordinal, chunk in enumerate(chunks):
            assert chunk.ordinal == ordinal
            assert chunk.text == doc[chunk.page - 1].text[chunk.start : chunk.end], "span does not point at text"
            assert chunk.text.strip(), "empty chunk"
            tokens = chunker.tokenizer.token_spans([chunk.text])[0]
            assert len(tokens) <= max_tokens, f"{len(tokens)} tokens > {max_tokens} the embedder reads"

    return check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120, help="total time budget (default 120)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/ragkit-fuzz"), help="where failing inputs go")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    seeds = sorted(p for d in SEED_DIRS for p in d.iterdir() if p.suffix in SUFFIXES and p.stat().st_size < 400_000)
    started = time.monotonic()

    embedder = Embedder()
    chunker = Chunker(HFTokenizer(embedder.tokenizer_file), size=min(200, embedder.max_tokens), overlap=40)
    chunk_failures: list[str] = []
    chunk_rounds = 0
    chunk_deadline = started + args.seconds * 0.2
    while time.monotonic() < chunk_deadline:
        chunk_rounds += 1
        try:
            chunker_property(chunker, embedder.max_tokens)()
        except AssertionError as exc:  # Hypothesis has shrunk it to a minimal example
            chunk_failures.append(" ".join([str(exc), *getattr(exc, "__notes__", [])])[:2000])
            break

    fuzz = ParserFuzz(args.out)
    with fuzz.worker:
        fuzz_parsers(seeds, started + args.seconds, fuzz)

    print(f"# Fuzzing, {time.monotonic() - started:.0f} s")
    print(
        f"\nChunker: {chunk_rounds * EXAMPLES_PER_ROUND * 5} generated documents, failures: {chunk_failures or 'none'}"
    )
    print(f"\nParsers: {fuzz.inputs} mutated files from {len(seeds)} seeds ({', '.join(p.name for p in seeds)})")
    print(f"Hangs/crashes: {fuzz.failures or 'none'}\n\n| outcome | files |\n|---|---|")
    for outcome, count in sorted(fuzz.outcomes.items()):
        print(f"| {outcome} | {count} |")


if __name__ == "__main__":
    main()
