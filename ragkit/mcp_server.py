"""``ragkit mcp``: ragkit as an MCP server over stdio, for desktop assistants and coding agents.

The assistant starts ``ragkit mcp`` as a child process and talks to it on stdin/stdout, so
nothing listens on the network at all. Three tools (``search``, ``ask``, ``list_documents``)
and every stored document as a resource, built with the official ``mcp`` SDK. The assistant's
own model decides when to call them; ragkit's answers keep their checks: ``ask`` returns the
``ragkit query --json`` object, with the evidence sentences each ``[n]`` points at.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.types import Resource

from . import DocumentInfo, Ragkit, RagkitError, __version__
from .api_openai import passage_json

#: Where the documents live in resource URIs: ``ragkit://documents/<collection>/<id>``.
SCHEME = "ragkit://documents"

INSTRUCTIONS = (
    "Answers questions from the user's own documents, offline, with citations. Use `ask` for a "
    "question: its answer carries [n] marks, each pointing at an `evidence` sentence with file "
    "and page; when `declined` is true the documents do not hold the answer, so say so instead "
    "of answering from memory. Use `search` to see the passages on a topic without an answer, "
    "and `list_documents` to see what is stored."
)


def document_id(path: str) -> str:
    """A short, stable id for a stored document's path (paths hold slashes; URIs should not)."""
    return hashlib.sha256(path.encode()).hexdigest()[:16]


@contextmanager
def _reasons(kind: type[Exception] = ToolError) -> Iterator[None]:
    """ragkit's errors as the SDK's anticipated errors (``ToolError``, ``ResourceError``): the
    assistant sees the one-line reason the CLI prints, and the log no traceback."""
    try:
        yield
    except RagkitError as exc:
        raise kind(str(exc)) from exc


class RagkitMCP(MCPServer):
    """The MCP server with the stored documents listed as resources, read afresh at each
    listing (the SDK's own resources are fixed when the server starts; documents are not)."""

    def __init__(self, kit: Ragkit) -> None:
        super().__init__(name="ragkit", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING")
        self.kit = kit

    def documents(self) -> list[tuple[str, DocumentInfo]]:
        """(collection, document) for every stored document."""
        return [(name, doc) for name in self.kit.collections() for doc in self.kit.sources(name)]

    async def list_resources(self) -> list[Resource]:
        """The SDK's resources, then one per stored document."""
        found = await anyio.to_thread.run_sync(self.documents)
        return [*await super().list_resources()] + [
            Resource(
                uri=f"{SCHEME}/{name}/{document_id(doc.path)}",
                name=Path(doc.path).name,
                description=f"{doc.path} (collection {name}, {doc.pages} page(s), {doc.parser})",
                mime_type="text/plain",
            )
            for name, doc in found
        ]


def build(kit: Ragkit) -> RagkitMCP:
    """The server's tools and resources over ``kit``."""
    server = RagkitMCP(kit)

    @server.tool()
    def ask(question: str, collection: str | None = None) -> dict[str, Any]:
        """Answer a question from the user's documents. The answer's [n] marks point at
        `evidence` sentences (file, page); `declined` true means the documents do not say."""
        with _reasons():
            return kit.ask(question, collection=collection).to_json()

    @server.tool()
    def search(query: str, collection: str | None = None, top_k: int = 5) -> list[dict[str, Any]]:
        """The stored passages that match `query` best (file, page, text, score), without an answer."""
        with _reasons():
            hits = kit.retrieve(query, collection=collection, top_k=max(1, min(top_k, 50)))
        return [passage_json(h) for h in hits]

    @server.tool()
    def list_documents(collection: str | None = None) -> list[dict[str, Any]]:
        """The documents stored in a collection (default: the configured one)."""
        with _reasons():
            return [d.to_json() for d in kit.sources(collection)]

    @server.resource(f"{SCHEME}/{{collection}}/{{doc_id}}", mime_type="text/plain")
    def document(collection: str, doc_id: str) -> str:
        """A stored document's text, as ragkit reads it."""
        with _reasons(ResourceError):
            for doc in kit.sources(collection):
                if document_id(doc.path) == doc_id:
                    return kit.document_text(doc.path, collection)
        raise ResourceNotFoundError(f"no document {doc_id} in collection {collection!r}")

    return server


def run(kit: Ragkit) -> None:
    """Serve over stdin/stdout until the client closes them."""
    build(kit).run("stdio")
