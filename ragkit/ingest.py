"""Paths -> files -> (parse, chunk, embed) -> store, incrementally.

A file is identified by its resolved path and versioned by the sha256 of its content: unchanged
content is skipped without parsing, changed content replaces the document's chunks, a file that
fails to parse is reported and leaves whatever was stored for it before untouched.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, replace
from pathlib import Path

from .chunk import Chunker
from .digest import sha256_file
from .discover import Limits, discover
from .embed import Embedder
from .errors import ParseError
from .parse.worker import ParseWorker
from .passwords import Passwords
from .records import Chunk, DocumentInfo, FileResult, IngestReport
from .store import Store

#: Called after each file with (result, files done, files total).
FileProgress = Callable[[FileResult, int, int], None]


#: Chunks gathered from several files before one embedding call: small files (one or two chunks
#: each) would otherwise run the embedder on tiny batches, several times slower per chunk.
EMBED_BATCH_CHUNKS = 256
#: Files parsed ahead of the one being stored. The parser runs in its own process, so while the
#: embedder works on a batch, the next files are parsed (and chunked) on the other core.
PARSE_AHEAD = 32


@dataclass
class _Changed:
    """A file whose content is new to the store: it must be parsed."""

    path: Path
    sha256: str
    size: int
    mtime: float
    existed: bool


@dataclass
class _Parsed:
    """A file parsed and chunked, waiting for its vectors."""

    info: DocumentInfo
    chunks: list[Chunk]
    existed: bool


def _ready(item: FileResult | Future[FileResult | _Parsed]) -> bool:
    """Whether ``item`` can be handed on without waiting."""
    return not isinstance(item, Future) or item.done()


class Ingestor:
    """Runs the ingest pipeline for one collection of one store."""

    def __init__(
        self,
        store: Store,
        embedder: Embedder,
        chunker: Chunker,
        collection: str,
        limits: Limits | None = None,
        *,
        worker: ParseWorker | None = None,
        passwords: Passwords | None = None,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.chunker = chunker
        self.collection = collection
        self.limits = limits or Limits()
        #: Parses in a separate, time- and memory-limited process (see :mod:`ragkit.parse.worker`).
        self.worker = worker or ParseWorker()
        self.passwords = passwords or Passwords()

    def _check(self, path: Path) -> FileResult | _Changed:
        """Compare a file with its stored version (SQLite: on the calling thread)."""
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
            return FileResult(key, "unchanged", chunks=existing.chunks, pages=existing.pages)
        return _Changed(path, sha, stat.st_size, stat.st_mtime, existing is not None)

    def _parse(self, changed: _Changed) -> FileResult | _Parsed:
        """Parse and chunk a changed file (on the parse thread: it touches no store)."""
        key = str(changed.path)
        try:
            stat = changed.path.stat()
            if (stat.st_size, stat.st_mtime) != (changed.size, changed.mtime):  # edited since it was checked
                changed = replace(changed, sha256=sha256_file(changed.path), size=stat.st_size, mtime=stat.st_mtime)
        except OSError as exc:
            return FileResult(key, "skipped", reason=f"cannot read: {exc.strerror}")
        try:
            parsed = self.worker.parse(changed.path, self.passwords.for_file(changed.path))
        except ParseError as exc:
            return FileResult(key, "skipped", reason=exc.reason)
        pages = parsed.pages
        chunks = self.chunker.chunk(key, changed.sha256, pages)
        info = DocumentInfo(
            path=key,
            sha256=changed.sha256,
            size=changed.size,
            mtime=changed.mtime,
            pages=len(pages),
            chunks=len(chunks),
            parser=parsed.parser,
            ingested_at=time.time(),
        )
        return _Parsed(info, chunks, changed.existed)

    def _prepared(self, files: list[Path]) -> Iterator[FileResult | _Parsed]:
        """Each file checked and, when changed, parsed: in the files' order, the parsing up to
        :data:`PARSE_AHEAD` files ahead on a thread of its own, so that it goes on while the
        caller embeds and stores what was yielded before."""
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ragkit-parse")
        ahead: deque[FileResult | Future[FileResult | _Parsed]] = deque()

        def head() -> FileResult | _Parsed:
            first = ahead.popleft()
            return first.result() if isinstance(first, Future) else first

        done = False
        try:
            for path in files:
                checked = self._check(path)
                ahead.append(pool.submit(self._parse, checked) if isinstance(checked, _Changed) else checked)
                while ahead and (len(ahead) > PARSE_AHEAD or _ready(ahead[0])):
                    yield head()
            while ahead:
                yield head()
            done = True
        finally:
            if not done:  # stopped early (SIGTERM, a full disk): end the parse in flight, drop the rest
                self.worker.end()
            pool.shutdown(wait=True, cancel_futures=True)  # no thread outlives the ingest

    def _store(self, batch: list[_Parsed]) -> Iterator[FileResult]:
        """Embed a batch of parsed files in one call, then replace each document on its own."""
        if not batch:
            return  # nothing changed: do not load the embedder
        vectors = self.embedder.embed([c.text for p in batch for c in p.chunks])
        offset = 0
        for parsed in batch:
            count = len(parsed.chunks)
            self.store.replace_document(self.collection, parsed.info, parsed.chunks, vectors[offset : offset + count])
            offset += count
            status = "updated" if parsed.existed else "added"
            yield FileResult(parsed.info.path, status, chunks=count, parser=parsed.info.parser, pages=parsed.info.pages)

    def _vanished(self, roots: list[Path], present: set[str]) -> Iterator[str]:
        for doc in self.store.documents(self.collection):
            doc_path = Path(doc.path)
            if doc.path in present or doc_path.exists():
                continue
            if any(doc_path == r or r in doc_path.parents for r in roots):
                yield doc.path

    def run(self, paths: Iterable[Path], *, prune: bool = False, progress: FileProgress | None = None) -> IngestReport:
        """Ingest every file under ``paths``; with ``prune``, drop stored files that vanished."""
        started = time.perf_counter()
        paths = [Path(p).expanduser() for p in paths]
        files, problems = discover(paths, self.limits)
        report = IngestReport(collection=self.collection, files=list(problems))
        self.store.check_embedder(self.collection, self.embedder.identity)
        total = len(files)
        pending: list[_Parsed] = []

        def record(results: Iterable[FileResult]) -> None:
            for result in results:
                report.files.append(result)
                if progress:
                    progress(result, len(report.files) - len(problems), total)

        with closing(self._prepared(files)) as prepared_files:  # its thread ends here, also on an error
            for prepared in prepared_files:
                if isinstance(prepared, FileResult):
                    record([prepared])
                    continue
                pending.append(prepared)
                if sum(len(p.chunks) for p in pending) >= EMBED_BATCH_CHUNKS:
                    record(self._store(pending))
                    pending = []
        record(self._store(pending))
        if prune:
            roots = [p.resolve() for p in paths]
            for gone in self._vanished(roots, {str(f) for f in files}):
                self.store.remove_document(self.collection, gone)
                report.files.append(FileResult(gone, "removed"))
        report.seconds = time.perf_counter() - started
        return report
