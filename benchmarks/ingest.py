"""Ingest throughput: ``ragkit ingest`` against the naive pipeline most RAG tutorials ship.

Prints figures, asserts nothing. The naive pipeline, file by file: pypdf text of every page, a
fixed 1,000-character splitter with 200 characters of overlap, sentence-transformers
``encode(batch_size=32)`` with the same MiniLM weights, one chromadb ``add`` per file. ragkit:
the library's ``ingest`` of the same folder (its own parser, chunker, cross-file embedding
batches, chromadb plus the full-text index). Both load the embedder before the clock starts.
Run from the repository root:

    .venv/bin/python benchmarks/ingest.py [FOLDER ...]

Without folders it uses the two-column papers, tables/forms and large PDFs of the shared eval
corpus. Pages/s is the like-for-like figure (the two pipelines cut different chunk sizes).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from ragkit import Ragkit, load_settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FOLDERS = [
    ROOT.parent / f"shared/eval/docs/pdfs/{name}" for name in ("papers_two_column", "tables_forms", "large")
]
SPLIT_CHARS, SPLIT_OVERLAP, BATCH = 1000, 200, 32


def naive_ingest(files: list[Path], embedder_dir: Path, data_dir: Path) -> tuple[int, int, float]:
    """(pages, chunks, seconds) of the naive pipeline over ``files``."""
    import chromadb
    from pypdf import PdfReader
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(embedder_dir), device="cpu", local_files_only=True)
    client = chromadb.PersistentClient(path=str(data_dir), settings=chromadb.Settings(anonymized_telemetry=False))
    collection = client.get_or_create_collection("naive", embedding_function=None)
    pages = chunks = 0
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
    return pages, chunks, time.perf_counter() - started


def ragkit_ingest(folder: Path, data_dir: Path) -> tuple[int, int, float]:
    """(pages, chunks, seconds) of ``Ragkit.ingest`` over ``folder``."""
    kit = Ragkit(load_settings({"data_dir": data_dir}))
    kit.embedder.load()
    started = time.perf_counter()
    report = kit.ingest([folder])
    seconds = time.perf_counter() - started
    for result in report.files:
        if result.status == "failed":
            print(f"ragkit: {result.message}")
    return sum(d.pages for d in kit.sources()), report.chunks_added, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=DEFAULT_FOLDERS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "pdfs"
        corpus.mkdir()
        for folder in args.folders:
            for pdf in sorted(folder.glob("*.pdf")):
                shutil.copy(pdf, corpus / pdf.name)
        files = sorted(corpus.glob("*.pdf"))
        embedder_dir = Ragkit(load_settings({"data_dir": Path(tmp) / "probe"})).embedder.directory
        print(f"{len(files)} PDFs, {sum(f.stat().st_size for f in files) / 1e6:.1f} MB")
        rows = {
            "naive": naive_ingest(files, embedder_dir, Path(tmp) / "naive"),
            "ragkit": ragkit_ingest(corpus, Path(tmp) / "ragkit"),
        }
        print(f"{'pipeline':8} {'pages':>6} {'chunks':>7} {'seconds':>8} {'pages/s':>8} {'chunks/s':>9}")
        for name, (pages, chunks, seconds) in rows.items():
            print(f"{name:8} {pages:6d} {chunks:7d} {seconds:8.1f} {pages / seconds:8.2f} {chunks / seconds:9.1f}")
        (np_, nc, ns), (rp, rc, rs) = rows["naive"], rows["ragkit"]
        print(f"ratio ragkit/naive: pages/s {(rp / rs) / (np_ / ns):.2f}x, chunks/s {(rc / rs) / (nc / ns):.2f}x")


if __name__ == "__main__":
    main()
