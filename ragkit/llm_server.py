"""Prompt -> streamed tokens from a model server: ``RemoteLLM``.

It sends the messages :class:`ragkit.llm.LocalLLM` would read, with the same sampling settings,
to an OpenAI-compatible server (``python -m llama_cpp.server``, llama.cpp's ``llama-server``,
vLLM, Ollama) and streams its ``/v1/chat/completions`` reply; the server queues or batches
concurrent requests itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .endpoints import Endpoint
from .errors import ModelError, RagkitError, ServerError
from .llm import CHOICE_STEPS, LANE_ANSWER, REPEAT_PENALTY, SEED, TOP_LOGPROBS, TOP_P, Generation


class RemoteLLM:
    """A chat model served at an OpenAI-compatible base URL (``…/v1`` is added when missing).

    ``wanted`` picks the served model: used when the server lists it, else the server's only
    model; a server with several models and none of that name is an error that lists them.
    """

    def __init__(self, endpoint: Endpoint, wanted: str, *, api_key: str = "", timeout: float = 600.0) -> None:
        import httpx

        base = endpoint.base
        self.api = base if base.endswith("/v1") else base + "/v1"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        # trust_env=False: no proxy from the environment sees the prompts (see ragkit.endpoints).
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=10.0), headers=headers, trust_env=False)
        try:
            self.model = self._choose(wanted, endpoint)
        except RagkitError:
            self._http.close()
            raise
        self.label = f"{self.model} at {endpoint.url}"

    def _choose(self, wanted: str, endpoint: Endpoint) -> str:
        served = [m["id"] for m in self._request("GET", "/models").json().get("data", [])]
        if wanted in served:
            return wanted
        if len(served) == 1:
            return str(served[0])
        raise ModelError(
            f"model server {endpoint.url} serves {', '.join(served) or 'no model'}, not {wanted!r}: "
            "choose one with --model"
        )

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        import httpx

        try:
            response = self._http.request(method, self.api + path, **kwargs)
        except httpx.HTTPError as exc:
            raise ServerError(f"model server {self.api}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 400:
            raise ServerError(f"model server {self.api}{path}: HTTP {response.status_code}: {response.text[:200]}")
        return response

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        stats: Generation,
        grammar: str | None = None,
        lane: str = LANE_ANSWER,
    ) -> Iterator[str]:
        """Stream the assistant's reply; token counts come from the server's usage report when it
        sends one (``stream_options``), otherwise completion tokens are the streamed pieces.
        ``lane`` is the server's business: it keeps prompts by its own rules (slots, cache).

        ``grammar`` travels as the ``grammar`` field that llama.cpp's server and
        llama_cpp.server accept, with ``logprobs`` for the first choices.
        """
        import httpx

        payload: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": TOP_P,
            "seed": SEED,
            "repeat_penalty": REPEAT_PENALTY,  # llama.cpp servers; others ignore it
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if grammar:
            payload |= {"grammar": grammar, "logprobs": True, "top_logprobs": TOP_LOGPROBS}
        stats.completion_tokens = 0
        try:
            with self._http.stream("POST", self.api + "/chat/completions", json=payload) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ServerError(
                        f"model server {self.api}/chat/completions: HTTP {response.status_code}: {response.text[:200]}"
                    )
                yield from _pieces(_events(response.iter_lines()), stats, self.api)
        except httpx.HTTPError as exc:
            raise ServerError(f"model server {self.api}: {type(exc).__name__}: {exc}") from None


def _pieces(events: Iterator[dict[str, Any]], stats: Generation, api: str) -> Iterator[str]:
    """The text pieces of a streamed chat completion, counting tokens into ``stats``.

    A complete reply ends with a choice that has a ``finish_reason`` (``stop``, ``length``). A
    stream that ends without one was cut short by the server (llama_cpp.server's default
    ``--interrupt_requests`` does that when another request arrives): it is an error, never an
    answer that silently lacks its end.
    """
    finished = False
    generated: list[str] = []
    for event in events:
        if event.get("error"):  # a server that fails mid-answer says so in the stream
            error = event["error"]
            raise ServerError(
                f"model server {api}: {error.get('message', error) if isinstance(error, dict) else error}"
            )
        usage = event.get("usage") or {}
        if usage:
            stats.prompt_tokens = usage.get("prompt_tokens", stats.prompt_tokens)
            stats.completion_tokens = usage.get("completion_tokens", stats.completion_tokens)
            stats.cached_tokens = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        for choice in event.get("choices") or []:
            _record_choices(choice.get("logprobs"), stats, generated)
            piece = (choice.get("delta") or {}).get("content")
            if piece:
                if not usage:
                    stats.completion_tokens += 1
                yield piece
            finished = finished or bool(choice.get("finish_reason"))
    if not finished:
        raise ServerError(
            f"model server {api}: the reply stopped without a finish reason, so it was cut short "
            "(llama_cpp.server: start it with --interrupt_requests False)"
        )


def _record_choices(logprobs: Any, stats: Generation, generated: list[str]) -> None:
    """Add a streamed chunk's OpenAI-style ``logprobs.content`` to ``stats.choices``;
    ``generated`` holds the tokens chosen so far."""
    for item in (logprobs or {}).get("content") or []:
        token, logprob = item.get("token", ""), float(item.get("logprob", 0.0))
        if len(stats.choices) < CHOICE_STEPS:
            top = {c["token"]: float(c["logprob"]) for c in item.get("top_logprobs") or [] if "token" in c}
            stats.choices.append(("".join(generated), top | {token: max(top.get(token, logprob), logprob)}))
        generated.append(token)


def _events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The JSON payloads of a server-sent event stream, up to ``data: [DONE]``."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments, ping events
        data = line[5:].strip()
        if data == "[DONE]":
            return
        try:
            yield json.loads(data)
        except ValueError:
            raise ServerError(f"model server sent something that is not JSON: {data[:120]!r}") from None
