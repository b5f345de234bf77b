"""Keep a collection in sync with watched folders (``ragkit watch``).

Why it is built this way:

- Every change goes through :meth:`Ragkit.ingest` and :meth:`Ragkit.remove`, which take the
  store's write lock and repair after a killed writer, so the watcher adds no store logic of its
  own and a watcher killed at any moment leaves a store the next write repairs.
- It starts with a full ingest with prune of the watched paths: whatever changed while it was
  not running (or was half written when it was killed) is caught up first, so a restarted
  watcher ends as a clean ``ragkit ingest --prune`` would. The observer is started before that
  ingest, so nothing that changes during it is missed.
- Events only mark a path as dirty; a path is handled once it has been quiet for ``debounce``
  seconds, so a file being written is read once, whole. What is done then depends on what is
  on disk, not on the event: a file is ingested, a folder is ingested with prune, a path that is
  gone is removed with everything stored under it. A rename is therefore "old path removed, new
  path ingested", and lost or reordered events cannot leave duplicates.
- watchdog's native observer (inotify) can fail to start (watch limit reached, some network
  file systems); the polling observer is used then, or always with ``poll``.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from .errors import StoreLockedError
from .parse import PARSERS
from .passwords import Passwords
from .records import FileResult

if TYPE_CHECKING:
    from .library import Ragkit

#: Called with what was done to one file (``added``, ``updated``, ``removed``, ``skipped``).
ChangeReport = Callable[[FileResult], None]
#: Called with one line about the watcher itself (observer kind, start, stop).
Note = Callable[[str], None]


class _Dirty(FileSystemEventHandler):
    """Remembers, per path, when an event last touched it (events arrive on watchdog's thread)."""

    def __init__(self, wanted: Callable[[Path], bool]) -> None:
        self.wanted = wanted
        self.lock = threading.Lock()
        self.touched: dict[Path, float] = {}

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return  # reads change nothing
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                path = Path(raw if isinstance(raw, str) else raw.decode())
                if self.wanted(path):
                    with self.lock:
                        self.touched[path] = time.monotonic()

    def quiet(self, seconds: float) -> list[Path]:
        """Paths untouched for ``seconds``, taken off the list."""
        now = time.monotonic()
        with self.lock:
            ready = sorted(p for p, t in self.touched.items() if now - t >= seconds)
            for path in ready:
                del self.touched[path]
        return ready

    def again(self, path: Path) -> None:
        """Put a path back (the store was locked by another writer): try it after the next quiet spell."""
        with self.lock:
            self.touched.setdefault(path, time.monotonic())


class Watcher:
    """One watch session over some folders (or files) for one collection."""

    def __init__(
        self,
        kit: Ragkit,
        paths: Iterable[str | Path],
        *,
        collection: str | None = None,
        debounce: float = 1.0,
        poll: bool = False,
        on_change: ChangeReport | None = None,
        on_note: Note | None = None,
        passwords: Passwords | None = None,
    ) -> None:
        self.kit = kit
        self.roots = [Path(p).expanduser().resolve() for p in paths]
        self.collection = collection
        self.debounce = debounce
        self.poll = poll
        self.on_change = on_change or (lambda _result: None)
        self.on_note = on_note or (lambda _line: None)
        self.passwords = passwords
        self.stop = threading.Event()
        self.dirty = _Dirty(self._wanted)

    def _wanted(self, path: Path) -> bool:
        """A path ingest would read from a watched folder: a supported, non-hidden file (or a folder)."""
        for root in self.roots:
            if path == root:
                return True
            if root in path.parents:
                inside = path.relative_to(root).parts
                if any(part.startswith(".") for part in inside):
                    return False  # hidden entries and editors' swap files, as ingest passes them over
                return path.is_dir() or path.suffix.lower() in PARSERS or not path.exists()
        return False

    def _observer(self) -> Observer | PollingObserver:
        """The native observer, or the polling one when asked for or when the native one cannot start."""
        if not self.poll:
            native = Observer()
            try:
                self._schedule(native)
                native.start()
                return native
            except OSError as exc:
                self.on_note(f"native file events unavailable ({exc}); polling instead")
        polling = PollingObserver(timeout=max(0.2, min(1.0, self.debounce)))
        self._schedule(polling)
        polling.start()
        return polling

    def _schedule(self, observer: Observer | PollingObserver) -> None:
        for root in self.roots:
            if root.is_dir():
                observer.schedule(self.dirty, str(root), recursive=True)
            else:  # a single file: watch its folder, events are filtered to the file by _wanted
                observer.schedule(self.dirty, str(root.parent), recursive=False)

    def _ingest(self, paths: list[Path], *, prune: bool) -> None:
        report = self.kit.ingest(
            paths, collection=self.collection, prune=prune, on_wait=lambda: None, passwords=self.passwords
        )
        for result in report.files:
            if result.status != "unchanged":
                self.on_change(result)

    def _gone(self, path: Path) -> None:
        """Remove the stored document at ``path`` and every one under it (a folder that vanished)."""
        for doc in self.kit.sources(self.collection):
            stored = Path(doc.path)
            if (stored == path or path in stored.parents) and self.kit.remove(stored, self.collection):
                self.on_change(FileResult(doc.path, "removed"))

    def _handle(self, path: Path) -> None:
        if path.is_file():
            self._ingest([path], prune=False)
        elif path.is_dir():
            self._ingest([path], prune=True)
        else:
            self._gone(path)

    def run(self) -> None:
        """Sync once, then follow changes until :attr:`stop` is set (SIGINT and SIGTERM set it)."""
        restore = self._trap_signals()
        observer = self._observer()
        try:
            self.on_note(f"syncing {', '.join(str(r) for r in self.roots)}")
            self._ingest(self.roots, prune=True)
            kind = "polling" if isinstance(observer, PollingObserver) else "file events"
            self.on_note(f"watching ({kind}, debounce {self.debounce:g}s); Ctrl-C stops")
            while not self.stop.wait(min(0.2, self.debounce / 2 or 0.05)):
                for path in self.dirty.quiet(self.debounce):
                    if self.stop.is_set():
                        break
                    try:
                        self._handle(path)
                    except StoreLockedError:
                        self.dirty.again(path)
        finally:
            observer.stop()
            observer.join(timeout=5)
            restore()
            self.on_note("stopped")

    def _trap_signals(self) -> Callable[[], None]:
        """Ctrl-C and SIGTERM end the loop between changes rather than in the middle of a write."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None  # signals reach the main thread only; the caller sets stop
        handler = lambda *_: self.stop.set()  # noqa: E731
        saved = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
        return lambda: [signal.signal(sig, old) for sig, old in saved.items()] and None
