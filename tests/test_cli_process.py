"""The ``ragkit`` command as a longer-lived process runs it (tests, scripts), and as pip installs it."""

from __future__ import annotations

import os
import signal
import tomllib
from pathlib import Path

from click.testing import CliRunner

from ragkit.cli import cli

from .conftest import ROOT, SAMPLE_DOCS, ragkit_cli


def test_the_in_process_runner_reports_as_a_process_would(tmp_path: Path) -> None:
    done = ragkit_cli("--version")
    assert (done.returncode, done.stderr) == (0, "")  # a clean exit is no traceback
    empty = ragkit_cli("--data-dir", str(tmp_path), "search", "anything", env={"RAGKIT_COLLECTION": "elsewhere"})
    assert empty.returncode == 4 and empty.stderr.startswith("Error: ") and "elsewhere" in empty.stderr
    assert "RAGKIT_COLLECTION" not in os.environ  # the call's environment is gone again


def test_ingest_puts_the_sigterm_handler_back(tmp_path: Path) -> None:
    """``ingest`` turns SIGTERM into one line while it writes; afterwards the process's own
    handler is back, so a later SIGTERM does not claim to stop an ingest long finished."""
    before = signal.getsignal(signal.SIGTERM)
    file = SAMPLE_DOCS / "it_security_policy.md"
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "ingest", "-q", str(file)])
    assert result.exit_code == 0, result.output
    assert signal.getsignal(signal.SIGTERM) is before


def test_every_package_is_installed() -> None:
    """pyproject lists its packages by name: a new subpackage left out works in a development
    checkout and is missing from every real install."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in (ROOT / "ragkit").glob("**/__init__.py")}
    assert found <= listed, found - listed
