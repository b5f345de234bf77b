"""``ragkit mcp``: the real server process over stdio, driven by the ``mcp`` SDK's own client
(``stdio_client`` + ``ClientSession``), as a desktop assistant would start and use it."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client

from ragkit import Ragkit

from .conftest import SAMPLE_DOCS

QUESTION = "What is the minimum password length for Northwind accounts?"
T = TypeVar("T")


def talk(data_dir: Path, conversation: Callable[[ClientSession], Awaitable[T]]) -> T:
    """Start ``ragkit mcp`` on ``data_dir`` as an MCP client does and run ``conversation`` with it."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ragkit.cli", "mcp"],
        env={k: v for k, v in os.environ.items() if k.startswith(("RAGKIT_", "XDG_"))}
        | {"RAGKIT_DATA_DIR": str(data_dir)},
    )

    async def run() -> T:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await conversation(session)

    return anyio.run(run)


def structured(result: Any) -> Any:
    """A tool result's structured content (a list comes wrapped as ``{"result": [...]}``)."""
    assert not result.is_error, result.content
    content = result.structured_content
    return content["result"] if isinstance(content, dict) and set(content) == {"result"} else content


def test_tools_are_listed_and_errors_carry_the_cli_reason(tmp_path: Path) -> None:
    async def conversation(session: ClientSession) -> dict[str, Any]:
        tools = await session.list_tools()
        return {
            "tools": {t.name: t for t in tools.tools},
            "documents": structured(await session.call_tool("list_documents", {})),
            "resources": (await session.list_resources()).resources,
            "ask": await session.call_tool("ask", {"question": QUESTION}),
        }

    found = talk(tmp_path / "data", conversation)
    assert set(found["tools"]) == {"ask", "search", "list_documents"}
    assert "question" in found["tools"]["ask"].input_schema["properties"]
    assert found["documents"] == [] and found["resources"] == []
    assert found["ask"].is_error
    assert "has no documents" in found["ask"].content[0].text and "ragkit ingest" in found["ask"].content[0].text


@pytest.mark.llm
def test_an_assistant_gets_an_answer_with_sources_and_reads_documents(sample_kit: Ragkit) -> None:
    async def conversation(session: ClientSession) -> dict[str, Any]:
        resources = (await session.list_resources()).resources
        policy = next(r for r in resources if r.name == "it_security_policy.md")
        return {
            "answer": structured(await session.call_tool("ask", {"question": QUESTION})),
            "passages": structured(await session.call_tool("search", {"query": "minimum password length", "top_k": 2})),
            "documents": structured(await session.call_tool("list_documents", {})),
            "resources": resources,
            "policy": (await session.read_resource(policy.uri)).contents[0].text,
        }

    found = talk(sample_kit.settings.data_dir, conversation)
    answer = found["answer"]
    assert answer["declined"] is False and "14" in answer["answer"], json.dumps(answer)[:2000]
    assert any(Path(e["file"]).name == "it_security_policy.md" and "14" in e["sentence"] for e in answer["evidence"])
    assert answer["sources"] and "[1]" in answer["answer"]
    assert len(found["passages"]) == 2 and Path(found["passages"][0]["file"]).name == "it_security_policy.md"
    names = sorted(p.name for p in SAMPLE_DOCS.iterdir() if p.is_file())
    assert sorted(Path(d["path"]).name for d in found["documents"]) == names
    assert sorted(r.name for r in found["resources"]) == names
    assert "14 characters" in found["policy"]
