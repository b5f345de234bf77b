"""The data dir's one writer at a time, and the repair after a writer that was killed.

chromadb's local store takes one writer process, and a killed writer can leave the store half
written (see the package docstring): the lock file says both who writes now (an exclusive
``flock``) and whether the last writer finished (it empties the file when it does).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreLockedError
from . import faults
from .consistency import Consistency
from .core import Embed, Store

log = logging.getLogger(__name__)


class Writer:
    """The write lock of one data dir over its :class:`Store`."""

    def __init__(self, data_dir: Path, store: Store, embed: Callable[[], Embed]) -> None:
        self.data_dir = data_dir
        self.store = store
        #: The embedder, asked for only when a repair must embed missing vectors again.
        self._embed = embed

    @property
    def lock_file(self) -> Path:
        """The data dir's write lock (created with the data dir)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir / "write.lock"

    @contextmanager
    def writing(self, wait: Callable[[], None] | None = None) -> Iterator[list[Consistency]]:
        """Hold the write lock; ``wait`` is called before blocking on another writer (without
        it a held lock raises :class:`StoreLockedError`).

        The lock file holds the writer's pid while it writes and is emptied when it finishes. A
        pid found there on entry means the last writer was killed: the store is checked and
        repaired before anything else is written, so a re-run ends as a clean run would; the
        context yields what that check found (nothing when the last writer finished).
        """
        with open(self.lock_file, "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if wait is None:
                    raise StoreLockedError(
                        f"{self.data_dir}: another ragkit process is writing to this store; try again when it ends"
                    ) from None
                wait()
                fcntl.flock(lock, fcntl.LOCK_EX)
            lock.seek(0)
            interrupted = lock.read().strip()
            lock.seek(0)
            lock.truncate()
            try:
                lock.write(str(os.getpid()))
                lock.flush()
            except OSError as exc:
                raise faults.unwritable(self.data_dir, exc) or exc from None
            self.store.reopen()  # vectors written by the last writer, not this process's old view
            yield self.repair(f"the last write (pid {interrupted}) was interrupted") if interrupted else []
            lock.truncate(0)  # finished cleanly; an exception above leaves the pid for the next writer

    def holder(self) -> tuple[bool, str]:
        """(whether a process holds the write lock now, the pid left in the lock file).

        A pid while nobody holds the lock is a writer that was killed: the next write (or
        ``ragkit doctor --repair``) checks and repairs the store first.
        """
        with open(self.lock_file, "a+") as lock:
            lock.seek(0)
            pid = lock.read().strip()
            try:
                fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True, pid
            return False, pid

    def check(self, *, repair: bool = False) -> list[Consistency]:
        """Compare manifest, lexical index and vectors of every collection; ``repair`` fixes them.

        Repairs take the write lock (waiting for a running ingest); without ``repair`` the check
        only reads, and may see a running ingest's work half done.
        """
        if not repair:
            return [self.store.check(name) for name in self.store.names()]
        with self.writing(wait=lambda: None) as recovered:
            return recovered or self.repair("repair asked for")

    def repair(self, why: str) -> list[Consistency]:
        """Repair every collection (holding the lock); log what was found and ``why``."""
        found = [self.store.repair(name, lambda texts: self._embed()(texts)) for name in self.store.names()]
        for damage in found:
            if not damage.ok:
                log.warning(
                    "%s: %s; repaired collection %r: %s",
                    self.data_dir,
                    why,
                    damage.collection,
                    ", ".join(damage.problems()),
                )
        return found
