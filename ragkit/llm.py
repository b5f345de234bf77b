"""Prompt -> streamed tokens with llama.cpp, in process, from a verified local GGUF file.

Only ``Llama(model_path=...)`` is used: never ``Llama.from_pretrained`` (which downloads). The
chat template comes from the GGUF and is rendered by llama-cpp-python in jinja2's sandbox. One
llama.cpp context is not thread-safe, so generation is serialized with a lock; the page's
concurrent sessions queue on it instead of corrupting each other's state.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import ModelError


def default_threads() -> int:
    """CPU cores this process may use (llama.cpp's decode is memory bound beyond that)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class Generation:
    """Token counts of the last generation, filled in while streaming."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


class LocalLLM:
    """A GGUF chat model loaded once; ``stream`` yields text pieces as they are decoded."""

    def __init__(self, path: Path, label: str, *, n_ctx: int = 4096, n_threads: int = 0) -> None:
        from llama_cpp import Llama

        self.path = path
        self.label = label
        self.n_ctx = n_ctx
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads or default_threads(),
                n_batch=512,
                seed=0,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{path}: llama.cpp cannot load this model ({exc})") from None
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        """Tokens ``text`` takes in this model's prompt."""
        return len(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def stream(
        self, messages: list[dict[str, str]], *, max_tokens: int, temperature: float, stats: Generation
    ) -> Iterator[str]:
        """Stream the assistant's reply; ``stats`` gets the token counts as they become known."""
        with self._lock:
            # No reset: llama-cpp-python keeps the evaluated tokens and re-evaluates only what
            # differs, so the shared system prompt is processed once per process.
            chunks = self._llm.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                top_p=0.9,
                repeat_penalty=1.1,
                stream=True,
            )
            stats.completion_tokens = 0
            for chunk in chunks:
                if stats.prompt_tokens == 0:
                    stats.prompt_tokens = self._llm.n_tokens
                piece = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
                if piece:
                    stats.completion_tokens += 1
                    yield piece
