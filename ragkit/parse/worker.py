"""Parsing in a separate process, under a wall-clock timeout and a memory limit.

PDF and Office libraries can loop for minutes, allocate gigabytes, or crash in native code on
a hostile or broken file; none of that may take ingest down. A long-lived worker process
(started once, fed files over a socket) parses each file with ``RLIMIT_AS`` set; on timeout or
crash it is killed with everything it started (Tesseract included) and the next file gets a
fresh one.

The worker is a new interpreter (``python -m ragkit.parse.worker``), neither forked, since the
parent may already run torch's threads, nor started with multiprocessing's spawn, which would
re-import the caller's main script (a Streamlit page, a script without a ``__main__`` guard).
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import weakref
from multiprocessing.connection import Connection
from pathlib import Path

from ..errors import ParseError, RagkitError
from . import Parsed, parse_document, pdf_tables

#: Seconds a new worker may take to import the parsers and say it is ready.
_START_TIMEOUT = 60.0
_READY = "ready"
#: The worker's command line (``-c`` rather than ``-m``: the package is already imported then).
_BOOT = "import sys; from ragkit.parse.worker import main; main(sys.argv[1:])"


def _serve(conn: Connection, memory_mb: int, tables: bool) -> None:
    """Worker loop: (path, password) in, :class:`Parsed` or a skip reason (str) out; None ends."""
    pdf_tables.enabled = tables  # this process parses for one ingest run, with its settings
    limit = memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # no core files from a crashing parser
    conn.send(_READY)
    while (request := conn.recv()) is not None:
        path, password = request
        reply: Parsed | str
        try:
            reply = parse_document(Path(path), password)
        except ParseError as exc:
            reply = exc.reason
        except MemoryError:
            reply = f"too large: the parser needed over {memory_mb} MB"
        conn.send(reply)


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the worker's whole process group (a dead worker may leave a tesseract running)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    process.wait()


def _crash_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"corrupt: parser crashed (signal {-exitcode})"
    return f"corrupt: parser exited unexpectedly (status {exitcode})"


class ParseWorker:
    """Parses files one at a time in a limited child process; use as a context manager."""

    def __init__(self, timeout: float = 120.0, memory_mb: int = 2048, *, pdf_tables: bool = True) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.pdf_tables = pdf_tables
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._ended = False

    @property
    def pid(self) -> int | None:
        """Process id of the running worker, if one is running."""
        return self._process.pid if self._process is not None else None

    def _start(self) -> Connection:
        if self._ended:
            raise ParseError("", "ingest stopped")
        ours, theirs = socket.socketpair()
        with theirs:
            process = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(theirs.fileno()), str(self.memory_mb), str(int(self.pdf_tables))],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,  # parser libraries log warnings for every odd file
                start_new_session=True,  # its own process group, so a kill reaches tesseract too
            )
        conn = Connection(ours.detach())
        weakref.finalize(self, _kill, process)
        try:
            ready = conn.poll(_START_TIMEOUT) and conn.recv() == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            _kill(process)
            raise RagkitError(f"the parse worker process did not start (python: {sys.executable})")
        self._process, self._conn = process, conn
        return conn

    def _stop(self) -> int | None:
        """Kill the worker (a later parse starts a new one); its exit status."""
        process, conn, self._process, self._conn = self._process, self._conn, None, None
        if conn is not None:
            conn.close()
        if process is None:
            return None
        if process.poll() is None:
            _kill(process)
        return process.returncode

    def parse(self, path: Path, password: str | None = None) -> Parsed:
        """Parse ``path`` in the worker; ParseError with the reason for any failure."""
        conn = self._conn or self._start()
        try:
            conn.send((str(path), password))
            if not conn.poll(self.timeout):
                self._stop()
                raise ParseError(str(path), f"timeout: parsing took over {self.timeout:g} s")
            reply = conn.recv()
        except (EOFError, OSError):
            if self._process is not None:
                try:
                    self._process.wait(timeout=5)  # it died on its own: keep its exit status
                except subprocess.TimeoutExpired:
                    pass
            raise ParseError(str(path), _crash_reason(self._stop())) from None
        if isinstance(reply, str):
            raise ParseError(str(path), reply)
        return reply

    def end(self) -> None:
        """Kill the worker for good, from any thread: a parse in flight ends at once with an
        error, and no new worker starts (how an ingest that stops early stops its parse thread)."""
        self._ended = True
        process = self._process
        if process is not None and process.poll() is None:
            _kill(process)

    def close(self) -> None:
        """Ask the worker to exit, killing it if it does not within a few seconds."""
        if self._conn is not None and self._process is not None:
            try:
                self._conn.send(None)
                self._process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._stop()

    def __enter__(self) -> ParseWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(argv: list[str]) -> None:
    """Worker entry point: ``[socket fd, memory limit in MB, 1 to read PDF tables or 0]``."""
    _serve(Connection(int(argv[0])), int(argv[1]), argv[2] == "1")
