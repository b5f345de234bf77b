"""Shared fixtures: real parts everywhere (chromadb on disk, MiniLM, the 0.5B GGUF).

The fast packaged model answers in tests; packaged weights are assembled once into the normal
shared models dir, while every test store lives in a temporary data dir. The user's own config
file and data dir are kept out of the way.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from ragkit import Ragkit, load_settings
from ragkit.config import default_data_dir

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_DOCS = ROOT / "sample_docs"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEST_MODEL = "qwen2.5-coder-0.5b"


def ragkit_process(
    *args: str, env: Mapping[str, str] | None = None, input: str | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run the real ``ragkit`` command in a subprocess with ``env`` added to this process's
    environment (ragkit reads an empty ``RAGKIT_*`` value as unset): for what only a process
    shows (its start-up, its connections, signals, servers, locks held by another process)."""
    return subprocess.run(
        [sys.executable, "-m", "ragkit.cli", *args],
        env={**os.environ, **(env or {})},
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ragkit_cli(
    *args: str, env: Mapping[str, str] | None = None, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a ``ragkit`` command in this process with click's ``CliRunner``, as
    :func:`ragkit_process` would, minus the seconds a new process spends importing torch and
    loading the models (they stay loaded between calls).

    Like a process: ``env`` is added for the call only, stdout and stderr come apart, and an
    exception the command lets out is a traceback on stderr with exit 1, so "one line, no
    traceback" checks see what a user would. The environment and the SIGTERM handler are put
    back afterwards, whatever the command changed.
    """
    from click.testing import CliRunner

    from ragkit.cli import cli

    saved_env, saved_sigterm = dict(os.environ), signal.getsignal(signal.SIGTERM)
    try:
        result = CliRunner().invoke(cli, list(args), input=input, env=dict(env or {}), prog_name="ragkit")
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        signal.signal(signal.SIGTERM, saved_sigterm)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(*result.exc_info))
    return subprocess.CompletedProcess(["ragkit", *args], result.exit_code, result.stdout, stderr)


@pytest.fixture(scope="session", autouse=True)
def isolated_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No user config, the shared models dir, the fast model; restored afterwards."""
    saved = dict(os.environ)
    models_dir = os.environ.get("RAGKIT_MODELS_DIR") or str(default_data_dir() / "models")
    for name in list(os.environ):
        if name.startswith("RAGKIT_"):
            del os.environ[name]
    os.environ["XDG_CONFIG_HOME"] = str(tmp_path_factory.mktemp("xdg-config"))
    os.environ["RAGKIT_MODELS_DIR"] = models_dir
    os.environ["RAGKIT_MODEL"] = TEST_MODEL
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A fresh, empty store directory."""
    return tmp_path / "data"


@pytest.fixture
def docs_copy(tmp_path: Path) -> Path:
    """A private copy of sample_docs that a test may change."""
    target = tmp_path / "docs"
    shutil.copytree(SAMPLE_DOCS, target)
    return target


@pytest.fixture(scope="session")
def sample_kit(tmp_path_factory: pytest.TempPathFactory, isolated_env: None) -> Ragkit:
    """One store with sample_docs ingested, shared by the answer tests (the LLM loads once)."""
    data = tmp_path_factory.mktemp("sample-store")
    kit = Ragkit(load_settings({"data_dir": data}))
    report = kit.ingest([SAMPLE_DOCS])
    assert not report.failed, report.to_json()
    return kit


@pytest.fixture(scope="session")
def store_server(tmp_path_factory: pytest.TempPathFactory, isolated_env: None) -> Iterator[dict[str, str]]:
    """A real Chroma server on a free loopback port for the whole session, as a ``RAGKIT_STORE_URL`` value."""
    from .servers import chroma_server

    logs = tmp_path_factory.mktemp("store-server-logs")
    with chroma_server(tmp_path_factory.mktemp("chroma-server"), log_dir=logs) as store_url:
        yield {"RAGKIT_STORE_URL": store_url}


@pytest.fixture(scope="session")
def servers(
    store_server: dict[str, str], tmp_path_factory: pytest.TempPathFactory, isolated_env: None
) -> Iterator[dict[str, str]]:
    """The Chroma server and a real model server (llama-cpp-python's, the 0.5B) on free loopback
    ports, as ``RAGKIT_STORE_URL``/``RAGKIT_LLM_URL`` values; started only for tests that answer."""
    from ragkit import models
    from ragkit.llm import default_threads

    from .servers import model_server

    logs = tmp_path_factory.mktemp("model-server-logs")
    gguf, label = models.resolve_llm(TEST_MODEL, load_settings().models_dir)
    with model_server(gguf, label, threads=default_threads(), log_dir=logs) as llm_url:
        yield store_server | {"RAGKIT_LLM_URL": llm_url}
