"""Paths -> the files ingest may read, chosen safely.

A folder of real files holds more than documents: symlinks that lead out of it (to ``~/.ssh``,
to ``/``), FIFOs and devices that block or never end when opened, and files too large to parse.
Discovery decides what is read before anything is opened:

- symlinks are not followed unless asked (``--follow-symlinks``), and then only when their
  target lies inside the folder being ingested; a file reached twice is read once;
- FIFOs, sockets and devices are skipped, never opened;
- files over the size cap are skipped;
- hidden entries and unsupported file types inside folders are passed over silently; a path
  named explicitly is reported whatever is wrong with it.

Every skip is a :class:`~ragkit.records.FileResult` with a reason, so the ingest report says why.
An upload (a name a client chose) gets a safe file name before it is stored.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import parse
from .records import FileResult

_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


@dataclass(frozen=True)
class Limits:
    """What discovery lets through."""

    follow_symlinks: bool = False
    max_file_bytes: int = 200 * 1024 * 1024


def special_kind(mode: int) -> str | None:
    """``"a FIFO"``, ``"a socket"``, … for a file that is not regular (nor a directory)."""
    return _KINDS.get(stat.S_IFMT(mode))


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


@dataclass
class _Walk:
    """One discovery run: files found in order, problems, and real paths already taken."""

    limits: Limits
    #: Accepted files by real path: the path they are keyed by, and whether a link led there.
    found: dict[Path, tuple[Path, bool]] = field(default_factory=dict)
    problems: list[FileResult] = field(default_factory=list)
    #: Real paths of folders already walked (a link loop ends there).
    seen: set[Path] = field(default_factory=set)

    def skip(self, path: Path, reason: str) -> None:
        self.problems.append(FileResult(str(path), "skipped", reason=reason))

    def take(self, path: Path, size: int, via_link: bool = False) -> None:
        """Accept a regular file unless it is too large; a file reached twice is kept once,
        under its own path rather than a link's."""
        real = path.resolve()
        if real in self.found:
            if self.found[real][1] and not via_link:
                self.found[real] = (path, False)
            return
        if size > self.limits.max_file_bytes:
            cap = self.limits.max_file_bytes / 1024 / 1024
            self.skip(path, f"too large: {size / 1024 / 1024:.1f} MB, over the {cap:g} MB limit (max_file_mb)")
        else:
            self.found[real] = (path, via_link)

    def folder(self, folder: Path, root: Path) -> None:
        """Walk ``folder`` (inside ``root``) in name order, without opening any file."""
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            self.skip(folder, f"cannot read folder: {exc.strerror}")
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                self.link(path, root)
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError as exc:
                self.skip(path, f"cannot read: {exc.strerror}")
                continue
            if stat.S_ISDIR(info.st_mode):
                self.seen.add(path.resolve())
                self.folder(path, root)
            elif stat.S_ISREG(info.st_mode):
                if parse.supported(path):
                    self.take(path, info.st_size)
            else:
                self.skip(path, f"not a regular file ({special_kind(info.st_mode) or 'unknown type'})")

    def link(self, path: Path, root: Path) -> None:
        """A symlink inside a walked folder: followed only when allowed and when it stays inside."""
        is_dir = path.is_dir()
        if not is_dir and not parse.supported(path):
            return
        if not self.limits.follow_symlinks:
            self.skip(path, "symlink: not followed (use --follow-symlinks to follow links inside the folder)")
            return
        target = path.resolve()
        if not _inside(target, root):
            self.skip(path, f"symlink: points outside {root} (to {target})")
        elif not target.exists():
            self.skip(path, "symlink: broken")
        elif is_dir:
            if target not in self.seen:  # a link loop or a second way into a folder already walked
                self.seen.add(target)
                self.folder(path, root)
        else:
            self.named(path, via_link=True)

    def named(self, path: Path, via_link: bool = False) -> None:
        """A file the user named (or a followed link to one): anything wrong with it is reported."""
        try:
            info = path.stat()
        except OSError as exc:
            self.skip(path, f"cannot read: {exc.strerror}")
            return
        if not stat.S_ISREG(info.st_mode):
            self.skip(path, f"not a regular file ({special_kind(info.st_mode) or 'unknown type'})")
        elif not parse.supported(path):
            self.skip(path, f"unsupported file type {path.suffix or '(none)'}")
        else:
            self.take(path, info.st_size, via_link)


def discover(paths: Iterable[Path], limits: Limits | None = None) -> tuple[list[Path], list[FileResult]]:
    """Files to ingest under ``paths`` (folders walked recursively), plus what was skipped and why.

    A folder's files keep their path under the folder's real location (that path is the
    document's key); a file named explicitly is keyed by its real path.
    """
    walk = _Walk(limits or Limits())
    for given in paths:
        path = Path(given).expanduser()
        if not os.path.lexists(path):
            walk.skip(path, "not found")
        elif path.is_dir():
            root = path.resolve()
            walk.seen.add(root)
            walk.folder(root, root)
        else:
            walk.named(path.resolve() if path.exists() else path)
    return [path for path, _ in walk.found.values()], walk.problems


#: Characters allowed in stored upload names; anything else becomes "_".
_SAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)
#: Longest stored upload name, in characters (file systems allow 255 bytes).
_MAX_NAME = 120


def upload_name(client_name: str) -> str:
    """A safe file name for an upload: the client's base name with anything but letters,
    digits, ``.``, ``_``, ``-`` and spaces replaced, shortened, never a path or a dot file."""
    base = _SAFE_NAME.sub("_", Path(client_name.replace("\\", "/")).name).strip("._ ") or "upload"
    stem, suffix = os.path.splitext(base)
    return stem[: _MAX_NAME - len(suffix[:16])] + suffix[:16]
