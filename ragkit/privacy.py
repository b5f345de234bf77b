"""Record the network use of a ragkit run: the evidence behind "nothing leaves the machine".

A run is recorded two ways at once. Python's audit hooks see every ``socket.connect`` and name
lookup the interpreter makes. When strace is installed, the kernel's view of ``connect`` from
every thread and child process is recorded too, which also covers native code (onnxruntime's
telemetry threads, the Streamlit server that ``ragkit ui`` starts) and code that runs before the
hook is installed (``sitecustomize``). Loopback and unix sockets are allowed, and so are the
servers the user named (``store_url``/``llm_url`` on hosts in ``allow_remote``); anything else,
and any lookup of another name than those and ``localhost``, is a finding. ``ragkit doctor`` and the tests use
this module.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .endpoints import is_loopback

#: Runs ragkit CLI commands (a JSON list of argv lists) under an audit hook that appends every
#: connection and name lookup to a JSON-lines file. Installed before ragkit is imported.
RUNNER = r"""
import json, sys
log = open(sys.argv[1], "a")
def hook(event, args):
    if event == "socket.connect":
        address = args[1]
    elif event in ("socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex"):
        address = args[0]
    elif event == "socket.sendto":
        address = args[-1]
    else:
        return
    address = list(address) if isinstance(address, tuple) else address
    log.write(json.dumps([event, address], default=repr) + "\n")
    log.flush()
sys.addaudithook(hook)
from ragkit.cli import cli
for argv in json.loads(sys.argv[2]):
    code = cli.main(argv, prog_name="ragkit", standalone_mode=False)
    if code:
        sys.exit(code)
"""

_INET = re.compile(r'sin_addr=inet_addr\("([^"]+)"\)|inet_pton\(AF_INET6, "([^"]+)"')
_PORT = re.compile(r"sin6?_port=htons\((\d+)\)")


def outside_connections(strace_log: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """``connect`` calls to non-loopback addresses not in ``allowed``, in ``strace -e trace=connect`` output."""
    found = []
    for line in strace_log.splitlines():
        if "connect(" not in line:
            continue
        for v4, v6 in _INET.findall(line):
            if not is_loopback(v4 or v6) and (v4 or v6) not in allowed:
                port = _PORT.search(line)
                found.append(f"connect to {v4 or v6}" + (f" port {port.group(1)}" if port else ""))
    return found


def outside_events(audit_log: str, allowed: frozenset[str] = frozenset()) -> list[str]:
    """Connections to non-loopback addresses and lookups of non-local names in the runner's log,
    except to the hosts and addresses in ``allowed``."""
    found = []
    for line in audit_log.splitlines():
        event, address = json.loads(line)
        if event in ("socket.connect", "socket.sendto"):
            if isinstance(address, list) and not is_loopback(str(address[0])) and str(address[0]) not in allowed:
                found.append(f"connect to {address[0]} port {address[1]}")
        elif address is not None and _remote_name(str(address)) and str(address) not in allowed:
            found.append(f"name lookup of {address}")
    return found


def _remote_name(host: str) -> bool:
    """A host name other than localhost (looking up an address literal asks no DNS server)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return not is_loopback(host)
    return False


@dataclass
class Recording:
    """What a recorded run did: its exit status, output, and every non-local network use."""

    returncode: int
    stdout: str
    stderr: str
    method: str
    outside: list[str] = field(default_factory=list)


class Recorder:
    """Wraps ragkit CLI commands so that their network use is logged under ``workdir``."""

    def __init__(self, workdir: Path, *, use_strace: bool = True, allowed: frozenset[str] = frozenset()) -> None:
        #: Hosts and addresses the user named as servers (see :func:`allowed_addresses`).
        self.allowed = allowed
        self.audit = workdir / "audit.jsonl"
        self.trace = workdir / "strace.txt"
        self.strace = shutil.which("strace") if use_strace else None
        self.method = "strace + audit hook" if self.strace else "audit hook (Python only; strace not installed)"

    def command(self, commands: Sequence[Sequence[str]]) -> list[str]:
        """The command line that runs ``ragkit ARGV`` for each argv in turn, recorded."""
        command = [sys.executable, "-c", RUNNER, str(self.audit), json.dumps([list(c) for c in commands])]
        if self.strace:
            # --seccomp-bpf: the kernel stops only connect() calls, not every system call.
            trace = ["-f", "-qq", "--seccomp-bpf", "-e", "trace=connect", "-e", "signal=none", "-o", str(self.trace)]
            command = [self.strace, *trace, *command]
        return command

    def findings(self) -> list[str]:
        """Non-local network use recorded so far, each naming the address."""
        found = outside_events(self.audit.read_text(), self.allowed) if self.audit.exists() else []
        if self.strace and self.trace.exists():
            found += outside_connections(self.trace.read_text(), self.allowed)
        return list(dict.fromkeys(found))

    def run(self, commands: Sequence[Sequence[str]], env: Mapping[str, str], timeout: float) -> Recording:
        """Run the commands to completion and return what they did."""
        done = subprocess.run(self.command(commands), env=dict(env), capture_output=True, text=True, timeout=timeout)
        return Recording(done.returncode, done.stdout, done.stderr, self.method, self.findings())


def allowed_addresses(hosts: Sequence[str]) -> frozenset[str]:
    """The named server hosts plus the addresses they resolve to (what strace reports)."""
    found = set(hosts)
    for host in hosts:
        try:
            found.update(str(info[4][0]) for info in socket.getaddrinfo(host, None))
        except OSError:
            pass  # unresolvable now: the recorded run cannot reach it either
    return frozenset(found)
