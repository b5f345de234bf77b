"""The public surface the shells use: what they need is a method of ``Ragkit``, and it closes."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from ragkit import EmptyCollectionError, Ragkit, load_settings

from .conftest import TEST_MODEL


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
