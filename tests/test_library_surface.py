"""The public surface the shells use: what they need is a method of ``Ragkit``, and it closes."""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest

import ragkit
from ragkit import EmptyCollectionError, Ragkit, load_settings

from .conftest import TEST_MODEL

ROOT = Path(__file__).resolve().parent.parent
#: The shells, and the ragkit modules each may import besides the package root: its own parts.
SHELLS = {
    "ragkit/cli": ("ragkit.cli",),
    "ui": (),
    "ragkit/api.py": ("ragkit.api_guard", "ragkit.api_openai"),
    "ragkit/api_guard.py": ("ragkit.api_openai",),
    "ragkit/api_openai.py": (),
    "ragkit/mcp_server.py": ("ragkit.api_openai",),
}


def ragkit_imports(path: Path) -> set[str]:
    """What ``path`` imports of ragkit: module names, and ``ragkit.X`` for a name taken from the
    package root (relative imports resolved)."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            found |= {f"{module}.{a.name}" for a in node.names} if module == "ragkit" else {module}
    return {name for name in found if name.startswith("ragkit.")}


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_the_shells_import_nothing_but_the_public_surface(shell: str) -> None:
    public = {f"ragkit.{name}" for name in [*ragkit.__all__, "__version__"]}
    files = sorted((ROOT / shell).rglob("*.py")) if (ROOT / shell).is_dir() else [ROOT / shell]
    for file in files:
        beyond = {name for name in ragkit_imports(file) - public if not name.startswith(SHELLS[shell])}
        assert not beyond, f"{file.relative_to(ROOT)} imports ragkit internals {sorted(beyond)}"


def test_collections_models_and_close(tmp_path: Path) -> None:
    with Ragkit(load_settings({"data_dir": tmp_path / "data", "collection": "contracts"})) as kit:
        assert kit.collections() == ["contracts"]  # the configured one, though still empty
        names = kit.answer_models()
        assert names[0] == TEST_MODEL and len(names) == len(set(names))  # the configured one first, once
        assert "qwen2.5-coder-1.5b" in names  # an installed packaged model
        assert "stay on this computer" in kit.where_data_goes()
        with pytest.raises(EmptyCollectionError, match="contracts"):
            kit.require_documents()
        connection = kit.store._db
    with pytest.raises(sqlite3.ProgrammingError):  # closed on leaving the block
        connection.execute("SELECT 1")
    assert "retriever" not in kit.__dict__  # nothing keeps the closed store
    assert kit.collections() == ["contracts"]  # used again, the store opens again
    kit.close()


def test_a_stored_documents_text(tmp_path: Path) -> None:
    from .conftest import SAMPLE_DOCS

    with Ragkit(load_settings({"data_dir": tmp_path / "data"})) as kit:
        policy = SAMPLE_DOCS / "it_security_policy.md"
        kit.ingest([policy])
        assert "14 characters" in kit.document_text(policy)
        assert kit.document_text(SAMPLE_DOCS / "employee_handbook.pdf") == ""  # not stored


@pytest.mark.llm
def test_every_ragkit_in_a_process_shares_the_loaded_models(tmp_path: Path) -> None:
    with (
        Ragkit(load_settings({"data_dir": tmp_path / "a"})) as first,
        Ragkit(load_settings({"data_dir": tmp_path / "b"})) as second,
    ):
        assert first.llm() is second.llm()  # one copy of the weights in memory, loaded once
        first.embedder.load()
        assert first.embedder._loaded() is second.embedder._loaded()
        other = Ragkit(load_settings({"data_dir": tmp_path / "c", "n_ctx": 2048}))
        assert other.llm() is not first.llm()  # other settings, another model instance


def test_a_closed_store_leaves_no_stale_index_for_the_next_one(tmp_path: Path) -> None:
    """chromadb shares one in-memory index per directory among a process's clients: a store
    closed without closing its client would hand the next one an index that misses vectors
    another process wrote since."""
    from .conftest import SAMPLE_DOCS, ragkit_process

    data = tmp_path / "data"
    with Ragkit(load_settings({"data_dir": data})) as kit:
        kit.ingest([SAMPLE_DOCS / "it_security_policy.md"])
        assert kit.store.dense_search("default", kit.embedder.embed(["password"])[0], 10)
    added = ragkit_process("--data-dir", str(data), "ingest", "--quiet", str(SAMPLE_DOCS / "employee_handbook.pdf"))
    assert added.returncode == 0, added.stderr[-2000:]
    with Ragkit(load_settings({"data_dir": data})) as kit:
        question = "Until what date must carried-over annual leave be taken?"
        found = kit.store.dense_search("default", kit.embedder.embed([question])[0], 50)
        stored = kit.store.chunks("default", [cid for cid, _ in found])
        assert any(c.doc_path.endswith("employee_handbook.pdf") for c in stored.values()), found
