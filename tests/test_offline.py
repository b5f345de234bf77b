"""Nothing leaves the machine: a full ingest + query opens no non-loopback connection.

The CLI runs in a subprocess with a fresh HOME. Python's audit hooks record every
``socket.connect`` and name lookup the interpreter makes; when strace is installed (CI installs
it), the kernel's view of ``connect`` from every thread and child process is checked too, which
also covers native code such as onnxruntime's telemetry threads.
"""

from __future__ import annotations

import ipaddress
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_socket import SocketBlockedError, disable_socket, enable_socket, socket_allow_hosts

from .conftest import SAMPLE_DOCS

RUNNER = r"""
import json, sys
log = open(sys.argv[1], "w")
def hook(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "socket.sendto"):
        log.write(json.dumps([event, repr(args)]) + "\n"); log.flush()
sys.addaudithook(hook)
from ragkit.cli import cli
for argv in (["ingest", "--quiet", sys.argv[2]], ["query", "--json", "How many days of annual leave do full-time employees get?"]):
    code = cli.main(argv, prog_name="ragkit", standalone_mode=False)
    if code:
        sys.exit(code)
"""

_INET = re.compile(r'sin_addr=inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback or (
        isinstance(ip, ipaddress.IPv6Address) and bool(ip.ipv4_mapped and ip.ipv4_mapped.is_loopback)
    )


def _outside_addresses(strace_log: str) -> list[str]:
    found = []
    for line in strace_log.splitlines():
        if "connect(" in line:
            for v4, v6 in _INET.findall(line):
                if not _loopback(v4 or v6):
                    found.append(line.strip())
    return found


@pytest.mark.llm
def test_ingest_and_query_make_no_outside_connection(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), RAGKIT_DATA_DIR=str(tmp_path / "data"))
    env.pop("XDG_CACHE_HOME", None)
    audit = tmp_path / "audit.jsonl"
    command = [sys.executable, "-c", RUNNER, str(audit), str(SAMPLE_DOCS)]
    strace = shutil.which("strace")
    trace = tmp_path / "strace.txt"
    if strace:
        command = [strace, "-f", "-qq", "-e", "trace=connect", "-o", str(trace), *command]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    assert '"answer"' in result.stdout

    events = audit.read_text().splitlines()
    lookups = [e for e in events if "getaddrinfo" in e or "gethostbyname" in e]
    assert lookups == [], f"name lookups: {lookups}"
    connects = [e for e in events if "socket.connect" in e]
    for event in connects:  # only unix sockets or loopback may be used
        assert "AF_UNIX" in event or "127.0.0.1" in event or "::1" in event or "'/" in event, event
    if strace:
        assert _outside_addresses(trace.read_text()) == []
    # chromadb's default embedding function would have fetched an ONNX model into ~/.cache/chroma.
    assert not (home / ".cache" / "chroma").exists()
    assert not (home / ".cache" / "huggingface").exists()


def test_strace_parser_flags_outside_addresses() -> None:
    log = (
        '12 connect(3, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("52.1.2.3")}, 16) = -1\n'
        '12 connect(4, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16) = 0\n'
        '12 connect(5, {sa_family=AF_INET6, sin6_port=htons(80), inet_pton(AF_INET6, "::1", &sin6_addr)}, 28) = 0\n'
        '12 connect(6, {sa_family=AF_UNIX, sun_path="/run/x.sock"}, 110) = 0\n'
    )
    assert len(_outside_addresses(log)) == 1 and "52.1.2.3" in _outside_addresses(log)[0]


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
