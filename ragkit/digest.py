"""sha256 of a file, read in blocks: the version of a document and the identity of a model."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

_BLOCK = 8 * 1024 * 1024


def sha256_file(path: Path) -> str:
    """Hex sha256 of a regular file's content.

    The file is opened non-blocking and checked after opening: a path swapped for a FIFO or a
    device after discovery raises ``OSError`` instead of blocking or reading forever.
    """
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        while block := fh.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
