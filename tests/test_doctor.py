"""`ragkit doctor`: passes on a fresh store, fails on a deliberate outbound connection, repairs
a store damaged on purpose. Real CLI subprocesses, real chromadb, the real embedder and 0.5B.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import chromadb
import numpy as np
import pytest
from chromadb.config import Settings as ChromaSettings

from ragkit.doctor import SELFTEST_DOC
from ragkit.privacy import Recorder

from .conftest import SAMPLE_DOCS, ragkit_cli, ragkit_process

#: Imported by every Python process that inherits PYTHONPATH (the self-test subprocess too): it
#: reaches for a TEST-NET address at start-up and again from a background thread, as telemetry would.
OUTBOUND = """
import socket, threading

def reach_out():
    try:
        socket.create_connection(("192.0.2.1", 9), timeout=0.2)
    except OSError:
        pass

reach_out()
later = threading.Timer(1.0, reach_out)
later.daemon = True
later.start()
"""


def lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.strip()]


def outbound_env(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(OUTBOUND)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


@pytest.mark.llm
def test_doctor_passes_on_a_fresh_data_dir(data_dir: Path) -> None:
    # The self-test's answer is checked, so it runs with the default model (see test_query.default_kit).
    result = ragkit_process(
        "--data-dir", str(data_dir), "doctor", timeout=900, env={"RAGKIT_MODEL": "qwen2.5-coder-1.5b"}
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    report = lines(result.stdout)
    assert all(line.split()[0] in ("ok", "warn") for line in report), report
    assert any(line.startswith("ok") and "versions: python" in line and "chromadb" in line for line in report)
    assert any(f"data dir: {data_dir}" in line for line in report)
    assert any("qwen2.5-coder-1.5b (llm, in use)" in line and "sha256 verified" in line for line in report)
    assert any(line.startswith("ok") and "offline switches in force: HF_HUB_OFFLINE=1" in line for line in report)
    selftest = [line for line in report if "self-test" in line]
    assert len(selftest) == 1 and selftest[0].startswith("ok"), report
    assert "strace" in selftest[0] and "Marta" in selftest[0]


@pytest.mark.llm
def test_doctor_fails_on_a_deliberate_outbound_connection(data_dir: Path, tmp_path: Path) -> None:
    result = ragkit_process("--data-dir", str(data_dir), "doctor", "--json", env=outbound_env(tmp_path), timeout=900)
    assert result.returncode == 1, result.stdout + result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["ok"] is False
    failed = [c["what"] for c in report["checks"] if c["status"] == "FAIL"]
    assert len(failed) == 1 and "self-test" in failed[0] and "connect to 192.0.2.1 port 9" in failed[0], failed


def test_audit_hook_alone_catches_a_background_connection(tmp_path: Path) -> None:
    """Without strace, the audit hook still sees connections made once the runner started."""
    recorder = Recorder(tmp_path, use_strace=False)
    env = dict(os.environ, RAGKIT_DATA_DIR=str(tmp_path / "data"), **outbound_env(tmp_path))
    run = recorder.run([["ingest", "--quiet", str(SELFTEST_DOC)]], env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.method.startswith("audit hook")
    assert run.outside == ["connect to 192.0.2.1 port 9"]


def test_doctor_repair_fixes_a_damaged_store(data_dir: Path) -> None:
    ingested = ragkit_cli("--data-dir", str(data_dir), "ingest", "--quiet", str(SAMPLE_DOCS))
    assert ingested.returncode == 0, ingested.stderr[-2000:]

    client = chromadb.PersistentClient(
        path=str(data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    vectors = client.get_collection("default", embedding_function=None)
    ids = sorted(vectors.get(include=[])["ids"])
    removed = ids[:3]
    original = vectors.get(ids=removed, include=["embeddings"])
    original = dict(zip(original["ids"], original["embeddings"], strict=True))
    vectors.delete(ids=removed)
    vectors.add(ids=["orphan"], embeddings=[np.ones(384, dtype=np.float32)], documents=["stray"])
    client.close()
    db = sqlite3.connect(data_dir / "ragkit.sqlite3")
    with db:
        db.execute("DELETE FROM chunks_fts WHERE rowid = (SELECT max(rowid) FROM chunks)")
    db.close()
    (data_dir / "write.lock").write_text("999999")  # a writer that was killed

    check = ragkit_cli("--data-dir", str(data_dir), "doctor", "--no-self-test")
    assert check.returncode == 1
    assert "warn  write lock: pid 999999 was interrupted while writing" in check.stdout
    failed = [line for line in lines(check.stdout) if line.startswith("FAIL")]
    assert len(failed) == 1, check.stdout
    assert (
        "3 chunks without a vector, 1 vectors of no listed chunk, 1 chunks missing from the lexical index" in failed[0]
    )

    repair = ragkit_cli("--data-dir", str(data_dir), "doctor", "--repair", "--no-self-test")
    assert repair.returncode == 0, repair.stdout + repair.stderr[-2000:]
    assert "repaired 3 chunks without a vector" in repair.stdout

    again = ragkit_cli("--data-dir", str(data_dir), "doctor", "--no-self-test")
    assert again.returncode == 0, again.stdout
    assert "write lock: free" in again.stdout and "consistent" in again.stdout
    client = chromadb.PersistentClient(
        path=str(data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    restored = client.get_collection("default", embedding_function=None).get(ids=removed, include=["embeddings"])
    client.close()
    for cid, vector in zip(restored["ids"], restored["embeddings"], strict=True):
        assert np.allclose(vector, original[cid], atol=1e-5)  # the same embedder gives the same vectors
    found = ragkit_cli("--data-dir", str(data_dir), "search", "--json", "minimum password length")
    assert found.returncode == 0 and json.loads(found.stdout)
