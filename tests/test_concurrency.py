"""Two writers and readers on one data dir, as real processes.

chromadb's local store takes one writer process: a second ``ingest`` waits for the write lock
(or exits with code 5 under ``--no-wait``). Readers keep working while an ingest writes, in new
processes and in a long-lived one (the page), which must also see what the writer added.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ragkit import Ragkit, load_settings

from .conftest import SAMPLE_DOCS, ragkit_process
from .test_crash import snapshot, write_note

#: Found in exactly one note, which the background ingest adds.
NEEDLE = "The Kestrel Island ferry timetable is kept by harbour master Ilse Brandt."


def background_ingest(docs: Path, data_dir: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "ragkit.cli", "--data-dir", str(data_dir), "ingest", "--quiet", *extra, str(docs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_writer(data_dir: Path, proc: subprocess.Popen[str]) -> None:
    """Until ``proc`` holds the write lock (its pid is in the lock file)."""
    lock = data_dir / "write.lock"
    deadline = time.monotonic() + 120
    while not (lock.exists() and lock.read_text().strip() == str(proc.pid)):
        assert proc.poll() is None and time.monotonic() < deadline, "the first ingest never took the write lock"
        time.sleep(0.05)


@pytest.fixture
def notes(tmp_path: Path) -> Path:
    """Enough text that an ingest writes for several seconds, one note holding NEEDLE."""
    folder = tmp_path / "notes"
    folder.mkdir()
    rng = random.Random(7)
    for i in range(10):
        write_note(folder / f"note_{i:02}.txt", rng, 14)
    (folder / "ferry.md").write_text(f"# Ferry\n\n{NEEDLE}\n", encoding="utf-8")
    return folder


def test_second_writer_waits_or_exits_and_no_duplicates(notes: Path, data_dir: Path) -> None:
    first = background_ingest(notes, data_dir)
    wait_for_writer(data_dir, first)

    refused = ragkit_process("--data-dir", str(data_dir), "ingest", "--no-wait", "--quiet", str(notes))
    assert refused.returncode == 5, refused.stderr
    assert "another ragkit process is writing to this store" in refused.stderr

    second = background_ingest(notes, data_dir)
    _, second_err = second.communicate(timeout=600)
    _, first_err = first.communicate(timeout=600)
    assert first.returncode == 0, first_err[-2000:]
    assert second.returncode == 0, second_err[-2000:]
    assert "waiting for it to finish" in second_err
    assert "0 added, 0 updated, 11 unchanged" in second_err  # it ran after the first one, not alongside

    store = snapshot(data_dir)
    assert store["manifest_rows"] == len(store["manifest"]) and store["vectors"] == store["manifest"]
    assert [c.problems() for c in Ragkit(load_settings({"data_dir": data_dir})).check_store()] == [[]]


@pytest.mark.llm
def test_readers_work_while_an_ingest_writes(notes: Path, data_dir: Path) -> None:
    ingested = ragkit_process("--data-dir", str(data_dir), "ingest", "--quiet", str(SAMPLE_DOCS))
    assert ingested.returncode == 0, ingested.stderr[-2000:]
    page = Ragkit(load_settings({"data_dir": data_dir}))  # a long-lived reader, like the page
    assert page.retrieve("minimum password length")

    writer = background_ingest(notes, data_dir)
    wait_for_writer(data_dir, writer)
    searches = 0
    while writer.poll() is None:
        found = ragkit_process("--data-dir", str(data_dir), "search", "--json", "minimum password length")
        assert found.returncode == 0, found.stderr[-2000:]
        assert any("it_security_policy.md" in hit["file"] for hit in json.loads(found.stdout))
        assert page.retrieve("annual leave days")
        searches += 1
        if searches == 1:
            answer = ragkit_process(
                "--data-dir", str(data_dir), "query", "--json", "What is the minimum password length?"
            )
            assert answer.returncode == 0, answer.stderr[-2000:]
            assert json.loads(answer.stdout)["sources"]
    assert writer.returncode == 0, writer.stderr.read() if writer.stderr else ""
    assert searches >= 1, "the ingest ended before any reader ran; give it more to do"

    # The long-lived reader sees the vectors another process added (chromadb alone would not).
    question = "Who keeps the Kestrel Island ferry timetable?"
    vector = page.embedder.embed([question])[0]
    dense = [cid for cid, _ in page.store.dense_search("default", vector, 3)]
    ferry = [c for c in page.store.chunks("default", dense).values() if c.doc_path.endswith("ferry.md")]
    assert ferry, dense
    assert any(h.chunk.doc_path.endswith("ferry.md") for h in page.retrieve(question))
