"""Evaluation data in, documents on disk out: BEIR retrieval sets and extractive QA sets.

The eval commands measure the real product, so they feed it real files: every corpus record
becomes one small text file (its title on the first line, then its text) that ``ingest``
parses like any other document. :class:`DocumentFiles` keeps the mapping between a record's
id and its file, so hits can be scored against the dataset's ids.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import RagkitError


class DatasetError(RagkitError):
    """An evaluation input file is missing or malformed (usage error: exit 2)."""

    exit_code = 2


@dataclass(frozen=True)
class Record:
    """One corpus document or passage."""

    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Question:
    """One QA question; ``answers`` empty and ``impossible`` True for an unanswerable one."""

    id: str
    question: str
    answers: list[str]
    impossible: bool = False
    passage_id: str | None = None


def _jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}:{number}: not JSON: {exc.msg}") from None
        if not isinstance(row, dict):
            raise DatasetError(f"{path}:{number}: expected a JSON object")
        yield number, row


def _field(path: Path, number: int, row: dict[str, Any], *names: str) -> str:
    """The first of ``names`` present in ``row``, as a string (ids may be numbers in the wild)."""
    for name in names:
        if name in row and row[name] is not None:
            return str(row[name])
    raise DatasetError(f"{path}:{number}: missing field {names[0]!r}")


def read_corpus(path: Path) -> list[Record]:
    """BEIR corpus lines ``{"_id","title","text"}`` (``id`` accepted for QA passages)."""
    records = [
        Record(
            id=_field(path, n, row, "_id", "id"),
            title=str(row.get("title") or ""),
            text=_field(path, n, row, "text"),
        )
        for n, row in _jsonl(path)
    ]
    if not records:
        raise DatasetError(f"{path}: no records")
    ids = [r.id for r in records]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"{path}: duplicate ids")
    return records


def read_queries(path: Path) -> dict[str, str]:
    """BEIR query lines ``{"_id","text"}``, by id, in file order."""
    queries = {_field(path, n, row, "_id", "id"): _field(path, n, row, "text", "question") for n, row in _jsonl(path)}
    if not queries:
        raise DatasetError(f"{path}: no queries")
    return queries


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """A BEIR qrels TSV (header ``query-id corpus-id score``): graded relevance by query."""
    qrels: dict[str, dict[str, int]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.reader(handle, delimiter="\t"))
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
    for number, row in enumerate(rows, start=1):
        if number == 1 and row and not row[-1].strip().lstrip("-").isdigit():
            continue  # the header
        if not row or not "".join(row).strip():
            continue
        if len(row) < 3 or not row[2].strip().lstrip("-").isdigit():
            raise DatasetError(f"{path}:{number}: expected 'query-id<TAB>corpus-id<TAB>score'")
        qrels.setdefault(row[0], {})[row[1]] = int(row[2])
    return qrels


def read_questions(path: Path) -> list[Question]:
    """QA lines ``{"id","question","answers":[...],"is_impossible"?,"passage_id"?}``."""
    questions = []
    for n, row in _jsonl(path):
        answers = row.get("answers") or []
        if isinstance(answers, dict):  # SQuAD's {"text": [...]} shape
            answers = answers.get("text") or []
        if not isinstance(answers, list):
            raise DatasetError(f"{path}:{n}: 'answers' must be a list")
        impossible = bool(row.get("is_impossible", False)) or not answers
        questions.append(
            Question(
                id=_field(path, n, row, "id", "_id"),
                question=_field(path, n, row, "question", "text"),
                answers=[str(a) for a in answers],
                impossible=impossible,
                passage_id=None if row.get("passage_id") is None else str(row["passage_id"]),
            )
        )
    if not questions:
        raise DatasetError(f"{path}: no questions")
    return questions


@dataclass
class DocumentFiles:
    """Corpus records written as text files under ``folder``, and the way back to their ids."""

    folder: Path
    ids: dict[str, str] = field(default_factory=dict)  # resolved file path -> record id

    @classmethod
    def write(cls, records: list[Record], folder: Path) -> DocumentFiles:
        """Write each record to ``folder/<n>.txt`` (ids may hold any character; names must not).

        Files whose content is already right are left alone, so a kept work dir re-ingests
        nothing; files of an earlier, larger corpus are deleted.
        """
        folder.mkdir(parents=True, exist_ok=True)
        files = cls(folder.resolve())
        for old in files.folder.glob("*.txt"):
            if not old.stem.isdigit() or int(old.stem) >= len(records):
                old.unlink()
        for n, record in enumerate(records):
            path = files.folder / f"{n:07d}.txt"
            content = f"{record.title}\n\n{record.text}\n" if record.title else f"{record.text}\n"
            if not path.exists() or path.read_text(encoding="utf-8") != content:
                path.write_text(content, encoding="utf-8")
            files.ids[str(path)] = record.id
        return files

    def id_of(self, doc_path: str) -> str:
        """The record id of a stored document path."""
        return self.ids[doc_path]
