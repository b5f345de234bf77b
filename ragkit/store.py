"""Vectors in chromadb, everything else in one SQLite manifest, kept consistent.

The SQLite manifest is the source of truth: which documents a collection holds, their chunk
texts and spans, and the FTS5 lexical index. chromadb holds the vectors. A document is replaced
in three steps: (1) upsert its new vectors (deterministic ids, so a re-run never duplicates),
(2) swap the manifest rows in one SQLite transaction, (3) delete vectors of the document that
the manifest no longer lists. Retrieval only returns chunks the manifest lists, so a crash
between steps leaves extra vectors that are invisible, never a half-old, half-new document.

chromadb survives SIGKILL: an acknowledged upsert or delete is on disk, an interrupted one is
all or nothing (tested with kills at random moments). What a killed writer can leave is vectors
the manifest does not list (invisible, but they take dense-search slots) or, in principle,
manifest rows without vectors; :meth:`Store.check` finds both and :meth:`Store.repair` fixes
them, which the next writer does first after an interrupted one (``Ragkit._writing``).

**Server mode** (``store_url``): vectors live on a Chroma server that several ragkit processes on
several machines share, so no single manifest can be the truth. The server is: each chunk's
vector carries its text, span, flags and its document's sha256, and a second server-side
collection (``<name>__manifest``) holds one record per document. Publishing that record is the
commit point: a writer upserts the new vectors, then the record, then deletes the old vectors.
The local SQLite file becomes a *mirror* (``<data dir>/servers/<host>-<port>/``) that each
process brings up to date before it reads (:meth:`Store._sync`, at most every
:data:`SYNC_SECONDS`). That costs one small request while nothing changed: every writer sets
the manifest's change record (:data:`CHANGES_ID`) to a new token after it changed a document
record, and only a new token makes a reader fetch the records. Documents whose record changed
are copied from the server, and only when all their vectors of that version are there, so a
reader sees a document old or new, never half. The FTS5 lexical index lives in that mirror,
which is why it always matches the server; processes sharing a data dir share the mirror
(SQLite serializes their updates, and applying a document twice is harmless). Vectors that no
mirrored document lists may be an ingest running on another machine, so ``check`` counts them
as orphans (and ``repair`` deletes them) only once they are older than
:data:`ORPHAN_GRACE_SECONDS`. Two machines that write the same path (the same absolute path on
both) race as any two writers do: the last record wins, and ``ragkit doctor`` on the machine
that wrote it reports vectors left missing, which its ``ragkit doctor --repair`` embeds again
from that machine's mirror.
"""

from __future__ import annotations

import functools
import logging
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, astuple, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from . import endpoints, lexical
from .config import MANIFEST_SUFFIX
from .endpoints import Endpoint
from .errors import EmptyCollectionError, RagkitError, ServerError
from .records import Chunk, DocumentInfo

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Server mode: a reader refreshes its mirror of a collection at most this often (seconds).
SYNC_SECONDS = 1.0
#: Server mode: the id of the manifest's change record, which every writer sets to a new random
#: token after it changed a document record. Readers fetch the (many) document records only when
#: the token differs from the one they last mirrored. Never a document path: those are absolute.
CHANGES_ID = "ragkit:changes"
#: Server mode: vectors that no mirrored document lists count as orphans (and ``repair`` deletes
#: them) only when written longer ago than this: younger ones may belong to an ingest still
#: running on another machine, whose record this machine has not seen yet.
ORPHAN_GRACE_SECONDS = 3600.0
#: Server mode: seconds one request to the Chroma server may take before it is an error (chromadb's
#: own client waits forever, which would freeze every page session behind the store lock).
SERVER_TIMEOUT_SECONDS = 120.0

#: Vectors per chromadb call (its batch limit is a few thousand).
_BATCH = 1000
#: Turns texts into vectors: what :meth:`Store.repair` needs to restore missing vectors.
Embed = Callable[[Sequence[str]], np.ndarray]
#: Chunks of a collection without a lexical row (rowid, text).
_UNINDEXED = (
    "SELECT c.rowid, c.text FROM chunks c LEFT JOIN chunks_fts f ON f.rowid = c.rowid "
    "WHERE c.collection = ? AND f.rowid IS NULL"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime REAL NOT NULL,
    pages INTEGER NOT NULL,
    chunks INTEGER NOT NULL,
    parser TEXT NOT NULL,
    ingested_at REAL NOT NULL,
    PRIMARY KEY (collection, path)
);
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    collection TEXT NOT NULL,
    path TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    page INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    flags TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_by_doc ON chunks (collection, path);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(
    terms, tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS collections (
    name TEXT PRIMARY KEY,
    embedder TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


_CHUNK_COLUMNS = "id, path, ordinal, page, start, end, text, flags"


def _chunk(row: Sequence[Any]) -> Chunk:
    """A chunk from a row of ``_CHUNK_COLUMNS``."""
    return Chunk(*row[:7], flags=tuple(filter(None, row[7].split(","))))


@dataclass
class Consistency:
    """How one collection's manifest, lexical index and vectors agree (``ragkit doctor``)."""

    collection: str
    documents: int
    chunks: int
    vectors: int
    #: Manifest chunk ids without a vector: retrieval by meaning cannot find them.
    missing_vectors: list[str] = field(default_factory=list)
    #: Vector ids the manifest does not list: never shown, but they take dense-search slots.
    orphan_vectors: list[str] = field(default_factory=list)
    #: Chunk rowids without a lexical (FTS) row.
    unindexed: list[int] = field(default_factory=list)
    #: FTS rowids without a chunk (the FTS table is shared, so every collection reports them).
    stray_terms: list[int] = field(default_factory=list)
    #: Paths whose chunk rows do not match the document's chunk count, or have no document row.
    miscounted: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing needs repair."""
        return not self.problems()

    def problems(self) -> list[str]:
        """One short phrase per kind of damage found."""
        found = [
            (len(self.missing_vectors), "chunks without a vector"),
            (len(self.orphan_vectors), "vectors of no listed chunk"),
            (len(self.unindexed), "chunks missing from the lexical index"),
            (len(self.stray_terms), "lexical rows of no chunk"),
            (len(self.miscounted), "documents whose chunk rows do not match"),
        ]
        return [f"{count} {what}" for count, what in found if count]


def _locked(method: Callable[..., T]) -> Callable[..., T]:
    """Run a Store method under the store's lock (one SQLite connection, many threads).

    In server mode a network failure becomes a one-line RagkitError naming the server.
    """

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> T:
        import httpx

        with self.lock:
            try:
                return method(self, *args, **kwargs)
            except httpx.HTTPError as exc:
                if self.endpoint is None:
                    raise
                raise ServerError(f"store server {self.endpoint.url}: {type(exc).__name__}: {exc}") from None

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
        self._synced: dict[str, float] = {}
        #: Server mode: per collection, the change token the mirror was last brought up to date with.
        self._mirrored: dict[str, str] = {}
        self._db = sqlite3.connect(self.manifest_dir / "ragkit.sqlite3", timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        if "flags" not in {row[1] for row in self._db.execute("PRAGMA table_info(chunks)")}:
            # Stores written before injection flags: their chunks are unflagged until re-ingested.
            self._db.execute("ALTER TABLE chunks ADD COLUMN flags TEXT NOT NULL DEFAULT ''")
        self._client: Any = None
        self._client_version = 0
        self._collections: dict[str, Any] = {}
        #: One connection serves every thread of the page; transactions must not interleave.
        self.lock = threading.RLock()

    # -- chromadb -------------------------------------------------------------------------

    def _chroma(self) -> Any:
        if self.endpoint is not None:
            if self._client is None:
                self._client = self._connect(self.endpoint)
            return self._client
        version = self._db.execute("PRAGMA data_version").fetchone()[0]
        if self._client is not None and version != self._client_version:
            self.reopen()  # another process committed documents: see its vectors too
        if self._client is None:
            self._client_version = version
            import chromadb

            self._client = chromadb.PersistentClient(path=str(self.data_dir / "chroma"), settings=_chroma_settings())
        return self._client

    @staticmethod
    def _connect(endpoint: Endpoint) -> Any:
        import chromadb

        try:
            endpoints.bypass_proxies(endpoint.host)  # chromadb's httpx reads proxy variables
            client = chromadb.HttpClient(
                host=endpoint.host, port=endpoint.port, ssl=endpoint.tls, settings=_chroma_settings()
            )
        except Exception as exc:  # noqa: BLE001 - connection errors surface as several types
            reason = str(exc) or type(exc).__name__
            raise ServerError(
                f"store server {endpoint.url}: cannot connect ({reason}); is `chroma run` listening there?"
            ) from None
        _limit_waits(client)
        return client

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
            return [name for name in self.names() if _has_documents(self._manifest(name))]
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

    # -- documents ------------------------------------------------------------------------

    @_locked
    def document(self, collection: str, path: str) -> DocumentInfo | None:
        """The manifest row of one file, or None."""
        self._sync(collection)
        row = self._db.execute(
            "SELECT path, sha256, size, mtime, pages, chunks, parser, ingested_at FROM documents "
            "WHERE collection = ? AND path = ?",
            (collection, path),
        ).fetchone()
        return DocumentInfo(*row) if row else None

    @_locked
    def documents(self, collection: str) -> list[DocumentInfo]:
        """Every document of a collection, by path."""
        self._sync(collection)
        rows = self._db.execute(
            "SELECT path, sha256, size, mtime, pages, chunks, parser, ingested_at FROM documents "
            "WHERE collection = ? ORDER BY path",
            (collection,),
        )
        return [DocumentInfo(*r) for r in rows]

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
        """Make ``chunks`` the document's only chunks (see the module docstring for the steps)."""
        info = replace(info, chunks=len(chunks))
        self._upsert(collection, chunks, vectors, {info.path: info.sha256})
        self._publish(collection, info)
        with self._db:
            self._write_rows(collection, info, chunks)
        self._drop_stale_vectors(collection, info.path, [c.id for c in chunks])

    def _write_rows(self, collection: str, info: DocumentInfo, chunks: Sequence[Chunk]) -> None:
        """Replace a document's manifest rows (inside the caller's transaction)."""
        self._delete_rows(collection, info.path)
        for c in chunks:
            cur = self._db.execute(
                "INSERT INTO chunks (id, collection, path, ordinal, page, start, end, text, flags) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (c.id, collection, c.doc_path, c.ordinal, c.page, c.start, c.end, c.text, ",".join(c.flags)),
            )
            self._index_terms(cur.lastrowid, c.text)
        self._db.execute(
            "INSERT INTO documents (collection, path, sha256, size, mtime, pages, chunks, parser, ingested_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (collection, *astuple(info)),
        )

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

    # -- server mode: the shared manifest and this process's mirror of it -----------------------

    def _publish(self, collection: str, info: DocumentInfo) -> None:
        """Server mode: make ``info`` the document's version for every reader (the commit point)."""
        manifest = self._manifest(collection) if self.endpoint is not None else None
        if manifest is not None:
            manifest.upsert(ids=[info.path], embeddings=[[1.0]], metadatas=[asdict(info)])
            _changed(manifest)

    def _sync(self, collection: str, *, force: bool = False) -> None:
        """Server mode: bring this collection's mirror up to date with the server's manifest."""
        if self.endpoint is None:
            return
        now = time.monotonic()
        if not force and now - self._synced.get(collection, -SYNC_SECONDS) < SYNC_SECONDS:
            return
        manifest = self._manifest(collection)
        token = _change_token(manifest) if manifest is not None else ""
        if token and not force and self._mirrored.get(collection) == token:
            self._synced[collection] = now
            return
        # The mirror before the server: a document this machine writes in between is then
        # mirrored twice (harmless), never deleted from the mirror as if the server lacked it.
        local = {
            r[0]: DocumentInfo(*r)
            for r in self._db.execute(
                "SELECT path, sha256, size, mtime, pages, chunks, parser, ingested_at FROM documents WHERE collection = ?",
                (collection,),
            )
        }
        got = manifest.get(include=["metadatas"]) if manifest is not None else {"ids": [], "metadatas": []}
        remote = {
            path: DocumentInfo(**meta)
            for path, meta in zip(got["ids"], got["metadatas"], strict=True)
            if path != CHANGES_ID
        }
        with self._db:
            for path in local.keys() - remote.keys():
                self._delete_rows(collection, path)
        complete = True
        for path, info in remote.items():
            have = local.get(path)
            if have is None or (have.sha256, have.chunks, have.ingested_at) != (
                info.sha256,
                info.chunks,
                info.ingested_at,
            ):
                complete = self._mirror(collection, info) and complete
            elif have.mtime != info.mtime:
                with self._db:
                    self._db.execute(
                        "UPDATE documents SET mtime = ? WHERE collection = ? AND path = ?",
                        (info.mtime, collection, path),
                    )
        self._synced[collection] = now
        if complete:  # else the next sync looks again, token or not
            self._mirrored[collection] = token

    def _mirror(self, collection: str, info: DocumentInfo) -> bool:
        """Copy one document's chunks from the server if all of its version are there; say whether it was."""
        col = self._vectors(collection)
        got = col.get(where={"path": info.path}, include=["documents", "metadatas"]) if col is not None else None
        rows = (
            [
                Chunk(
                    cid,
                    info.path,
                    m["ordinal"],
                    m["page"],
                    m["start"],
                    m["end"],
                    text,
                    tuple(filter(None, m["flags"].split(","))),
                )
                for cid, text, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
                if m.get("sha256") == info.sha256
            ]
            if got is not None
            else []
        )
        if len(rows) != info.chunks:
            log.debug("%s: %d of %d chunks on the server; not mirrored yet", info.path, len(rows), info.chunks)
            return False
        with self._db:
            self._write_rows(collection, info, sorted(rows, key=lambda c: c.ordinal))
        return True

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
            for path in [
                r[0] for r in self._db.execute("SELECT path FROM documents WHERE collection = ?", (collection,))
            ]:
                self._delete_rows(collection, path)
            self._db.execute("DELETE FROM collections WHERE name = ?", (collection,))

    @_locked
    def touch_document(self, collection: str, path: str, mtime: float) -> None:
        """Record a new mtime for a file whose content did not change."""
        info = self.document(collection, path)
        if info is not None:
            self._publish(collection, replace(info, mtime=mtime))
        with self._db:
            self._db.execute(
                "UPDATE documents SET mtime = ? WHERE collection = ? AND path = ?", (mtime, collection, path)
            )

    def _delete_rows(self, collection: str, path: str) -> None:
        self._db.execute(
            "DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks WHERE collection = ? AND path = ?)",
            (collection, path),
        )
        self._db.execute("DELETE FROM chunks WHERE collection = ? AND path = ?", (collection, path))
        self._db.execute("DELETE FROM documents WHERE collection = ? AND path = ?", (collection, path))

    @_locked
    def remove_document(self, collection: str, path: str) -> bool:
        """Delete one document and its vectors; False when it was not there."""
        if self.document(collection, path) is None:
            return False
        manifest = self._manifest(collection) if self.endpoint is not None else None
        if manifest is not None:
            manifest.delete(ids=[path])
            _changed(manifest)
        with self._db:
            self._delete_rows(collection, path)
        self._drop_stale_vectors(collection, path, ())
        return True

    # -- consistency ----------------------------------------------------------------------

    @_locked
    def check(self, collection: str) -> Consistency:
        """Compare the manifest of one collection with its lexical rows and its vectors."""
        self._sync(collection, force=True)
        db = self._db
        listed = {r[0] for r in db.execute("SELECT id FROM chunks WHERE collection = ?", (collection,))}
        col = self._vectors(collection)
        got = col.get(include=["metadatas"]) if col is not None else {"ids": [], "metadatas": []}
        stored = set(got["ids"])
        orphans = stored - listed
        if self.endpoint is not None:  # another machine's ingest may be writing: leave its vectors be
            cutoff = time.time() - ORPHAN_GRACE_SECONDS
            young = {
                i for i, m in zip(got["ids"], got["metadatas"], strict=True) if (m or {}).get("written_at", 0) > cutoff
            }
            orphans -= young
        documents = db.execute("SELECT count(*) FROM documents WHERE collection = ?", (collection,)).fetchone()[0]
        unindexed = db.execute(_UNINDEXED, (collection,))
        stray = db.execute("SELECT rowid FROM chunks_fts WHERE rowid NOT IN (SELECT rowid FROM chunks)")
        miscounted = db.execute(
            "SELECT path FROM documents d WHERE collection = ?1 AND chunks != "
            "(SELECT count(*) FROM chunks c WHERE c.collection = d.collection AND c.path = d.path) "
            "UNION SELECT path FROM chunks c WHERE collection = ?1 AND NOT EXISTS "
            "(SELECT 1 FROM documents d WHERE d.collection = c.collection AND d.path = c.path) ORDER BY 1",
            (collection,),
        )
        return Consistency(
            collection=collection,
            documents=documents,
            chunks=len(listed),
            vectors=len(stored),
            missing_vectors=sorted(listed - stored),
            orphan_vectors=sorted(orphans),
            unindexed=[r[0] for r in unindexed],
            stray_terms=[r[0] for r in stray],
            miscounted=[r[0] for r in miscounted],
        )

    @_locked
    def repair(self, collection: str, embed: Embed) -> Consistency:
        """Make a collection consistent again; returns what was found before the repair.

        A document whose rows do not match its count is marked changed (empty sha256) so that the
        next ingest replaces it; rows of no document are deleted; lexical rows are rebuilt from
        the chunk texts; missing vectors are embedded again from the texts in the manifest, and
        vectors of no listed chunk are deleted. Call it only while holding the write lock.
        """
        found = self.check(collection)
        if found.ok:
            return found
        with self._db:
            for path in found.miscounted:
                marked = self._db.execute(
                    "UPDATE documents SET sha256 = '' WHERE collection = ? AND path = ?", (collection, path)
                )
                if not marked.rowcount:
                    self._delete_rows(collection, path)
            self._db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(r,) for r in found.stray_terms])
            for rowid, text in self._db.execute(_UNINDEXED, (collection,)).fetchall():
                self._index_terms(rowid, text)
        vectors = self.check(collection)  # rows deleted above may have turned vectors into orphans
        for i in range(0, len(vectors.missing_vectors), _BATCH):
            chunks = list(self.chunks(collection, vectors.missing_vectors[i : i + _BATCH]).values())
            versions = {d.path: d.sha256 for d in self.documents(collection)}
            self._upsert(collection, chunks, embed([c.text for c in chunks]), versions)
        col = self._vectors(collection)
        for i in range(0, len(vectors.orphan_vectors), _BATCH):
            col.delete(ids=vectors.orphan_vectors[i : i + _BATCH])
        return found

    def _index_terms(self, rowid: int, text: str) -> None:
        self._db.execute("INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)", (rowid, lexical.index_text(text)))

    # -- search ---------------------------------------------------------------------------

    @_locked
    def chunks(self, collection: str, ids: Sequence[str]) -> dict[str, Chunk]:
        """Chunks by id, restricted to what the manifest lists (invisible orphans drop out)."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE collection = ? AND id IN ({marks})",
            (collection, *ids),
        )
        return {r[0]: _chunk(r) for r in rows}

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
            f"SELECT {_CHUNK_COLUMNS} FROM chunks WHERE collection = ? AND path = ? AND page = ? ORDER BY ordinal",
            (collection, path, page),
        )
        return [_chunk(r) for r in rows]

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
        """Close the SQLite connection (chromadb closes with the process)."""
        self._db.close()


def _chroma_settings() -> Any:
    """chromadb client settings: no telemetry, no reset endpoint, and nothing else from outside.

    chromadb's settings read ``CHROMA_*`` environment variables and a ``.env`` file in the working
    directory, which could name a trace collector or another API server; ``model_construct``
    takes chromadb's defaults and these two values only.
    """
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings.model_construct(anonymized_telemetry=False, allow_reset=False)


def _limit_waits(client: Any) -> None:
    """Give chromadb's HTTP session a timeout (:data:`SERVER_TIMEOUT_SECONDS`).

    chromadb offers no setting for it, so this sets its private httpx session's timeout, and
    does nothing should a later chromadb keep the session elsewhere.
    """
    import httpx

    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = httpx.Timeout(SERVER_TIMEOUT_SECONDS, connect=10.0)


def _changed(manifest: Any) -> None:
    """Server mode: tell every reader's next sync that a document record changed."""
    manifest.upsert(ids=[CHANGES_ID], embeddings=[[1.0]], metadatas=[{"token": uuid.uuid4().hex}])


def _change_token(manifest: Any) -> str:
    """The manifest's current change token; empty when none was ever written (then always sync)."""
    got = manifest.get(ids=[CHANGES_ID], include=["metadatas"])
    return str(got["metadatas"][0].get("token", "")) if got["ids"] else ""


def _has_documents(manifest: Any) -> bool:
    """True when the manifest holds a document record (not only the change record)."""
    return any(i != CHANGES_ID for i in manifest.get(limit=2, include=[])["ids"])
