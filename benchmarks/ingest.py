"""Ingest throughput: ``ragkit ingest`` against the naive pipeline most RAG tutorials ship.

Prints figures, asserts nothing. The naive pipeline, file by file: pypdf text of every page, a
fixed 1,000-character splitter with 200 characters of overlap, sentence-transformers
``encode(batch_size=32)`` with the same MiniLM weights, one chromadb ``add`` per file. ragkit:
the library's ``ingest`` of the same folder (its own parser, chunker, cross-file embedding
batches, chromadb plus the full-text index), once with the next files parsed while a batch
embeds (the default) and once one file after another (``PARSE_AHEAD = 0``). The ceiling: the
embedder alone on ragkit's chunk texts, in the same batches. Each row also gives the time until
the first document was searchable. Everything loads the embedder before the clock starts.
Run from the repository root:

    .venv/bin/python -u benchmarks/ingest.py [FOLDER ...] [--copies N] [--no-serial]

Without folders it uses the two-column papers, tables/forms and large PDFs of the shared eval
corpus; ``--copies 4`` makes that a folder of about 1,000 pages (each copy is parsed and
embedded again under its own name). Pages/s is the like-for-like figure across pipelines (they
cut different chunk sizes); against the ceiling, chunks/s is.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from ragkit import FileResult, Ragkit, load_settings
from ragkit import ingest as ingest_module

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDERS = [
    ROOT.parent / f"shared/eval/docs/pdfs/{name}" for name in ("papers_two_column", "tables_forms", "large")
]
SPLIT_CHARS, SPLIT_OVERLAP, BATCH = 1000, 200, 32


def naive_ingest(files: list[Path], embedder_dir: Path, data_dir: Path) -> tuple[int, int, float, float]:
    """(pages, chunks, seconds, seconds to the first stored file) of the naive pipeline over ``files``."""
    import chromadb
    from pypdf import PdfReader
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(embedder_dir), device="cpu", local_files_only=True)
    client = chromadb.PersistentClient(path=str(data_dir), settings=chromadb.Settings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("naive", embedding_function=None)
    pages = chunks = 0
    first = None
    started = time.perf_counter()
    for path in files:
        try:
            texts = [page.extract_text() or "" for page in PdfReader(path).pages]
        except Exception as error:  # noqa: BLE001 - the naive loop skips what pypdf cannot read
            print(f"naive: skipped {path.name}: {error}")
            continue
        text = "\n".join(texts)
        pieces = [
            text[i : i + SPLIT_CHARS] for i in range(0, max(len(text) - SPLIT_OVERLAP, 1), SPLIT_CHARS - SPLIT_OVERLAP)
        ]
        pieces = [p for p in pieces if p.strip()]
        pages += len(texts)
        if not pieces:
            continue
        vectors = model.encode(pieces, batch_size=BATCH, normalize_embeddings=True)
        collection.add(
            ids=[f"{path.name}:{i}" for i in range(len(pieces))], embeddings=vectors.tolist(), documents=pieces
        )
        chunks += len(pieces)
        first = first or time.perf_counter() - started
    return pages, chunks, time.perf_counter() - started, first or 0.0


def ragkit_ingest(folder: Path, data_dir: Path, parse_ahead: int) -> tuple[int, int, float, float]:
    """(pages, chunks, seconds, seconds to the first stored file) of ``Ragkit.ingest`` over
    ``folder``, parsing up to ``parse_ahead`` files ahead."""
    ingest_module.PARSE_AHEAD = parse_ahead
    kit = Ragkit(load_settings({"data_dir": data_dir}))
    kit.embedder.load()
    first: list[float] = []

    def stored(result: FileResult, _done: int, _total: int) -> None:
        if result.status == "added" and not first:
            first.append(time.perf_counter() - started)

    started = time.perf_counter()
    report = kit.ingest([folder], progress=stored)
    seconds = time.perf_counter() - started
    for result in report.files:
        if result.status == "skipped":
            print(f"ragkit: skipped {Path(result.path).name}: {result.reason}")
    pages = sum(d.pages for d in kit.sources())
    kit.close()
    return pages, report.chunks_added, seconds, first[0] if first else 0.0


def embed_only(data_dir: Path) -> tuple[int, int, float, float]:
    """The ceiling: the embedder alone on the chunk texts ragkit stored, in batches of ingest's
    size (cut in stored order, not at file boundaries as ingest cuts them)."""
    import sqlite3

    db = sqlite3.connect(data_dir / "ragkit.sqlite3")
    texts = [row[0] for row in db.execute("SELECT text FROM chunks ORDER BY rowid")]
    db.close()
    kit = Ragkit(load_settings({"data_dir": data_dir}))
    kit.embedder.load()
    batch = ingest_module.EMBED_BATCH_CHUNKS
    started = time.perf_counter()
    for i in range(0, len(texts), batch):
        kit.embedder.embed(texts[i : i + batch])
    seconds = time.perf_counter() - started
    kit.close()
    return 0, len(texts), seconds, 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=DEFAULT_FOLDERS)
    parser.add_argument("--copies", type=int, default=1, help="Copies of every PDF, each under its own name.")
    parser.add_argument("--no-serial", action="store_true", help="Skip the one-file-after-another run.")
    args = parser.parse_args()
    if args.copies < 1:
        parser.error("--copies must be at least 1")
    ahead = ingest_module.PARSE_AHEAD
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "pdfs"
        corpus.mkdir()
        for folder in args.folders:
            for pdf in sorted(folder.glob("*.pdf")):
                for copy in range(args.copies):
                    shutil.copy(pdf, corpus / (pdf.name if copy == 0 else f"{pdf.stem}.copy{copy}.pdf"))
        files = sorted(corpus.glob("*.pdf"))
        embedder_dir = Ragkit(load_settings({"data_dir": Path(tmp) / "probe"})).embedder.directory
        print(f"{len(files)} PDFs, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB")
        print("serial: ragkit one file after another; embed: the embedder alone on ragkit's chunks (the ceiling)")
        print(f"{'pipeline':8} {'pages':>6} {'chunks':>7} {'seconds':>8} {'pages/s':>8} {'chunks/s':>9} {'first s':>8}")
        runs = {
            "naive": lambda: naive_ingest(files, embedder_dir, Path(tmp) / "naive"),
            "ragkit": lambda: ragkit_ingest(corpus, Path(tmp) / "ragkit", ahead),  # before serial: no warmer cache
            "serial": lambda: ragkit_ingest(corpus, Path(tmp) / "serial", 0),
            "embed": lambda: embed_only(Path(tmp) / "ragkit"),
        }
        rows = {}
        for name, run in runs.items():
            if name == "serial" and args.no_serial:
                continue
            rows[name] = pages, chunks, seconds, first = run()
            paged = f"{pages:6d}" if pages else f"{'-':>6}"
            rate = f"{pages / seconds:8.2f}" if pages else f"{'-':>8}"
            firsts = f"{first:8.1f}" if first else f"{'-':>8}"
            print(f"{name:8} {paged} {chunks:7d} {seconds:8.1f} {rate} {chunks / seconds:9.1f} {firsts}", flush=True)
        (np_, nc, ns, _), (rp, rc, rs, _) = rows["naive"], rows["ragkit"]
        print(f"ratio ragkit/naive: pages/s {(rp / rs) / (np_ / ns):.2f}x, chunks/s {(rc / rs) / (nc / ns):.2f}x")
        if "serial" in rows:
            print(f"ratio ragkit/serial: {rows['serial'][2] / rs:.2f}x faster")
        print(f"ragkit at {rc / rs / (rows['embed'][1] / rows['embed'][2]):.0%} of the embedder's ceiling (chunks/s)")


if __name__ == "__main__":
    main()
