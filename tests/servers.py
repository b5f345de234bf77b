"""Real team backends on loopback, for tests and benchmarks: a Chroma server and a model server.

Each context manager starts the real server as a child process on a free loopback port, waits
until it answers its readiness URL, yields the base URL (``http://127.0.0.1:PORT``) and stops
it on exit (SIGTERM to its process group, SIGKILL after a grace period). The server's output
goes to ``<name>.log`` in ``log_dir`` (a temporary dir when not given, kept only when the start
fails); when the server dies or is not ready in time, the error carries the tail of that log.

No pytest here: ``benchmarks/load.py`` imports this module as ``tests.servers``. Example::

    with chroma_server(tmp / "chroma") as store_url, model_server(gguf, "qwen", threads=2) as llm_url:
        ...
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from ragkit._offline import OFFLINE_ENV
from ragkit.config import Settings
from ragkit.serve import free_port

HOST = "127.0.0.1"
#: Seconds a server gets to exit after SIGTERM before it is killed.
GRACE_SECONDS = 10.0
#: Bytes of the server log quoted in an error.
LOG_TAIL_BYTES = 4000
#: Start attempts: another process may take the free port between choosing it and binding it.
START_ATTEMPTS = 3

#: Direct connections only: a proxy from the environment must not see loopback traffic.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class ServerError(RuntimeError):
    """A server did not start: it exited, or it was not ready in time. The message ends with its log."""


def chroma_executable() -> Path:
    """The ``chroma`` command installed next to this interpreter, else the first one on PATH."""
    beside = Path(sys.executable).parent / "chroma"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("chroma")
    if found is None:
        raise ServerError(f"no chroma command next to {sys.executable} or on PATH: pip install chromadb")
    return Path(found)


def log_tail(log: Path, size: int = LOG_TAIL_BYTES) -> str:
    """The last ``size`` bytes of ``log`` as text ('' when it does not exist)."""
    try:
        with log.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - size))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""


def answers_200(url: str, timeout: float = 2.0) -> bool:
    """True when a GET of ``url`` answers HTTP 200 (no proxy, no exception)."""
    try:
        with _OPENER.open(url, timeout=timeout) as response:
            return int(response.status) == 200
    except (OSError, urllib.error.URLError, ValueError):
        return False


def stop(process: subprocess.Popen[bytes], grace: float = GRACE_SECONDS) -> int | None:
    """SIGTERM the process group of ``process`` (started in its own session), SIGKILL after ``grace`` s."""
    if process.poll() is not None:
        return process.returncode
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            return process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
    return process.poll()


def _start_and_wait(
    name: str, command: Sequence[str], ready_path: str, port: int, log: Path, timeout: float, env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """Start ``command``, poll ``ready_path`` until 200; the process, or ServerError (process stopped)."""
    with log.open("ab") as out:
        out.write(f"$ {' '.join(command)}\n".encode())
        out.flush()
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            start_new_session=True,  # its own process group: stop() reaches any children too
        )
    url = f"http://{HOST}:{port}{ready_path}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if answers_200(url):
                return process
            code = process.poll()
            if code is not None:
                raise ServerError(f"{name} exited with code {code} before {url} answered; log {log}:\n{log_tail(log)}")
            if time.monotonic() > deadline:
                raise ServerError(f"{name} not ready at {url} after {timeout:g} s; log {log}:\n{log_tail(log)}")
            time.sleep(0.2)
    except BaseException:
        stop(process)
        raise


@contextmanager
def _server(
    name: str,
    build: Callable[[int], list[str]],
    ready_path: str,
    log_dir: Path | None,
    timeout: float,
    env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Run the server ``build(port)`` describes; yield its base URL; stop it on exit.

    Without ``log_dir`` the log goes to a temporary dir, removed when the server stops cleanly
    and kept (its path is in the error) when it fails to start.
    """
    folder = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix=f"ragkit-{name}-"))
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / f"{name}.log"
    for attempt in range(1, START_ATTEMPTS + 1):
        port = free_port(HOST)
        try:
            process = _start_and_wait(name, build(port), ready_path, port, log, timeout, env or {})
            break
        except ServerError as exc:
            # Only a lost race for the port is worth another try; anything else is final.
            if attempt == START_ATTEMPTS or "address already in use" not in str(exc).lower():
                raise
    try:
        yield f"http://{HOST}:{port}"
    finally:
        stop(process)
        if log_dir is None:
            shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def chroma_server(path: Path, *, log_dir: Path | None = None, timeout: float = 60.0) -> Iterator[str]:
    """A Chroma server persisting to ``path`` (``chroma run``); yields ``http://127.0.0.1:PORT``.

    Ready when ``/api/v2/heartbeat`` answers 200. Telemetry is switched off in its environment.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    exe = chroma_executable()

    def build(port: int) -> list[str]:
        return [str(exe), "run", "--path", str(path), "--host", HOST, "--port", str(port)]

    with _server("chroma", build, "/api/v2/heartbeat", log_dir, timeout, env=OFFLINE_ENV) as url:
        yield url


@contextmanager
def model_server(
    gguf: Path,
    alias: str,
    threads: int,
    *,
    n_ctx: int = 4096,
    interrupt_requests: bool = False,
    log_dir: Path | None = None,
    timeout: float = 120.0,
) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server for ``gguf`` under the name ``alias``.

    Runs ``python -m llama_cpp.server`` with this interpreter (its ``[server]`` extra must be
    installed) and ``threads`` threads (its own default is 1). Ready when ``/v1/models`` answers
    200; yields ``http://127.0.0.1:PORT`` (the API is below ``/v1``).

    ``interrupt_requests`` is the server's own switch, off here: left at its default (on), the
    server ends a streaming answer early, as if complete, whenever another request is waiting,
    so concurrent users get truncated answers.
    """
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    gguf = Path(gguf)
    if not gguf.is_file():
        raise ServerError(f"{gguf}: no such GGUF file")

    def build(port: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--model_alias",
            alias,
            "--host",
            HOST,
            "--port",
            str(port),
            "--n_ctx",
            str(n_ctx),
            "--n_threads",
            str(threads),
            "--interrupt_requests",
            str(interrupt_requests),
            "--flash_attn",
            str(Settings.flash_attn),  # as ragkit loads the model, so both compute alike
        ]

    with _server("model", build, "/v1/models", log_dir, timeout, env=OFFLINE_ENV) as url:
        yield url


def _main() -> None:
    """``python -m tests.servers``: start both servers with the test model, print URLs, run until Ctrl-C or SIGTERM."""
    from ragkit import models
    from ragkit.config import load_settings

    # Ctrl-C and SIGTERM both stop the servers (a background job may start with SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    gguf, label = models.resolve_llm("qwen2.5-coder-0.5b", load_settings().models_dir)
    with tempfile.TemporaryDirectory(prefix="ragkit-servers-") as tmp:
        with (
            chroma_server(Path(tmp) / "chroma", log_dir=Path(tmp)) as store,
            model_server(gguf, label, threads=2, log_dir=Path(tmp)) as llm,
        ):
            print(f"store_url {store}\nllm_url   {llm}\nlogs      {tmp}", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except (KeyboardInterrupt, SystemExit):
                pass


if __name__ == "__main__":
    _main()
