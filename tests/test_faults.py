"""Faults end in one line and an exit code, and a re-run makes the store whole.

Real subprocesses, the real embedder and a real chromadb store on disk. A full disk is a file
size limit (RLIMIT_FSIZE) on the ingest process: its writes fail with EFBIG as they would with
ENOSPC on a full file system, without needing a small mount.
"""

from __future__ import annotations

import random
import resource
import signal
import subprocess
import sys
from pathlib import Path

from ragkit import Ragkit, StoppedError, StoreError, load_settings

from .conftest import SAMPLE_DOCS, ragkit_cli
from .test_crash import SEED, Run, make_docs, snapshot

#: Bytes a file of the ingest under test may grow to: the empty store's files fit, the vectors
#: and manifest rows of the sample documents do not.
FILE_LIMIT = 400_000


def assert_one_line(stderr: str, expected: str) -> None:
    """The fault is reported as one ``Error:`` line, with no traceback."""
    assert "Traceback" not in stderr, stderr[-3000:]
    errors = [line for line in stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and expected in errors[0], stderr[-3000:]


def assert_like_clean_ingest(data: Path, docs: Path, tmp_path: Path) -> None:
    """The store holds what a clean ingest of ``docs`` holds, and its check finds nothing."""
    clean = tmp_path / "clean"
    done = ragkit_cli("--data-dir", str(clean), "ingest", "--quiet", str(docs))
    assert done.returncode == 0, done.stderr[-2000:]
    after, reference = snapshot(data), snapshot(clean)
    assert after["documents"] == reference["documents"]
    assert after["manifest"] == reference["manifest"] == after["vectors"]
    with Ragkit(load_settings({"data_dir": data})) as kit:
        assert [c.problems() for c in kit.check_store()] == [[]]


def test_disk_full_during_ingest_is_one_line_and_a_rerun_repairs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first = ragkit_cli("--data-dir", str(data), "ingest", "--quiet", str(SAMPLE_DOCS / "it_security_policy.md"))
    assert first.returncode == 0, first.stderr[-2000:]

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))

    full = subprocess.run(
        [sys.executable, "-m", "ragkit.cli", "--data-dir", str(data), "ingest", "--quiet", str(SAMPLE_DOCS)],
        preexec_fn=limit_file_size,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert full.returncode == StoreError.exit_code, full.stderr[-3000:]
    assert_one_line(full.stderr, f"{data}: cannot write the store (")

    again = ragkit_cli("--data-dir", str(data), "ingest", "--quiet", str(SAMPLE_DOCS))
    assert again.returncode == 0, again.stderr[-2000:]
    assert_like_clean_ingest(data, SAMPLE_DOCS, tmp_path)


def test_sigterm_during_ingest_is_one_line_and_a_rerun_repairs(tmp_path: Path) -> None:
    docs, data = tmp_path / "docs", tmp_path / "data"
    make_docs(docs, random.Random(SEED))
    run = Run(docs, data)
    assert run.writing.wait(timeout=300), run.stderr[-2000:]  # documents are being replaced now
    run.proc.send_signal(signal.SIGTERM)
    run.proc.wait(timeout=120)
    run.reader.join(timeout=10)
    assert run.proc.returncode == StoppedError.exit_code, run.stderr[-3000:]
    assert_one_line(run.stderr, f"{data}: ingest stopped by SIGTERM")

    again = ragkit_cli("--data-dir", str(data), "ingest", "--prune", "--quiet", str(docs))
    assert again.returncode == 0, again.stderr[-2000:]
    assert_like_clean_ingest(data, docs, tmp_path)
