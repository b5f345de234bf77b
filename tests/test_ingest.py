"""Ingest with the real embedder and a real chromadb store on disk: incremental, consistent."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ragkit import Ragkit, load_settings
from ragkit.errors import EmptyCollectionError

from .conftest import FIXTURES


def kit_for(data_dir: Path, **overrides: object) -> Ragkit:
    return Ragkit(load_settings({"data_dir": data_dir, **overrides}))


def vector_ids(kit: Ragkit, collection: str = "default") -> set[str]:
    col = kit.store._vectors(collection)
    return set(col.get(include=[])["ids"]) if col is not None else set()


def manifest_ids(kit: Ragkit, collection: str = "default") -> set[str]:
    rows = kit.store._db.execute("SELECT id FROM chunks WHERE collection = ?", (collection,))
    return {r[0] for r in rows}


def assert_consistent(kit: Ragkit) -> None:
    """Vectors and manifest hold exactly the same chunks, and the lexical index matches."""
    ids = manifest_ids(kit)
    assert vector_ids(kit) == ids
    fts = kit.store._db.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0]
    assert fts == kit.store._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]


def test_reingest_is_incremental(data_dir: Path, docs_copy: Path) -> None:
    kit = kit_for(data_dir)
    first = kit.ingest([docs_copy])
    assert first.count("added") == 4 and first.chunks_added > 10 and not first.failed
    pages = {d.path: d.pages for d in kit.sources()}
    assert {f.path: f.pages for f in first.files} == pages and first.pages_added == sum(pages.values())
    assert max(pages.values()) > 1  # the handbook PDF's pages, not one per file
    assert_consistent(kit)
    before = manifest_ids(kit)

    second = kit_for(data_dir).ingest([docs_copy])
    assert second.count("unchanged") == 4
    assert second.chunks_added == 0 and second.pages_added == 0

    policy = docs_copy / "it_security_policy.md"
    policy.write_text(
        policy.read_text(encoding="utf-8") + "\n\nVisitors must wear a badge at all times.\n", encoding="utf-8"
    )
    kit3 = kit_for(data_dir)
    third = kit3.ingest([docs_copy])
    statuses = {Path(f.path).name: f.status for f in third.files}
    assert statuses == {
        "it_security_policy.md": "updated",
        "employee_handbook.pdf": "unchanged",
        "board_minutes_2026_q3.docx": "unchanged",
        "差旅报销制度.md": "unchanged",
    }
    assert_consistent(kit3)
    after = manifest_ids(kit3)
    policy_doc = kit3.store.document("default", str(policy.resolve()))
    assert policy_doc is not None and third.chunks_added == policy_doc.chunks
    # Only the changed file's chunks were replaced; nothing duplicated.
    assert len(after - before) == policy_doc.chunks
    hits = kit3.retrieve("What must visitors wear?")
    assert any("badge" in h.chunk.text for h in hits)


def test_prune_and_remove(data_dir: Path, docs_copy: Path) -> None:
    kit = kit_for(data_dir)
    kit.ingest([docs_copy])
    (docs_copy / "it_security_policy.md").unlink()
    assert kit.ingest([docs_copy]).count("removed") == 0  # without --prune, nothing is dropped
    assert len(kit.sources()) == 4
    report = kit.ingest([docs_copy], prune=True)
    assert [Path(f.path).name for f in report.files if f.status == "removed"] == ["it_security_policy.md"]
    assert len(kit.sources()) == 3
    assert_consistent(kit)

    docx = docs_copy / "board_minutes_2026_q3.docx"
    assert kit.remove(docx) is True
    assert kit.remove(docx) is False
    assert [Path(d.path).name for d in kit.sources()] == ["employee_handbook.pdf", "差旅报销制度.md"]
    assert_consistent(kit)


def test_bad_files_are_skipped_and_nothing_stored_is_lost(data_dir: Path, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    shutil.copytree(FIXTURES / "bad", folder)
    shutil.copy(FIXTURES / "good" / "notes.txt", folder)
    kit = kit_for(data_dir)
    report = kit.ingest([folder])
    reasons = {Path(f.path).name: f.reason for f in report.files if f.status == "skipped"}
    assert set(reasons) == {"corrupt.pdf", "binary.pdf", "encrypted.pdf", "empty.txt"}
    assert reasons["encrypted.pdf"] == "encrypted: password required"
    assert report.count("added") == 1 and report.failed
    stored = manifest_ids(kit)

    # A good file that later turns corrupt keeps its stored chunks, and is reported.
    (folder / "notes.txt").write_bytes(b"\x00\x01\x02binary garbage\x00" * 50)
    again = kit.ingest([folder])
    assert {Path(f.path).name: f.status for f in again.files}["notes.txt"] == "skipped"
    assert manifest_ids(kit) == stored
    assert_consistent(kit)


def test_collections_are_separate(data_dir: Path) -> None:
    kit = kit_for(data_dir)
    kit.ingest([FIXTURES / "good" / "notes.txt"], collection="ops")
    assert [Path(d.path).name for d in kit.sources("ops")] == ["notes.txt"]
    assert kit.sources("default") == []
    with pytest.raises(EmptyCollectionError, match="ragkit ingest"):
        kit.retrieve("When did the Oslo migration finish?", collection="default")
    hits = kit.retrieve("When did the Oslo migration finish?", collection="ops")
    assert "14 May 2026" in hits[0].chunk.text


def test_missing_path_is_reported(data_dir: Path, tmp_path: Path) -> None:
    report = kit_for(data_dir).ingest([tmp_path / "nowhere"])
    assert report.failed and report.files[0].reason == "not found"


def test_the_next_files_are_parsed_while_a_batch_embeds(
    data_dir: Path, docs_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real parser process, real embedder, both timed: parsing overlaps embedding, and the
    store ends exactly as a one-file-after-another ingest leaves it."""
    import time

    from ragkit import ingest
    from ragkit.embed import Embedder
    from ragkit.parse.worker import ParseWorker

    for i in range(8):
        (docs_copy / f"note_{i}.md").write_text(f"# Note {i}\n\n" + f"Paragraph {i} about backups. " * 60)
    monkeypatch.setattr(ingest, "EMBED_BATCH_CHUNKS", 6)  # several batches from a small folder
    spans: dict[str, list[tuple[float, float]]] = {"parse": [], "embed": []}

    def timed(kind: str, original: Callable[..., Any]) -> Callable[..., Any]:  # wraps the real method
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spans[kind].append((started, time.perf_counter()))

        return run

    monkeypatch.setattr(ParseWorker, "parse", timed("parse", ParseWorker.parse))
    monkeypatch.setattr(Embedder, "embed", timed("embed", Embedder.embed))
    kit = kit_for(data_dir)
    kit.embedder.load()
    kit.ingest([docs_copy])
    assert_consistent(kit)
    assert len(spans["embed"]) > 2
    assert any(p0 < e1 and e0 < p1 for p0, p1 in spans["parse"] for e0, e1 in spans["embed"]), spans

    monkeypatch.setattr(ingest, "PARSE_AHEAD", 0)
    serial = kit_for(tmp_path / "serial")
    serial.ingest([docs_copy])
    chunks = "SELECT id, text FROM chunks ORDER BY id"
    assert kit.store._db.execute(chunks).fetchall() == serial.store._db.execute(chunks).fetchall()
    assert [(d.path, d.sha256, d.pages, d.chunks) for d in kit.sources()] == [
        (d.path, d.sha256, d.pages, d.chunks) for d in serial.sources()
    ]


def test_an_ingest_that_stops_early_leaves_no_parse_thread_and_a_whole_store(
    data_dir: Path, docs_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller fails on the first file while the next one is being parsed (slowed down so
    that it still is): the ingest ends that parse and its thread before it returns."""
    import threading
    import time

    from ragkit.parse.worker import ParseWorker

    real_parse, calls = ParseWorker.parse, []

    def slow_after_the_first(self: ParseWorker, *args: Any, **kwargs: Any) -> Any:
        calls.append(args[0])
        if len(calls) > 1:
            time.sleep(1.5)
        return real_parse(self, *args, **kwargs)

    def stop_after_the_first_file(*_: object) -> None:
        raise RuntimeError("stopped by the caller")

    from ragkit import ingest

    monkeypatch.setattr(ParseWorker, "parse", slow_after_the_first)
    monkeypatch.setattr(ingest, "EMBED_BATCH_CHUNKS", 1)  # the first file is stored before the next is parsed
    kit = kit_for(data_dir)
    kit.embedder.load()  # else the next files are all parsed while it loads
    with pytest.raises(RuntimeError, match="stopped by the caller"):
        kit.ingest([docs_copy], progress=stop_after_the_first_file)
    assert len(calls) > 1  # the next file was in flight
    assert not [t.name for t in threading.enumerate() if t.name.startswith("ragkit-parse")]
    assert_consistent(kit)
    monkeypatch.setattr(ParseWorker, "parse", real_parse)
    again = kit.ingest([docs_copy])  # the next run completes what was left
    assert not again.failed and len(kit.sources()) == len(list(docs_copy.iterdir()))
    assert_consistent(kit)
