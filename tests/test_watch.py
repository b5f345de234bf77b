"""``ragkit watch``: the real command in a subprocess, real embedder and store on disk.

Each step waits (with a deadline) until ``ragkit sources --json`` shows the change, so the test
does not depend on how fast the machine is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .conftest import ragkit_cli

DEADLINE = 120.0


class Watch:
    """A running ``ragkit watch`` with its stderr lines collected as they come."""

    def __init__(self, data: Path, folder: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ragkit.cli", "--data-dir", str(data), "watch", str(folder), "--debounce", "0.5"],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
            env=dict(os.environ),
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, start: str) -> None:
        until(lambda: any(line.startswith(start) for line in self.lines), f"a line {start!r} in {self.lines}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=60)


def until(ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not ready():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.3)


def sources(data: Path) -> dict[str, tuple[str, int]]:
    run = ragkit_cli("--data-dir", str(data), "sources", "--json")
    assert run.returncode == 0, run.stderr
    return {d["path"]: (d["sha256"], d["chunks"]) for d in json.loads(run.stdout)}


def names(data: Path) -> set[str]:
    return {Path(p).name for p in sources(data)}


def test_watch_follows_add_edit_rename_delete(tmp_path: Path) -> None:
    folder, data = tmp_path / "docs", tmp_path / "data"
    folder.mkdir()
    watch = Watch(data, folder)
    try:
        watch.wait_line("watch: watching")
        note = folder / "note.md"
        note.write_text("# Leave\n\nCarried-over days must be taken by 31 March.\n")
        until(lambda: names(data) == {"note.md"}, "note.md stored")
        first = sources(data)[str(note.resolve())][0]

        note.write_text("# Leave\n\nCarried-over days must be taken by 30 April.\n")
        until(lambda: sources(data).get(str(note.resolve()), (first,))[0] != first, "note.md re-embedded")

        moved = folder / "renamed.md"
        note.rename(moved)
        until(lambda: names(data) == {"renamed.md"}, "the rename: old path gone, new path stored")

        (folder / ".swap.md").write_text("hidden, never read")
        moved.unlink()
        until(lambda: names(data) == set(), "renamed.md removed")
        watch.wait_line("removed ")
    finally:
        code = watch.stop()
    assert code == 0, watch.lines
    changes = [line for line in watch.lines if not line.startswith("watch: ")]
    assert changes[0].startswith("added ") and changes[0].endswith("note.md (1 chunks)"), changes
    assert any(line.startswith("updated ") and "note.md (1 chunks)" in line for line in changes), changes
    assert any(line.startswith("removed ") and line.endswith("note.md") for line in changes), changes
    assert any(line.startswith("added ") and "renamed.md" in line for line in changes), changes
    assert changes[-1].startswith("removed ") and changes[-1].endswith("renamed.md"), changes
    assert not any(".swap" in line for line in changes), changes


def test_killed_watcher_catches_up_like_a_clean_ingest(tmp_path: Path) -> None:
    folder, data = tmp_path / "docs", tmp_path / "data"
    folder.mkdir()
    for n in range(6):
        (folder / f"doc{n}.md").write_text(f"# Doc {n}\n\nPolicy number {n} says {n * 7} days.\n" * 20)
    watch = Watch(data, folder)
    watch.wait_line("added ")  # the first sync is under way: kill it in the middle
    watch.proc.send_signal(signal.SIGKILL)
    watch.proc.wait(timeout=30)

    (folder / "doc0.md").unlink()
    (folder / "doc1.md").write_text("# Doc 1\n\nRewritten while the watcher was down.\n")
    (folder / "doc2.md").rename(folder / "doc2-moved.md")
    (folder / "new.md").write_text("# New\n\nAdded while the watcher was down.\n")

    again = Watch(data, folder)
    try:
        again.wait_line("watch: watching")  # the catch-up ingest with prune is done
    finally:
        assert again.stop() == 0, again.lines
    clean = tmp_path / "clean"
    run = ragkit_cli("--data-dir", str(clean), "ingest", "-q", str(folder))
    assert run.returncode == 0, run.stderr
    assert sources(data) == sources(clean)
