"""How a collection's manifest, lexical index and vectors agree, and the manifest half of repair.

A killed writer can leave vectors the manifest does not list (invisible, but they take
dense-search slots) or, in principle, manifest rows without vectors; :func:`check` finds both,
and ``Store.repair`` fixes them, which the next writer does first after an interrupted one.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from . import manifest

#: Server mode: vectors that no mirrored document lists count as orphans (and repair deletes
#: them) only when written longer ago than this: younger ones may belong to an ingest still
#: running on another machine, whose record this machine has not seen yet.
ORPHAN_GRACE_SECONDS = 3600.0


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


def check(db: sqlite3.Connection, collection: str, vectors: Any | None, *, shared: bool) -> Consistency:
    """Compare one collection's rows with its chromadb collection ``vectors``; ``shared`` (a
    server other machines write to) spares vectors younger than :data:`ORPHAN_GRACE_SECONDS`."""
    listed = {r[0] for r in db.execute("SELECT id FROM chunks WHERE collection = ?", (collection,))}
    got = vectors.get(include=["metadatas"]) if vectors is not None else {"ids": [], "metadatas": []}
    stored = set(got["ids"])
    orphans = stored - listed
    if shared:  # another machine's ingest may be writing: leave its vectors be
        cutoff = time.time() - ORPHAN_GRACE_SECONDS
        orphans -= {
            i for i, m in zip(got["ids"], got["metadatas"], strict=True) if (m or {}).get("written_at", 0) > cutoff
        }
    documents = db.execute("SELECT count(*) FROM documents WHERE collection = ?", (collection,)).fetchone()[0]
    unindexed = db.execute(manifest.UNINDEXED, (collection,))
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


def repair_rows(db: sqlite3.Connection, collection: str, found: Consistency) -> None:
    """Fix the manifest side of what :func:`check` found.

    A document whose rows do not match its count is marked changed (empty sha256) so that the
    next ingest replaces it; rows of no document are deleted; lexical rows are rebuilt from the
    chunk texts.
    """
    with db:
        for path in found.miscounted:
            marked = db.execute(
                "UPDATE documents SET sha256 = '' WHERE collection = ? AND path = ?", (collection, path)
            )
            if not marked.rowcount:
                manifest.delete_rows(db, collection, path)
        db.executemany("DELETE FROM chunks_fts WHERE rowid = ?", [(r,) for r in found.stray_terms])
        for rowid, text in db.execute(manifest.UNINDEXED, (collection,)).fetchall():
            manifest.index_terms(db, rowid, text)
