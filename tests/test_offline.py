"""Nothing leaves the machine: a full ingest + query opens no non-loopback connection.

The CLI runs in a subprocess with a fresh HOME. Python's audit hooks record every
``socket.connect`` and name lookup the interpreter makes; when strace is installed (CI installs
it), the kernel's view of ``connect`` from every thread and child process is checked too, which
also covers native code such as onnxruntime's telemetry threads. A whole page session (upload,
ask, read, in Chromium) is recorded the same way in tests/test_page_browser.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from pytest_socket import SocketBlockedError, disable_socket, enable_socket, socket_allow_hosts

from ragkit.privacy import Recorder, outside_connections, outside_events

from .conftest import SAMPLE_DOCS


@pytest.mark.llm
def test_ingest_and_query_make_no_outside_connection(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), RAGKIT_DATA_DIR=str(tmp_path / "data"))
    env.pop("XDG_CACHE_HOME", None)
    recorder = Recorder(tmp_path)
    run = recorder.run(
        [
            ["ingest", "--quiet", str(SAMPLE_DOCS)],
            ["query", "--json", "How many days of annual leave do full-time employees get?"],
        ],
        env,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert '"answer"' in run.stdout
    assert run.outside == []
    # chromadb's default embedding function would have fetched an ONNX model into ~/.cache/chroma.
    assert not (home / ".cache" / "chroma").exists()
    assert not (home / ".cache" / "huggingface").exists()


def test_strace_parser_flags_outside_addresses() -> None:
    log = (
        '12 connect(3, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("52.1.2.3")}, 16) = -1\n'
        '12 connect(4, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16) = 0\n'
        '12 connect(5, {sa_family=AF_INET6, sin6_port=htons(80), inet_pton(AF_INET6, "::1", &sin6_addr)}, 28) = 0\n'
        '12 connect(6, {sa_family=AF_INET6, sin6_port=htons(80), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr)}'
        ", 28) = 0\n"
        '12 connect(7, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110) = 0\n'
    )
    assert outside_connections(log) == ["connect to 52.1.2.3 port 443"]


def test_audit_log_flags_outside_connections_and_lookups() -> None:
    log = "\n".join(
        json.dumps(event)
        for event in (
            ["socket.connect", ["127.0.0.1", 8501]],
            ["socket.connect", "/run/x.sock"],
            ["socket.getaddrinfo", "localhost"],
            ["socket.getaddrinfo", None],
            ["socket.getaddrinfo", "192.0.2.1"],
            ["socket.connect", ["192.0.2.1", 9]],
            ["socket.getaddrinfo", "huggingface.co"],
        )
    )
    assert outside_events(log) == ["connect to 192.0.2.1 port 9", "name lookup of huggingface.co"]


def test_in_process_retrieval_with_sockets_limited_to_loopback(data_dir: Path) -> None:
    """pytest-socket: the embedder, chromadb and the store run with outside hosts blocked."""
    from ragkit import Ragkit, load_settings

    socket_allow_hosts(["127.0.0.1", "::1", "localhost"], allow_unix_socket=True)
    try:
        kit = Ragkit(load_settings({"data_dir": data_dir}))
        kit.ingest([SAMPLE_DOCS / "it_security_policy.md"])
        assert kit.retrieve("minimum password length")
        disable_socket(allow_unix_socket=True)
        with pytest.raises(SocketBlockedError):
            import socket

            socket.create_connection(("192.0.2.1", 443), timeout=0.1)
    finally:
        enable_socket()
