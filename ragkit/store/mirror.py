"""Server mode: the server's document records, and this process's mirror of them.

With a Chroma server the server is the truth: each chunk's vector carries its text, span, flags
and its document's sha256, and a second server-side collection (``<name>__manifest``) holds one
record per document. Publishing that record is the commit point. The local SQLite manifest
becomes a mirror that :meth:`Mirror.sync` brings up to date before a read, at most every
:data:`SYNC_SECONDS`; while nothing changed that costs one small request, because every writer
sets the change record (:data:`CHANGES_ID`) to a new token after it changed a document record.
A document is mirrored only when all its vectors of that version are on the server, so a reader
sees it old or new, never half.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from ..records import Chunk, DocumentInfo
from . import manifest

log = logging.getLogger(__name__)

#: A reader refreshes its mirror of a collection at most this often (seconds).
SYNC_SECONDS = 1.0
#: The id of the manifest's change record, which every writer sets to a new random token after
#: it changed a document record. Readers fetch the (many) document records only when the token
#: differs from the one they last mirrored. Never a document path: those are absolute.
CHANGES_ID = "ragkit:changes"

#: A collection by name, or None when the server has none of that name.
OpenCollection = Callable[[str], Any | None]


def publish(records: Any, info: DocumentInfo) -> None:
    """Make ``info`` the document's version for every reader (the commit point)."""
    records.upsert(ids=[info.path], embeddings=[[1.0]], metadatas=[asdict(info)])
    changed(records)


def withdraw(records: Any, path: str) -> None:
    """Delete a document's record: every reader's next sync drops it."""
    records.delete(ids=[path])
    changed(records)


def changed(records: Any) -> None:
    """Tell every reader's next sync that a document record changed."""
    records.upsert(ids=[CHANGES_ID], embeddings=[[1.0]], metadatas=[{"token": uuid.uuid4().hex}])


def change_token(records: Any) -> str:
    """The current change token; empty when none was ever written (then always sync)."""
    got = records.get(ids=[CHANGES_ID], include=["metadatas"])
    return str(got["metadatas"][0].get("token", "")) if got["ids"] else ""


def has_documents(records: Any) -> bool:
    """True when the records hold a document (not only the change record)."""
    return any(i != CHANGES_ID for i in records.get(limit=2, include=[])["ids"])


class Mirror:
    """This process's copy of the server's records and chunks, in the local manifest."""

    def __init__(self, db: sqlite3.Connection, vectors: OpenCollection, records: OpenCollection) -> None:
        self._db = db
        self._vectors = vectors
        self._records = records
        self._synced: dict[str, float] = {}
        #: Per collection, the change token the mirror was last brought up to date with.
        self._mirrored: dict[str, str] = {}

    def sync(self, collection: str, *, force: bool = False) -> None:
        """Bring this collection's mirror up to date with the server's records."""
        now = time.monotonic()
        if not force and now - self._synced.get(collection, -SYNC_SECONDS) < SYNC_SECONDS:
            return
        records = self._records(collection)
        token = change_token(records) if records is not None else ""
        if token and not force and self._mirrored.get(collection) == token:
            self._synced[collection] = now
            return
        # The mirror before the server: a document this machine writes in between is then
        # mirrored twice (harmless), never deleted from the mirror as if the server lacked it.
        local = {d.path: d for d in manifest.documents(self._db, collection)}
        got = records.get(include=["metadatas"]) if records is not None else {"ids": [], "metadatas": []}
        remote = {
            path: DocumentInfo(**meta)
            for path, meta in zip(got["ids"], got["metadatas"], strict=True)
            if path != CHANGES_ID
        }
        with self._db:
            for path in local.keys() - remote.keys():
                manifest.delete_rows(self._db, collection, path)
        complete = True
        for path, info in remote.items():
            have = local.get(path)
            if have is None or (have.sha256, have.chunks, have.ingested_at) != (
                info.sha256,
                info.chunks,
                info.ingested_at,
            ):
                complete = self._copy(collection, info) and complete
            elif have.mtime != info.mtime:
                manifest.set_mtime(self._db, collection, path, info.mtime)
        self._synced[collection] = now
        if complete:  # else the next sync looks again, token or not
            self._mirrored[collection] = token

    def _copy(self, collection: str, info: DocumentInfo) -> bool:
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
            manifest.write_rows(self._db, collection, info, sorted(rows, key=lambda c: c.ordinal))
        return True
