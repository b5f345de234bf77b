"""The SQLite manifest: documents, chunk rows and the FTS5 lexical index of a data dir.

It is the source of truth in embedded mode and the mirror of the server's records in server
mode; either way these are the only statements that read or write its tables, so the column
lists exist once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import astuple
from pathlib import Path
from typing import Any

from .. import lexical
from ..records import Chunk, DocumentInfo

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

#: The columns of a :class:`Chunk`, in its field order.
CHUNK_COLUMNS = "id, path, ordinal, page, start, end, text, flags"
#: The columns of a :class:`DocumentInfo`, in its field order.
DOCUMENT_COLUMNS = "path, sha256, size, mtime, pages, chunks, parser, ingested_at"
#: Chunks of a collection without a lexical row (rowid, text).
UNINDEXED = (
    "SELECT c.rowid, c.text FROM chunks c LEFT JOIN chunks_fts f ON f.rowid = c.rowid "
    "WHERE c.collection = ? AND f.rowid IS NULL"
)


def connect(directory: Path) -> sqlite3.Connection:
    """Open (creating or upgrading) the manifest in ``directory``; one connection serves every
    thread of the process, so callers serialize on their own lock."""
    db = sqlite3.connect(directory / "ragkit.sqlite3", timeout=60, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    if "flags" not in {row[1] for row in db.execute("PRAGMA table_info(chunks)")}:
        # Stores written before injection flags: their chunks are unflagged until re-ingested.
        db.execute("ALTER TABLE chunks ADD COLUMN flags TEXT NOT NULL DEFAULT ''")
    return db


def chunk(row: Sequence[Any]) -> Chunk:
    """A chunk from a row of :data:`CHUNK_COLUMNS`."""
    return Chunk(*row[:7], flags=tuple(filter(None, row[7].split(","))))


def documents(db: sqlite3.Connection, collection: str, path: str | None = None) -> list[DocumentInfo]:
    """The document rows of a collection by path, or the one row of ``path``."""
    where, args = (
        ("collection = ?", (collection,)) if path is None else ("collection = ? AND path = ?", (collection, path))
    )
    rows = db.execute(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE {where} ORDER BY path", args)
    return [DocumentInfo(*r) for r in rows]


def index_terms(db: sqlite3.Connection, rowid: int, text: str) -> None:
    """Add one chunk's words to the lexical index."""
    db.execute("INSERT INTO chunks_fts (rowid, terms) VALUES (?, ?)", (rowid, lexical.index_text(text)))


def delete_rows(db: sqlite3.Connection, collection: str, path: str) -> None:
    """Delete a document's rows, its chunks and their lexical rows (inside the caller's transaction)."""
    db.execute(
        "DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks WHERE collection = ? AND path = ?)",
        (collection, path),
    )
    db.execute("DELETE FROM chunks WHERE collection = ? AND path = ?", (collection, path))
    db.execute("DELETE FROM documents WHERE collection = ? AND path = ?", (collection, path))


def write_rows(db: sqlite3.Connection, collection: str, info: DocumentInfo, chunks: Sequence[Chunk]) -> None:
    """Replace a document's rows (inside the caller's transaction)."""
    delete_rows(db, collection, info.path)
    for c in chunks:
        cur = db.execute(
            "INSERT INTO chunks (id, collection, path, ordinal, page, start, end, text, flags) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (c.id, collection, c.doc_path, c.ordinal, c.page, c.start, c.end, c.text, ",".join(c.flags)),
        )
        index_terms(db, cur.lastrowid, c.text)  # type: ignore[arg-type]
    db.execute(
        f"INSERT INTO documents (collection, {DOCUMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (collection, *astuple(info)),
    )


def set_mtime(db: sqlite3.Connection, collection: str, path: str, mtime: float) -> None:
    """Record a new mtime for a document whose content did not change (its own transaction)."""
    with db:
        db.execute("UPDATE documents SET mtime = ? WHERE collection = ? AND path = ?", (mtime, collection, path))
