"""Packaged weights: assembled byte-exact, verified by sha256, refused when they do not match."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from ragkit import models
from ragkit.digest import sha256_file
from ragkit.errors import ModelError

from .conftest import FIXTURES, ragkit_cli


def test_parts_assemble_to_the_pinned_hash(tmp_path: Path) -> None:
    path = models.ensure_llm(models.LLM_0_5B, tmp_path)
    assert path.stat().st_size == models.LLM_0_5B.size
    assert models.sha256_file(path) == models.LLM_0_5B.sha256
    assert not list(tmp_path.glob("*.partial"))


def test_tampered_model_is_refused(tmp_path: Path) -> None:
    target = models.assembled_path(models.LLM_0_5B, tmp_path)
    with target.open("wb") as fh:  # right size, wrong bytes (sparse: costs no disk)
        fh.truncate(models.LLM_0_5B.size)
    with pytest.raises(ModelError, match="sha256 mismatch"):
        models.ensure_llm(models.LLM_0_5B, tmp_path)


def test_tampered_model_fails_the_cli_with_exit_3(tmp_path: Path, data_dir: Path) -> None:
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    with models.assembled_path(models.LLM_0_5B, models_dir).open("wb") as fh:
        fh.truncate(models.LLM_0_5B.size)
    env = {"RAGKIT_MODELS_DIR": str(models_dir), "RAGKIT_DATA_DIR": str(data_dir)}
    ingested = ragkit_cli("ingest", "-q", str(FIXTURES / "good" / "notes.txt"), env=env)
    assert ingested.returncode == 0, ingested.stderr
    result = ragkit_cli("query", "When did the Oslo migration finish?", env=env)
    assert result.returncode == 3
    assert "sha256 mismatch" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_verified_model_is_not_hashed_again_until_it_changes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = tmp_path / "tiny.gguf"
    weights.write_bytes(b"GGUF" + bytes(64))
    models.register(weights, tmp_path, "tiny")
    models.resolve_llm("tiny", tmp_path)  # hashed once, and recorded in the models dir
    assert str(weights.resolve()) in json.loads((tmp_path / "verified.json").read_text())
    hashed: list[Path] = []
    monkeypatch.setattr(models, "sha256_file", lambda p: hashed.append(p) or sha256_file(p))
    models._verified.clear()  # as in a new process
    models.resolve_llm("tiny", tmp_path)
    assert hashed == []
    models._verified.clear()
    weights.write_bytes(b"GGUF" + bytes(63) + b"!")  # same size, other bytes
    with pytest.raises(ModelError, match="sha256 mismatch"):
        models.resolve_llm("tiny", tmp_path)
    assert hashed == [weights.resolve()]


def test_user_gguf_paths(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model file not found"):
        models.resolve_llm(str(tmp_path / "missing.gguf"), tmp_path)
    fake = tmp_path / "fake.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    with pytest.raises(ModelError, match="not a GGUF"):
        models.resolve_llm(str(fake), tmp_path)
    with pytest.raises(ModelError, match="unknown model 'gpt-9'"):
        models.resolve_llm("gpt-9", tmp_path)


def test_user_gguf_loads_only_once_registered(tmp_path: Path) -> None:
    models_dir = tmp_path / "models"
    packaged = models.ensure_llm(models.LLM_0_5B, Path(os.environ["RAGKIT_MODELS_DIR"]))
    link = tmp_path / "my-model.gguf"
    link.symlink_to(packaged)
    with pytest.raises(ModelError, match="not a registered model; run `ragkit models add"):
        models.resolve_llm(str(link), models_dir)

    result = ragkit_cli("models", "add", str(link), env={"RAGKIT_MODELS_DIR": str(models_dir)})
    assert result.returncode == 0, result.stderr
    assert models.LLM_0_5B.sha256 in result.stdout
    assert models.resolve_llm("my-model", models_dir) == (packaged.resolve(), "my-model")
    assert models.resolve_llm(str(link), models_dir) == (packaged.resolve(), "my-model")
    listed = ragkit_cli("models", "--json", env={"RAGKIT_MODELS_DIR": str(models_dir)})
    row = next(r for r in json.loads(listed.stdout) if r["name"] == "my-model")
    assert row["sha256"] == models.LLM_0_5B.sha256 and row["description"] == "user-registered GGUF"


def test_registered_gguf_that_changed_is_refused(tmp_path: Path) -> None:
    weights = tmp_path / "tiny.gguf"
    weights.write_bytes(b"GGUF" + bytes(64))
    models.register(weights, tmp_path, "tiny")
    weights.write_bytes(b"GGUF" + bytes(63) + b"!")
    with pytest.raises(ModelError, match="sha256 mismatch for tiny .*changed since it was registered"):
        models.resolve_llm("tiny", tmp_path)
    with pytest.raises(ModelError, match="packaged model's name"):
        models.register(weights, tmp_path, models.LLM_0_5B.name)


def test_chat_templates_render_in_a_sandbox() -> None:
    """GGUF chat templates are Jinja run by llama-cpp-python; a hostile one must not reach Python."""
    from jinja2.exceptions import SecurityError
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    hostile = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    formatter = Jinja2ChatFormatter(template=hostile, eos_token="", bos_token="")
    with pytest.raises(SecurityError):
        formatter(messages=[{"role": "user", "content": "hi"}])


def test_embedder_is_verified_and_local() -> None:
    directory = models.embedder_dir()
    assert (directory / "model.safetensors").is_file()
    assert "site-packages" in str(directory)


def test_models_json_lists_paths_hashes_and_licenses() -> None:
    result = ragkit_cli("models", "--json")
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(rows) >= {"qwen2.5-coder-1.5b", "qwen2.5-coder-0.5b", "all-minilm-l6-v2"}
    for row in rows.values():
        assert row["license"] == "Apache-2.0"
        assert len(row["sha256"]) == 64 and row["installed"] is True and row["path"]
    assert rows["qwen2.5-coder-1.5b"]["size"] == 1_117_320_768
