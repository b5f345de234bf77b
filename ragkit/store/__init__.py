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
manifest rows without vectors; ``Store.check`` finds both and ``Store.repair`` fixes
them, which the next writer does first after an interrupted one (``store.writer.Writer``).

**Server mode** (``store_url``): vectors live on a Chroma server that several ragkit processes on
several machines share, so no single manifest can be the truth. The server is: each chunk's
vector carries its text, span, flags and its document's sha256, and a second server-side
collection (``<name>__manifest``) holds one record per document. Publishing that record is the
commit point: a writer upserts the new vectors, then the record, then deletes the old vectors.
The local SQLite file becomes a *mirror* (``<data dir>/servers/<host>-<port>/``) that each
process brings up to date before it reads (``mirror.Mirror.sync``, at most every
``SYNC_SECONDS``). That costs one small request while nothing changed: every writer sets
the manifest's change record (``CHANGES_ID``) to a new token after it changed a document
record, and only a new token makes a reader fetch the records. Documents whose record changed
are copied from the server, and only when all their vectors of that version are there, so a
reader sees a document old or new, never half. The FTS5 lexical index lives in that mirror,
which is why it always matches the server; processes sharing a data dir share the mirror
(SQLite serializes their updates, and applying a document twice is harmless). Vectors that no
mirrored document lists may be an ingest running on another machine, so ``check`` counts them
as orphans (and ``repair`` deletes them) only once they are older than
``ORPHAN_GRACE_SECONDS``. Two machines that write the same path (the same absolute path on
both) race as any two writers do: the last record wins, and ``ragkit doctor`` on the machine
that wrote it reports vectors left missing, which its ``ragkit doctor --repair`` embeds again
from that machine's mirror.

The package keeps each side in its own module: ``manifest`` (the SQLite tables and their
statements), ``chroma`` (how clients are opened), ``mirror`` (server mode's records and the
local mirror), ``consistency`` (check and the manifest half of repair) and ``core`` (the
:class:`Store` that ties them together behind one lock).
"""

from .chroma import SERVER_TIMEOUT_SECONDS
from .consistency import ORPHAN_GRACE_SECONDS, Consistency
from .core import Embed, Store
from .mirror import CHANGES_ID, SYNC_SECONDS

__all__ = [
    "CHANGES_ID",
    "ORPHAN_GRACE_SECONDS",
    "SERVER_TIMEOUT_SECONDS",
    "SYNC_SECONDS",
    "Consistency",
    "Embed",
    "Store",
]
