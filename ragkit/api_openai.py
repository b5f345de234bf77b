"""The OpenAI chat-completions wire format, as ``ragkit serve`` speaks it.

Plain OpenAI clients (the ``openai`` package, Open WebUI, editors) read ``choices``; everything
ragkit knows beyond the text (sources, evidence, the checks, timings) travels in one extension
field, ``ragkit``, so a ragkit-aware client gets all of it and a plain one ignores it. Pure
functions and request models only: no I/O, so the format is tested without a model.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from . import Answer, Hit, Preview

#: The model name that means "the server's default collection" (as does an empty one).
DEFAULT_MODEL = "ragkit"
#: The name of the extension field on completions and chunks.
EXTENSION = "ragkit"


class TextPart(BaseModel):
    """One part of a message's content; parts that are not text (images, audio) are ignored."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str = ""


class Message(BaseModel):
    """A chat message; ``content`` is a string or a list of parts, as OpenAI allows."""

    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        """The message's text, its text parts joined."""
        if isinstance(self.content, list):
            return "".join(p.text for p in self.content if p.type == "text")
        return self.content or ""


class StreamOptions(BaseModel):
    """``stream_options``: only ``include_usage`` means anything here."""

    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    """A ``POST /v1/chat/completions`` body. Sampling options (temperature, max_tokens, ...) are
    accepted and ignored: ragkit's answers are checked against the documents, and its own
    settings decide how the model writes them."""

    model_config = ConfigDict(extra="allow")
    model: str = ""
    messages: list[Message] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: Literal[1] = 1


class SearchRequest(BaseModel):
    """A ``POST /v1/search`` body (``GET /v1/search`` takes the same as query parameters)."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1)
    collection: str | None = None
    top_k: int = Field(default=10, ge=1, le=100)


def collection_of(model: str) -> str | None:
    """The collection a request's ``model`` names; None for the server's default."""
    name = model.strip()
    return None if name in ("", DEFAULT_MODEL) else name


def conversation(messages: list[Message]) -> tuple[str, list[tuple[str, str]]]:
    """(the question, the history) of a chat: the last message must be the user's question; the
    history is every earlier (user, assistant) turn, as the CLI and the page pass theirs (the
    library decides how much of it a follow-up's rewrite reads). System and tool messages are ignored: ragkit's own prompt
    decides how the model answers."""
    turns = [m for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise ValueError("the last message must be the user's question")
    question = turns[-1].text.strip()
    if not question:
        raise ValueError("the question (the last user message) is empty")
    history = [
        (ask.text, reply.text)
        for ask, reply in zip(turns[:-1], turns[1:-1], strict=False)
        if ask.role == "user" and reply.role == "assistant"
    ]
    return question, history


def extension(answer: Answer, change: str | None = None) -> dict[str, Any]:
    """The ``ragkit`` field: the ``ragkit query --json`` object, the question as retrieval saw
    it and, for a stream, how the checked answer relates to the streamed text."""
    data = answer.to_json() | {"standalone_question": answer.standalone_question or answer.question}
    return data if change is None else data | {"change": change}


def previews_json(previews: tuple[Preview, ...]) -> dict[str, Any]:
    """The ``ragkit`` field of the chunk sent when retrieval is done, before the model reads."""
    return {
        "previews": [
            {"n": p.n, "file": p.file, "page": p.page, "sentence": p.sentence, "score": round(p.score, 4)}
            for p in previews
        ]
    }


def passage_json(hit: Hit) -> dict[str, Any]:
    """A retrieved passage as ``ragkit search --json`` prints it, with its injection flags."""
    chunk = hit.chunk
    return {"rank": hit.rank, "file": chunk.doc_path, "page": chunk.page, "chunk_id": chunk.id} | {
        "score": round(hit.score, 4),
        "text": chunk.text,
        "flags": list(chunk.flags),
    }


def usage(answer: Answer) -> dict[str, Any]:
    """Token counts of the answer's generation, OpenAI's way (cached: read from the model's cache)."""
    prompt, completion = answer.timings.prompt_tokens, answer.timings.completion_tokens
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": answer.timings.cached_tokens},
    }


class Completion:
    """One completion's id, time and model, shared by its object or all its chunks."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model or DEFAULT_MODEL

    def whole(self, answer: Answer) -> dict[str, Any]:
        """The ``chat.completion`` object for a checked answer."""
        return {
            "id": self.id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.answer},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": usage(answer),
            EXTENSION: extension(answer),
        }

    def chunk(
        self,
        delta: dict[str, str],
        *,
        finish_reason: str | None = None,
        ragkit: dict[str, Any] | None = None,
        answer_usage: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """One ``chat.completion.chunk``; ``answer_usage`` makes it the usage chunk (no choices)."""
        data: dict[str, Any] = {
            "id": self.id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": []
            if answer_usage is not None
            else [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }
        if answer_usage is not None:
            data["usage"] = answer_usage
        if ragkit is not None:
            data[EXTENSION] = ragkit
        return data


def error_body(message: str, kind: str, code: str | None) -> dict[str, Any]:
    """OpenAI's error object: ``message`` is the one-line reason the CLI prints."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
