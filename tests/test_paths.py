"""Path and size safety: symlinks, FIFOs and oversized files never reach a parser."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ragkit import Ragkit, load_settings
from ragkit.digest import sha256_file
from ragkit.discover import Limits, discover, upload_name

from .conftest import ragkit_cli

TEXT = "Annual leave carried over must be taken by the end of March of the following year.\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A folder with a document, links in and out of it, a FIFO and an oversized file."""
    root = tmp_path / "docs"
    (root / "sub").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("The vault code is 4471.\n")
    (root / "policy.txt").write_text(TEXT)
    (root / "sub" / "notes.md").write_text("# Notes\n\nThe badge office opens at nine.\n")
    (root / "big.txt").write_text("x" * 2 * 1024 * 1024)
    (root / "out.txt").symlink_to(tmp_path / "outside" / "secret.txt")
    (root / "up").symlink_to(tmp_path)
    (root / "again.txt").symlink_to(root / "policy.txt")
    (root / "loop").symlink_to(root)
    (root / "sub-link").symlink_to(root / "sub")
    os.mkfifo(root / "pipe.txt")
    return root


def names(paths: list[Path]) -> list[str]:
    return sorted(p.name for p in paths)


def reasons(problems: list) -> dict[str, str]:
    return {Path(p.path).name: p.reason for p in problems}


def test_symlinks_are_not_followed_by_default(tree: Path) -> None:
    files, problems = discover([tree], Limits(max_file_bytes=1024 * 1024))
    assert names(files) == ["notes.md", "policy.txt"]
    why = reasons(problems)
    for link in ("out.txt", "up", "again.txt", "loop", "sub-link"):
        assert why[link].startswith("symlink: not followed")
    assert why["pipe.txt"] == "not a regular file (a FIFO)"
    assert why["big.txt"] == "too large: 2.0 MB, over the 1 MB limit (max_file_mb)"


def test_followed_symlinks_stay_inside_the_folder(tree: Path) -> None:
    files, problems = discover([tree], Limits(follow_symlinks=True))
    # The links into the folder reach files already found: each file is read once, no loop.
    assert names(files) == ["big.txt", "notes.md", "policy.txt"]
    why = reasons(problems)
    assert why["out.txt"].startswith("symlink: points outside") and "secret.txt" in why["out.txt"]
    assert why["up"].startswith("symlink: points outside")
    assert set(why) == {"out.txt", "up", "pipe.txt"}


def test_named_paths_are_checked_too(tree: Path, tmp_path: Path) -> None:
    files, problems = discover([tree / "pipe.txt", tree / "missing.pdf", tree / "policy.txt", tree / "sub"])
    assert [p.name for p in files] == ["policy.txt", "notes.md"]
    assert reasons(problems) == {"pipe.txt": "not a regular file (a FIFO)", "missing.pdf": "not found"}


def test_hashing_a_fifo_fails_instead_of_blocking(tree: Path) -> None:
    with pytest.raises(OSError, match="not a regular file"):
        sha256_file(tree / "pipe.txt")


def test_ingest_reports_each_skip_and_stores_nothing_from_outside(tree: Path, data_dir: Path) -> None:
    result = ragkit_cli(
        "--data-dir",
        str(data_dir),
        "ingest",
        "--json",
        "--follow-symlinks",
        "--max-file-mb",
        "1",
        str(tree),
    )
    assert result.returncode == 1, result.stderr  # some files were skipped
    report = json.loads(result.stdout)
    skipped = {Path(f["file"]).name: f["reason"] for f in report["errors"]}
    assert set(skipped) == {"out.txt", "up", "pipe.txt", "big.txt"}
    listed = ragkit_cli("--data-dir", str(data_dir), "sources", "--json")
    stored = sorted(Path(d["path"]).name for d in json.loads(listed.stdout))
    assert stored == ["notes.md", "policy.txt"]
    found = ragkit_cli("--data-dir", str(data_dir), "search", "--json", "vault code")
    assert "4471" not in found.stdout


@pytest.mark.parametrize(
    ("client", "stored"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\ann\\Secret plan.md", "Secret plan.md"),
        ("..", "upload"),
        (".bashrc", "bashrc"),
        ("报告<2026>.md", "报告_2026_.md"),
        ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
    ],
)
def test_upload_names_are_generated_from_the_base_name_only(client: str, stored: str) -> None:
    assert upload_name(client) == stored


def test_uploads_land_inside_the_data_dir(data_dir: Path) -> None:
    kit = Ragkit(load_settings({"data_dir": data_dir}))
    report = kit.add_uploads([("../../../tmp/evil/policy.txt", TEXT.encode())])
    assert not report.failed
    (doc,) = kit.sources()
    stored = Path(doc.path)
    assert stored.name == "policy.txt" and (data_dir / "uploads") in stored.parents
