"""Crash safety: SIGKILL `ragkit ingest` at random moments, re-run it, and get a clean run's store.

Real subprocesses, a real chromadb store on disk, the real embedder. The kills take the three
phases in turn, each twice, at seeded times within it: during start-up and the repair of the
previous kill, during embedding, and just after the first document was written (while further
documents are replaced). Before every
run a few files change, and every third run one is added or deleted, so interrupted replacements
and removals are covered too.
"""

from __future__ import annotations

import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

from ragkit import Ragkit, load_settings
from ragkit.ingest import EMBED_BATCH_CHUNKS

from .conftest import SAMPLE_DOCS, ragkit_cli

SEED = 20261128
KILLS = 6
PHASES = ("start-up", "embedding", "writes")
WORDS = (
    "invoice ledger backup server rotation audit vendor contract laptop badge visitor escalation "
    "quarterly budget travel allowance receipt approval firewall patch incident retention archive"
).split()


def write_note(path: Path, rng: random.Random, paragraphs: int) -> None:
    """A plain-text file of seeded pseudo-prose (about one chunk per paragraph)."""
    body = "\n\n".join(" ".join(rng.choice(WORDS) for _ in range(130)) + "." for _ in range(paragraphs))
    path.write_text(f"Note {path.stem}\n\n{body}\n", encoding="utf-8")


def make_docs(folder: Path, rng: random.Random) -> None:
    shutil.copytree(SAMPLE_DOCS, folder)
    for i in range(20):  # about 330 chunks with sample_docs: more than one embedding batch
        write_note(folder / f"note_{i:02}.txt", rng, 16)


def snapshot(data_dir: Path) -> dict[str, object]:
    """Manifest chunks, documents and chroma vectors (ids and texts) of the default collection."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    db = sqlite3.connect(data_dir / "ragkit.sqlite3")
    rows = db.execute("SELECT id, text FROM chunks WHERE collection = 'default'").fetchall()
    documents = db.execute("SELECT path, sha256, chunks FROM documents WHERE collection = 'default'").fetchall()
    db.close()
    client = chromadb.PersistentClient(
        path=str(data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    got = client.get_collection("default", embedding_function=None).get(include=["documents"])
    client.close()
    assert len(got["ids"]) == len(set(got["ids"])), "duplicate vector ids"
    return {
        "manifest": dict(rows),
        "manifest_rows": len(rows),
        "documents": sorted(documents),
        "vectors": dict(zip(got["ids"], got["documents"], strict=True)),
    }


class Run:
    """One ``ragkit ingest --prune`` subprocess whose progress bar is read as it runs."""

    def __init__(self, docs: Path, data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ragkit.cli", "--data-dir", str(data_dir), "ingest", "--prune", str(docs)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stderr = ""
        self.started = time.monotonic()
        #: Set once the bar counts embedded chunks: documents are being replaced from then on.
        self.writing = threading.Event()
        #: Seconds from start to the first replaced document, when one was seen.
        self.first_write: float | None = None
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        while piece := self.proc.stderr.read(64):
            self.stderr += piece
            if self.first_write is None and WRITTEN.search(self.stderr[-400:]):
                self.first_write = time.monotonic() - self.started
                self.writing.set()
        self.writing.set()


WRITTEN = re.compile(r"chunks: [1-9]\d*")


def mutate(docs: Path, run: int, rng: random.Random) -> None:
    """Give every run work: rewrite a few notes; every third run also add one, or delete one."""
    notes = sorted(docs.glob("note_*.txt"))
    for note in rng.sample(notes, 4):
        write_note(note, rng, 16)
    if run % 3 == 1:
        write_note(docs / f"added_{run}.txt", rng, 12)
    elif run % 3 == 2:
        notes[rng.randrange(len(notes))].unlink()


def test_sigkill_during_ingest_then_rerun_equals_clean_run(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    docs, data = tmp_path / "docs", tmp_path / "data"
    make_docs(docs, rng)
    kills, log, killed_writing = 0, [], []
    to_first_write = 8.0  # start-up + parsing + embedding, measured again on every run that gets there
    for attempt in range(KILLS * 2):
        if kills == KILLS:
            break
        if attempt:
            mutate(docs, attempt, rng)
        run = Run(docs, data)
        mode = PHASES[kills % len(PHASES)]  # a run that finished before its kill tries the phase again
        if mode == "start-up":  # imports, the repair after the previous kill, parsing
            delay = rng.uniform(0.3, 0.5 * to_first_write)
        elif mode == "embedding":
            delay = rng.uniform(0.5 * to_first_write, to_first_write)
        else:  # while the batch's documents are replaced one after another
            run.writing.wait(timeout=120)
            delay = rng.uniform(0.0, 0.5)
        time.sleep(delay)
        if run.proc.poll() is None:
            wrote = run.first_write is not None  # whether documents were being replaced at the kill
            run.proc.send_signal(signal.SIGKILL)
            kills += 1
            killed_writing.append(wrote)
        run.proc.wait(timeout=60)
        run.reader.join(timeout=10)
        to_first_write = run.first_write or to_first_write
        repaired = [line.split("; ", 1)[-1] for line in run.stderr.splitlines() if "was interrupted" in line]
        log.append(f"{'killed' if run.proc.returncode < 0 else 'finished'} {delay:.2f}s {mode} {repaired}")
    assert kills == KILLS, log
    assert any(killed_writing) and not all(killed_writing), log  # killed both before and during the writes

    finished = ragkit_cli("--data-dir", str(data), "ingest", "--prune", "--quiet", str(docs))
    assert finished.returncode == 0, finished.stderr[-2000:]
    clean_data = tmp_path / "clean"
    clean = ragkit_cli("--data-dir", str(clean_data), "ingest", "--quiet", str(docs))
    assert clean.returncode == 0, clean.stderr[-2000:]

    after, reference = snapshot(data), snapshot(clean_data)
    print("\n".join(log))
    assert len(reference["manifest"]) > EMBED_BATCH_CHUNKS, "too few chunks for more than one embedding batch"
    assert after["documents"] == reference["documents"]
    assert after["manifest_rows"] == reference["manifest_rows"]
    assert after["manifest"] == reference["manifest"], log
    assert after["vectors"] == reference["vectors"], log
    assert after["vectors"] == after["manifest"]
    checks = Ragkit(load_settings({"data_dir": data})).check_store()
    assert [c.problems() for c in checks] == [[]]
