"""Paths -> files -> (parse, chunk, embed) -> store, incrementally.

A file is identified by its resolved path and versioned by the sha256 of its content: unchanged
content is skipped without parsing, changed content replaces the document's chunks, a file that
fails to parse is reported and leaves whatever was stored for it before untouched.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from . import parse
from .chunk import Chunker
from .digest import sha256_file
from .embed import Embedder
from .errors import ParseError
from .records import DocumentInfo, FileResult, IngestReport
from .store import Store

#: Called after each file with (result, files done, files total).
Progress = Callable[[FileResult, int, int], None]


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[FileResult]]:
    """Supported files under ``paths`` (recursively, hidden entries skipped), plus path errors.

    Files of unsupported types found inside folders are passed over silently; a file named
    explicitly on the command line is reported when ragkit cannot read it.
    """
    found: dict[Path, None] = {}
    problems: list[FileResult] = []
    for given in paths:
        path = Path(given).expanduser()
        if not path.exists():
            problems.append(FileResult(str(path), "skipped", reason="not found"))
        elif path.is_dir():
            root = path.resolve()
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    file = Path(dirpath) / name
                    if not _hidden(file, root) and parse.supported(file) and file.is_file():
                        found.setdefault(file, None)
        elif not path.is_file():
            problems.append(FileResult(str(path), "skipped", reason="not a regular file"))
        elif not parse.supported(path):
            problems.append(FileResult(str(path), "skipped", reason=f"unsupported file type {path.suffix or '(none)'}"))
        else:
            found.setdefault(path.resolve(), None)
    return list(found), problems


class Ingestor:
    """Runs the ingest pipeline for one collection of one store."""

    def __init__(self, store: Store, embedder: Embedder, chunker: Chunker, collection: str) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.collection = collection

    def ingest_file(self, path: Path) -> FileResult:
        """Bring one file's stored chunks up to date with its content."""
        key = str(path)
        try:
            stat = path.stat()
            sha = sha256_file(path)
        except OSError as exc:
            return FileResult(key, "skipped", reason=f"cannot read: {exc.strerror}")
        existing = self.store.document(self.collection, key)
        if existing is not None and existing.sha256 == sha:
            if existing.mtime != stat.st_mtime:
                self.store.touch_document(self.collection, key, stat.st_mtime)
            return FileResult(key, "unchanged", chunks=existing.chunks)
        try:
            pages = parse.parse_file(path)
        except ParseError as exc:
            return FileResult(key, "skipped", reason=exc.reason)
        chunks = self.chunker.chunk(key, sha, pages)
        vectors = self.embedder.embed([c.text for c in chunks])
        info = DocumentInfo(
            path=key,
            sha256=sha,
            size=stat.st_size,
            mtime=stat.st_mtime,
            pages=len(pages),
            chunks=len(chunks),
            parser=parse.parser_name(path),
            ingested_at=time.time(),
        )
        self.store.replace_document(self.collection, info, chunks, vectors)
        return FileResult(key, "added" if existing is None else "updated", chunks=len(chunks))

    def _vanished(self, roots: list[Path], present: set[str]) -> Iterator[str]:
        for doc in self.store.documents(self.collection):
            doc_path = Path(doc.path)
            if doc.path in present or doc_path.exists():
                continue
            if any(doc_path == r or r in doc_path.parents for r in roots):
                yield doc.path

    def run(self, paths: Iterable[Path], *, prune: bool = False, progress: Progress | None = None) -> IngestReport:
        """Ingest every file under ``paths``; with ``prune``, drop stored files that vanished."""
        started = time.perf_counter()
        paths = [Path(p).expanduser() for p in paths]
        files, problems = discover(paths)
        report = IngestReport(collection=self.collection, files=list(problems))
        self.store.check_embedder(self.collection, self.embedder.identity)
        total = len(files)
        for done, path in enumerate(files, start=1):
            result = self.ingest_file(path)
            report.files.append(result)
            if progress:
                progress(result, done, total)
        if prune:
            roots = [p.resolve() for p in paths]
            for gone in self._vanished(roots, {str(f) for f in files}):
                self.store.remove_document(self.collection, gone)
                report.files.append(FileResult(gone, "removed"))
        report.seconds = time.perf_counter() - started
        return report
