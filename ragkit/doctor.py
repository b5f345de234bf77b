"""``ragkit doctor``: what is installed, where the data is, whether the store is whole, and proof
that a real ingest + query makes no connection beyond this machine.

Every check is one :class:`Check` (``ok``, ``warn`` or ``FAIL`` plus one line of text); doctor
passes when none failed. The self-test runs the real CLI in a subprocess with a temporary HOME
and data dir, recorded by :mod:`ragkit.privacy`, so it tests exactly what a user runs. With a
store server or model server configured, the self-test goes through them (in a collection of
its own, dropped afterwards), and connections to exactly those hosts are allowed.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from itertools import chain
from pathlib import Path

from . import models
from ._offline import OFFLINE_ENV
from .config import config_path
from .errors import RagkitError
from .library import Ragkit
from .llm import default_threads, gpu_layers, placement
from .privacy import Recorder, allowed_addresses

#: Distributions whose versions decide what ragkit does with your data.
PACKAGES = ("ragkit", "chromadb", "llama_cpp_python", "torch", "sentence-transformers", "pypdf")
#: The document the self-test ingests (shipped inside the package) and what it asks about it.
SELFTEST_DOC = Path(__file__).resolve().parent / "selftest.md"
SELFTEST_QUESTION = "Who is the keeper of the Harbor Point lighthouse?"
SELFTEST_TIMEOUT_S = 900


@dataclass
class Check:
    """One line of the report."""

    status: str  # "ok", "warn" or "FAIL"
    what: str

    def __str__(self) -> str:
        return f"{self.status:<4}  {self.what}"


def versions() -> Check:
    found = [f"python {platform.python_version()}"]
    missing = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    text = "versions: " + ", ".join(found) + (f"; not installed: {', '.join(missing)}" if missing else "")
    return Check("warn" if missing else "ok", text)


def paths(kit: Ragkit, config_file: Path | None) -> Iterator[Check]:
    settings = kit.settings
    config, _named = config_path(config_file)
    yield Check("ok", f"data dir: {settings.data_dir}")
    if settings.store_url:
        yield Check("ok", f"manifest and lexical index (mirror of the store server): {kit.store.manifest_dir}")
    yield Check("ok", f"models dir: {settings.models_dir}")
    yield Check("ok", f"config file: {config}" + ("" if config.is_file() else " (none; defaults apply)"))


#: Per server kind: the path that answers when the server is up.
_PROBES = {"store_url": "/api/v2/heartbeat", "llm_url": "/v1/models"}


def endpoint_checks(kit: Ragkit) -> Iterator[Check]:
    """Every server ragkit would connect to, whether it is this machine, and whether it answers."""
    import httpx

    settings = kit.settings
    named = settings.endpoints()
    if not named:
        yield Check("ok", "endpoints: none; embedded store and in-process model, no connection is made")
        return
    if settings.allow_remote:
        yield Check("ok", f"allow_remote: {', '.join(settings.allow_remote)}")
    for name, endpoint in named.items():
        base = endpoint.base.removesuffix("/v1")
        headers = (
            {"Authorization": f"Bearer {settings.llm_api_key}"} if name == "llm_url" and settings.llm_api_key else {}
        )
        try:
            response = httpx.get(base + _PROBES[name], timeout=10, trust_env=False, headers=headers)
            problem = "" if response.status_code < 400 else f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
        yield Check("FAIL" if problem else "ok", f"endpoint {endpoint}: " + (problem or "answers"))


def model_checks(kit: Ragkit) -> Iterator[Check]:
    """Every packaged model with its pinned sha256; the models in use are verified against it."""
    remote = bool(kit.settings.llm_url)  # the answer model is the server's; the embedder is still local
    try:
        if not remote:
            models.resolve_llm(kit.settings.model, kit.settings.models_dir, rehash=True)
        models.embedder_dir()
        verified = ""
    except RagkitError as exc:
        verified = str(exc)
    for row in kit.models():
        in_use = (row.name == kit.settings.model and not remote) or row.kind == "embedder"
        where = row.path if row.installed else "not installed"
        text = f"model {row.name} ({row.kind}{', in use' if in_use else ''}): sha256 {row.sha256}, {where}"
        if in_use and verified:
            yield Check("FAIL", f"{text}: {verified}")
        elif in_use:
            yield Check("ok", f"{text}, sha256 verified")
        else:
            yield Check("ok" if row.installed else "warn", text)
    if remote:
        yield Check("ok", f"answer model runs on: the model server {kit.settings.llm_url}")
    else:
        layers = gpu_layers(kit.settings.n_gpu_layers)
        where = placement(layers, kit.settings.n_threads or default_threads())
        yield Check(
            "ok", f"answer model runs on: {where}; flash attention {'on' if kit.settings.flash_attn else 'off'}"
        )


def offline_switches() -> Check:
    wrong = [f"{k}={os.environ.get(k)!r}" for k, v in OFFLINE_ENV.items() if os.environ.get(k) != v]
    if wrong:
        return Check("FAIL", f"offline switches not in force: {', '.join(wrong)}")
    return Check("ok", "offline switches in force: " + " ".join(f"{k}={v}" for k, v in OFFLINE_ENV.items()))


def store_checks(kit: Ragkit, repair: bool) -> Iterator[Check]:
    """The write lock, then each collection's counts and consistency (repaired with ``repair``)."""
    held, pid = kit.writer()
    stale = bool(pid) and not held
    if held:
        yield Check("warn", f"write lock: held by pid {pid or '?'} (an ingest is running; counts may be moving)")
    elif stale and repair:
        yield Check("ok", f"write lock: pid {pid} was interrupted while writing; store checked and repaired below")
    elif stale:
        yield Check("warn", f"write lock: pid {pid} was interrupted while writing; the next write repairs the store")
    else:
        yield Check("ok", "write lock: free")
    try:
        found = kit.check_store(repair=repair)
    except RagkitError as exc:
        yield Check("FAIL", f"store: {exc}")
        return
    if not found:
        yield Check("ok", "collections: none yet")
    for c in found:
        stats = f"collection {c.collection!r}: {c.documents} documents, {c.chunks} chunks, {c.vectors} vectors"
        if c.ok:
            yield Check("ok", f"{stats}; consistent")
        elif repair:
            yield Check("ok", f"{stats}; repaired {', '.join(c.problems())}")
        else:
            yield Check("FAIL", f"{stats}; {', '.join(c.problems())} (run `ragkit doctor --repair`)")


def self_test(kit: Ragkit) -> Check:
    """Ingest the bundled document and ask about it in a recorded subprocess with a fresh HOME."""
    settings = kit.settings
    servers = {e.host for e in settings.endpoints().values() if not e.local}
    collection = f"doctor-selftest-{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="ragkit-doctor-") as tmp:
        work = Path(tmp)
        (work / "home").mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAGKIT_") and k != "XDG_CACHE_HOME"}
        env |= settings.environment(("models_dir", "model", "store_url", "llm_url", "allow_remote", "llm_api_key"))
        env |= {
            "HOME": str(work / "home"),
            "XDG_CONFIG_HOME": str(work / "config"),
            "RAGKIT_DATA_DIR": str(work / "data"),
            "RAGKIT_COLLECTION": collection,
        }
        recorder = Recorder(work, allowed=allowed_addresses(sorted(servers)))
        commands = [["ingest", "--quiet", str(SELFTEST_DOC)], ["query", "--json", SELFTEST_QUESTION]]
        try:
            run = recorder.run(commands, env, SELFTEST_TIMEOUT_S)
        finally:
            if settings.store_url:
                kit.store.drop(collection)
    what = f"self-test (ingest + query in a subprocess, recorded by {run.method})"
    beyond = f"no connection beyond loopback{' and ' + ', '.join(sorted(servers)) if servers else ''}"
    if run.outside:
        return Check("FAIL", f"{what}: connections outside this machine: {'; '.join(run.outside)}")
    if run.returncode != 0:
        last = (run.stderr.strip().splitlines() or [""])[-1]
        return Check("FAIL", f"{what}: exited {run.returncode}: {last}")
    try:
        answer = json.loads(run.stdout[run.stdout.index("{") :])
    except ValueError:
        return Check("FAIL", f"{what}: no answer in the output: {run.stdout[-200:]!r}")
    text = " ".join(answer["answer"].split())
    status = "warn" if answer["declined"] else "ok"
    return Check(status, f"{what}: {beyond}; answer: {text[:100]!r}")


@dataclass
class Diagnosis:
    """Every check in the order it ran; it passes when none failed (warnings pass)."""

    checks: list[Check]

    @property
    def passed(self) -> bool:
        return all(c.status != "FAIL" for c in self.checks)

    def to_json(self) -> dict[str, object]:
        """The report as ``ragkit doctor --json`` prints it."""
        return {"ok": self.passed, "checks": [asdict(c) for c in self.checks]}


def run(
    kit: Ragkit,
    *,
    config_file: Path | None,
    repair: bool,
    self_test_run: bool,
    report: Callable[[Check], None] | None = None,
) -> Diagnosis:
    """Run every check, handing each to ``report`` as soon as it is known."""
    checks: list[Check] = []

    def add(check: Check) -> None:
        checks.append(check)
        if report:
            report(check)

    for check in chain(
        [versions()],
        paths(kit, config_file),
        endpoint_checks(kit),
        model_checks(kit),
        [offline_switches()],
        store_checks(kit, repair),
    ):
        add(check)
    if self_test_run:
        add(self_test(kit))
    return Diagnosis(checks)
