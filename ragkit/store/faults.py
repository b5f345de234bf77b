"""A store that cannot be written: one line naming the data dir, instead of a traceback.

A full disk (or a file size limit) surfaces from three places with three wordings: the OS
(``ENOSPC``, ``EFBIG``), SQLite ("database or disk is full", "disk I/O error") and chromadb's
Rust core, which wraps SQLite's words or reports a failed compaction. Nothing is lost: what a
failed write leaves is repaired by the next writer (see ``writer.Writer``).
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from ..errors import StoreError

#: OS errors that mean "no room to write", with the words a user knows them by.
_ERRNOS = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file size limit reached",
}
#: Lower-cased phrases SQLite and chromadb use when a write failed for lack of room.
_PHRASES = (
    "database or disk is full",
    "no space left on device",
    "file too large",
    "disk i/o error",
    "failed to apply logs",
    "disk quota exceeded",
)


def unwritable(data_dir: Path, exc: BaseException) -> StoreError | None:
    """The one-line error for ``exc`` when it means the store could not be written, else None."""
    reason = _ERRNOS.get(exc.errno) if isinstance(exc, OSError) and exc.errno is not None else None
    if reason is None and any(phrase in str(exc).lower() for phrase in _PHRASES):
        reason = str(exc).strip().splitlines()[-1][:160]
    if reason is None:
        return None
    try:
        free = f"{shutil.disk_usage(data_dir).free / 2**20:.0f} MB free there"
    except OSError:
        free = "free space unknown"
    return StoreError(
        f"{data_dir}: cannot write the store ({reason}; {free}): make room and run the command again "
        "(the next ingest repairs what this one left)"
    )
