"""The store of one data dir: vectors in chromadb, everything else in the SQLite manifest.

See the package docstring for how the two are kept consistent.
"""

from __future__ import annotations

import functools
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .. import lexical
from ..config import MANIFEST_SUFFIX
from ..endpoints import Endpoint
from ..errors import EmptyCollectionError, RagkitError, ServerError
from ..records import Chunk, DocumentInfo
from . import chroma, consistency, faults, manifest, mirror
from .consistency import Consistency

T = TypeVar("T")

#: Vectors per chromadb call (its batch limit is a few thousand).
_BATCH = 1000
#: Turns texts into vectors: what :meth:`Store.repair` needs to restore missing vectors.
Embed = Callable[[Sequence[str]], np.ndarray]


def _locked(method: Callable[..., T]) -> Callable[..., T]:
    """Run a Store method under the store's lock (one SQLite connection, many threads).

    In server mode a network failure becomes a one-line RagkitError naming the server; a store
    that cannot be written (disk full) one naming the data dir.
    """

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> T:
        import httpx

        with self.lock:
            try:
                return method(self, *args, **kwargs)
            except RagkitError:
                raise
            except httpx.HTTPError as exc:
                if self.endpoint is None:
                    raise
                raise ServerError(f"store server {self.endpoint.url}: {type(exc).__name__}: {exc}") from None
            except Exception as exc:
                if (full := faults.unwritable(self.data_dir, exc)) is None:
                    raise
                raise full from None

    return wrapper


class Store:
    """One data dir: a chromadb PersistentClient plus the SQLite manifest beside it, or, with a
    server ``endpoint``, a chromadb HttpClient plus the local mirror of the server's manifest."""

    def __init__(self, data_dir: Path, endpoint: Endpoint | None = None) -> None:
        self.data_dir = data_dir
        self.endpoint = endpoint
        #: Where the SQLite manifest (or the server's mirror) and its lexical index live.
        self.manifest_dir = data_dir
        if endpoint is not None:
            self.manifest_dir = data_dir / "servers" / re.sub(r"[^\w.-]", "_", f"{endpoint.host}-{endpoint.port}")
        self.manifest_dir.mkdir(parents=True, exist_ok=True)
        self._db = manifest.connect(self.manifest_dir)
        #: Server mode only: the server's document records, mirrored here before each read.
        self._mirror = mirror.Mirror(self._db, self._vectors, self._manifest) if endpoint is not None else None
        self._client: Any = None
        self._client_version = 0
        self._collections: dict[str, Any] = {}
        #: One connection serves every thread of the page; transactions must not interleave.
        self.lock = threading.RLock()

    # -- chromadb -------------------------------------------------------------------------

    def _chroma(self) -> Any:
        if self.endpoint is not None:
            if self._client is None:
                self._client = chroma.connect(self.endpoint)
            return self._client
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if self._client is not None and version != self._client_version:
            self.reopen()  # another process committed documents: see its vectors too
        if self._client is None:
            self._client_version = version
            self._client = chroma.embedded(self.data_dir / "chroma")
        return self._client

    @_locked
    def reopen(self) -> None:
        """Drop this process's chromadb client; the next access loads what is on disk now.

        chromadb keeps a collection's vector index in memory and never reloads it: a process that
        opened it before another process wrote misses the new vectors, and fetching their
        embeddings fails ("Error finding id"). Readers therefore reopen when the manifest changed
        under them (SQLite's ``data_version``), and a writer reopens when it takes the write lock.
        """
        if self._client is not None:
            self._client.close()
        self._client = None
        self._collections.clear()

    def _vectors(self, collection: str, create: bool = False) -> Any | None:
        """The chromadb collection, never with chromadb's default (downloading) embedding function."""
        return self._server_collection(collection, {"hnsw:space": "cosine"} if create else None)

    def _manifest(self, collection: str, embedder: str | None = None) -> Any | None:
        """Server mode: the collection of document records (a 1-d dummy vector each); created,
        recording ``embedder``, when that is given."""
        metadata = {"hnsw:space": "l2", "embedder": embedder} if embedder else None
        return self._server_collection(collection + MANIFEST_SUFFIX, metadata)

    def _server_collection(self, name: str, create: dict[str, Any] | None) -> Any | None:
        """A chromadb collection by name, created with metadata ``create`` if given, else None if missing."""
        from chromadb.errors import NotFoundError

        client = self._chroma()  # first: it drops cached collections when another process wrote
        if name in self._collections:
            return self._collections[name]
        try:
            col = client.get_collection(name, embedding_function=None)
        except NotFoundError:  # only that: a server that failed to answer is an error, not "empty"
            if create is None:
                return None
            col = client.get_or_create_collection(name, embedding_function=None, metadata=create)
        self._collections[name] = col
        return col

    def _sync(self, collection: str, *, force: bool = False) -> None:
        """Server mode: bring the mirror up to date before a read; embedded: nothing to do."""
        if self._mirror is not None:
            self._mirror.sync(collection, force=force)

    # -- collections ----------------------------------------------------------------------

    @_locked
    def check_embedder(self, collection: str, embedder: str) -> None:
        """Record the embedder of a new collection; refuse to mix vectors of another model.

        In server mode the record is the server's (on the manifest collection), so every
        machine writing to the collection must embed with the same model.
        """
        row = self._db.execute("SELECT embedder FROM collections WHERE name = ?", (collection,)).fetchone()
        if self.endpoint is not None:
            recorded = (self._manifest(collection, embedder).metadata or {}).get("embedder")
            row = (recorded,) if recorded else row
        if row is None:
            with self._db:
                self._db.execute(
                    "INSERT INTO collections (name, embedder, created_at) VALUES (?, ?, ?)",
                    (collection, embedder, time.time()),
                )
        elif row[0] != embedder:
            raise RagkitError(
                f"collection {collection!r} was built with embedder {row[0]}, not {embedder}: "
                "use another --collection or remove and re-ingest its documents"
            )

    @_locked
    def names(self) -> list[str]:
        """Every collection ever written to, empty ones included (they may hold stray vectors)."""
        if self.endpoint is not None:
            listed = (c if isinstance(c, str) else c.name for c in self._chroma().list_collections())
            return sorted(n[: -len(MANIFEST_SUFFIX)] for n in listed if n.endswith(MANIFEST_SUFFIX))
        rows = self._db.execute("SELECT name FROM collections UNION SELECT collection FROM documents ORDER BY 1")
        return [r[0] for r in rows]

    @_locked
    def collections(self) -> list[str]:
        """Names of collections that hold at least one document."""
        if self.endpoint is not None:
            return [name for name in self.names() if mirror.has_documents(self._manifest(name))]
        rows = self._db.execute("SELECT DISTINCT collection FROM documents ORDER BY collection")
        return [r[0] for r in rows]

    @_locked
    def require_documents(self, collection: str) -> None:
        """Raise a helpful error when a collection is missing or empty."""
        self._sync(collection)
        if self._db.execute("SELECT 1 FROM documents WHERE collection = ? LIMIT 1", (collection,)).fetchone():
            return
        others = [c for c in self.collections() if c != collection]
        hint = f" (collections here: {', '.join(others)})" if others else ""
        where = self.endpoint.url if self.endpoint else self.data_dir
        raise EmptyCollectionError(
            f"collection {collection!r} in {where} has no documents{hint}: "
            f"run `ragkit ingest PATH --collection {collection}` first"
        )

    @_locked
    def drop(self, collection: str) -> None:
        """Delete a whole collection: its vectors, its server manifest and its rows here."""
        from chromadb.errors import NotFoundError

        for name in (collection, collection + MANIFEST_SUFFIX):
            self._collections.pop(name, None)
            try:
                self._chroma().delete_collection(name)
            except NotFoundError:
                pass
        with self._db:
            for info in manifest.documents(self._db, collection):
                manifest.delete_rows(self._db, collection, info.path)
            self._db.execute("DELETE FROM collections WHERE name = ?", (collection,))

    # -- documents ------------------------------------------------------------------------

    @_locked
    def document(self, collection: str, path: str) -> DocumentInfo | None:
        """The manifest row of one file, or None."""
        self._sync(collection)
        found = manifest.documents(self._db, collection, path)
        return found[0] if found else None

    @_locked
    def documents(self, collection: str) -> list[DocumentInfo]:
        """Every document of a collection, by path."""
        self._sync(collection)
        return manifest.documents(self._db, collection)

    def _drop_stale_vectors(self, collection: str, path: str, keep: Iterable[str]) -> None:
        col = self._vectors(collection)
        if col is None:
            return
        stale = set(col.get(where={"path": path}, include=[])["ids"]) - set(keep)
        if stale:
            col.delete(ids=sorted(stale))

    @_locked
    def replace_document(
        self, collection: str, info: DocumentInfo, chunks: Sequence[Chunk], vectors: np.ndarray
    ) -> None:
        """Make ``chunks`` the document's only chunks, in four steps: (1) upsert the new vectors
        (deterministic ids, so a re-run never duplicates), (2) in server mode publish the
        document's record, (3) swap the manifest rows in one transaction, (4) delete the vectors
        the manifest no longer lists."""
        info = replace(info, chunks=len(chunks))
        self._upsert(collection, chunks, vectors, {info.path: info.sha256})
        self._publish(collection, info)
        with self._db:
            manifest.write_rows(self._db, collection, info, chunks)
        self._drop_stale_vectors(collection, info.path, [c.id for c in chunks])

    def _upsert(self, collection: str, chunks: Sequence[Chunk], vectors: np.ndarray, sha256: dict[str, str]) -> None:
        """Store vectors with everything a mirror needs to rebuild the chunk rows from the server;
        ``sha256`` maps each chunk's document to the version the chunks belong to."""
        col = self._vectors(collection, create=True)
        for i in range(0, len(chunks), _BATCH):
            batch = chunks[i : i + _BATCH]
            col.upsert(
                ids=[c.id for c in batch],
                embeddings=vectors[i : i + _BATCH],
                documents=[c.text for c in batch],
                metadatas=[
                    {
                        "path": c.doc_path,
                        "page": c.page,
                        "ordinal": c.ordinal,
                        "start": c.start,
                        "end": c.end,
                        "flags": ",".join(c.flags),
                        "sha256": sha256[c.doc_path],
                        "written_at": time.time(),
                    }
                    for c in batch
                ],
            )

    def _publish(self, collection: str, info: DocumentInfo) -> None:
        """Server mode: make ``info`` the document's version for every reader (the commit point)."""
        records = self._manifest(collection) if self._mirror is not None else None
        if records is not None:
            mirror.publish(records, info)

    @_locked
    def touch_document(self, collection: str, path: str, mtime: float) -> None:
        """Record a new mtime for a file whose content did not change."""
        info = self.document(collection, path)
        if info is not None:
            self._publish(collection, replace(info, mtime=mtime))
        manifest.set_mtime(self._db, collection, path, mtime)

    @_locked
    def remove_document(self, collection: str, path: str) -> bool:
        """Delete one document and its vectors; False when it was not there."""
        if self.document(collection, path) is None:
            return False
        records = self._manifest(collection) if self._mirror is not None else None
        if records is not None:
            mirror.withdraw(records, path)
        with self._db:
            manifest.delete_rows(self._db, collection, path)
        self._drop_stale_vectors(collection, path, ())
        return True

    # -- consistency ----------------------------------------------------------------------

    @_locked
    def check(self, collection: str) -> Consistency:
        """Compare the manifest of one collection with its lexical rows and its vectors."""
        self._sync(collection, force=True)
        return consistency.check(self._db, collection, self._vectors(collection), shared=self.endpoint is not None)

    @_locked
    def repair(self, collection: str, embed: Embed) -> Consistency:
        """Make a collection consistent again; returns what was found before the repair.

        The manifest is fixed first (:func:`consistency.repair_rows`); then missing vectors are
        embedded again from the texts in the manifest, and vectors of no listed chunk are
        deleted. Call it only while holding the write lock.
        """
        found = self.check(collection)
        if found.ok:
            return found
        consistency.repair_rows(self._db, collection, found)
        vectors = self.check(collection)  # rows deleted above may have turned vectors into orphans
        for i in range(0, len(vectors.missing_vectors), _BATCH):
            chunks = list(self.chunks(collection, vectors.missing_vectors[i : i + _BATCH]).values())
            versions = {d.path: d.sha256 for d in self.documents(collection)}
            self._upsert(collection, chunks, embed([c.text for c in chunks]), versions)
        col = self._vectors(collection)
        for i in range(0, len(vectors.orphan_vectors), _BATCH):
            col.delete(ids=vectors.orphan_vectors[i : i + _BATCH])
        return found

    # -- search ---------------------------------------------------------------------------

    @_locked
    def chunks(self, collection: str, ids: Sequence[str]) -> dict[str, Chunk]:
        """Chunks by id, restricted to what the manifest lists (invisible orphans drop out)."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            f"SELECT {manifest.CHUNK_COLUMNS} FROM chunks WHERE collection = ? AND id IN ({marks})",
            (collection, *ids),
        )
        return {r[0]: manifest.chunk(r) for r in rows}

    @_locked
    def document_text(self, collection: str, path: str) -> str:
        """All stored text of one document, its chunks in reading order (overlaps repeated)."""
        rows = self._db.execute(
            "SELECT text FROM chunks WHERE collection = ? AND path = ? ORDER BY ordinal", (collection, path)
        )
        return "\n".join(r[0] for r in rows)

    @_locked
    def page_chunks(self, collection: str, path: str, page: int) -> list[Chunk]:
        """The chunks of one page of a document, in reading order."""
        rows = self._db.execute(
            f"SELECT {manifest.CHUNK_COLUMNS} FROM chunks WHERE collection = ? AND path = ? AND page = ? "
            "ORDER BY ordinal",
            (collection, path, page),
        )
        return [manifest.chunk(r) for r in rows]

    @_locked
    def dense_search(self, collection: str, vector: np.ndarray, n: int) -> list[tuple[str, float]]:
        """Nearest chunks by cosine similarity, best first."""
        self._sync(collection)
        col = self._vectors(collection)
        if col is None or n <= 0:
            return []
        n = min(n, col.count())
        if n == 0:
            return []
        result = col.query(query_embeddings=[vector.tolist()], n_results=n, include=["distances"])
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)]

    @_locked
    def lexical_search(self, collection: str, question: str, n: int) -> list[tuple[str, float]]:
        """BM25 matches of the question's terms, best first (score: higher is better)."""
        self._sync(collection)
        expression = lexical.match_expression(question)
        if expression is None:
            return []
        rows = self._db.execute(
            "SELECT c.id, -bm25(chunks_fts) AS score FROM chunks_fts JOIN chunks c ON c.rowid = chunks_fts.rowid "
            "WHERE chunks_fts MATCH ? AND c.collection = ? ORDER BY bm25(chunks_fts) LIMIT ?",
            (expression, collection, n),
        )
        return [(r[0], float(r[1])) for r in rows]

    @_locked
    def vectors(self, collection: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored embeddings by chunk id (to score lexical-only hits by cosine too)."""
        col = self._vectors(collection)
        if col is None or not ids:
            return {}
        got = col.get(ids=list(ids), include=["embeddings"])
        return {cid: np.asarray(vec, dtype=np.float32) for cid, vec in zip(got["ids"], got["embeddings"], strict=True)}

    def close(self) -> None:
        """Close the chromadb client and the SQLite connection.

        chromadb shares one in-memory index per directory among a process's clients and drops it
        only when the last of them closes: a Store left open would hand its (soon stale) index to
        the next Store opened here in the same process.
        """
        try:
            self.reopen()
        finally:
            self._db.close()
