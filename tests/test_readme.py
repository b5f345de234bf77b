"""The README stays true: CI runs its commands, and its examples answer as documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ragkit.answer import REFUSALS
from ragkit.lexical import is_cjk

from .conftest import ROOT, SAMPLE_DOCS, ragkit_cli

README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    """The two set-up commands: the first line of the first two ```sh blocks."""
    blocks = re.findall(r"```sh\n(.*?)```", README, flags=re.S)
    return [b.strip() for b in blocks[:2]]


def test_ci_runs_exactly_the_readme_commands() -> None:
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = readme_commands()
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    for command in commands:
        assert command in ci_lines


def example_rows() -> list[tuple[str, str, str, str]]:
    """(question, expected answer, file, page) from the README's example table."""
    section = README.split("## Example questions", 1)[1].split("\n\n", 3)[2]
    rows = []
    for line in section.splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3:
            parts = cells[2].split("`")
            file, page = (parts[1], parts[2].strip()) if len(parts) == 3 else ("", "")
            rows.append((cells[0], cells[1], file, page))
    return rows


def test_example_table_parses() -> None:
    rows = example_rows()
    assert len(rows) == 5
    assert rows[0][0].startswith("Until what date") and rows[0][2] == "employee_handbook.pdf"


@pytest.fixture(scope="module")
def default_model_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("readme-store")
    result = ragkit_cli("ingest", "--quiet", str(SAMPLE_DOCS), env={"RAGKIT_DATA_DIR": str(data)})
    assert result.returncode == 0, result.stderr
    return data


@pytest.mark.llm
@pytest.mark.parametrize("row", example_rows(), ids=lambda r: r[0][:30])
def test_readme_example_with_the_default_model(default_model_store: Path, row: tuple[str, str, str, str]) -> None:
    """Each README example, asked with the default model through `ragkit query --json`."""
    question, expected, file, page = row
    # RAGKIT_MODEL unset: the default model, as a user gets it.
    result = ragkit_cli(
        "query", "--json", question, env={"RAGKIT_DATA_DIR": str(default_model_store), "RAGKIT_MODEL": ""}
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["model"] == "qwen2.5-coder-1.5b"
    if not file:  # the unanswerable example
        assert data["declined"] is True and data["answer"] == REFUSALS["en"]
        return
    number = re.search(r"\d[\d.,]*\d|\d", expected).group()  # the checkable fact: 31, 14, 1.2, 600
    assert data["declined"] is False, data["answer"]
    assert number in data["answer"]
    if "Chinese" in expected:
        assert is_cjk(data["answer"]), data["answer"]
    wanted_page = int(page.removeprefix("p.")) if page.startswith("p.") else 1
    assert any(
        Path(s["file"]).name == file and s["page"] == wanted_page and number in s["text"] for s in data["sources"]
    ), data["sources"]


def test_module_map_matches_the_tree() -> None:
    section = README.split("## Development", 1)[1].split("```", 2)[1]
    named = set(re.findall(r"\b([a-z_]+\.py)\b", section))
    # A package whose modules the map names (store/) must name them all; one it names only as a
    # folder (parse/) is described as a whole.
    packages = [p for p in (ROOT / "ragkit").iterdir() if (p / "__init__.py").exists()]
    listed = [p for p in packages if {m.name for m in p.glob("*.py")} & (named - {"__init__.py"})]
    modules = {p.name for p in (ROOT / "ragkit").glob("*.py")}
    modules |= {m.name for p in listed for m in p.glob("*.py") if m.name != "__init__.py"}
    assert modules - named == set(), "modules missing from the README's map"
    assert {n for n in named if n not in modules and not (ROOT / "ui" / n).exists()} == set(), "named, not there"
