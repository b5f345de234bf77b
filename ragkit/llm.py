"""Prompt -> streamed tokens, from llama.cpp in process (or a model server: :mod:`ragkit.llm_server`).

:class:`LocalLLM` is the default. Only ``Llama(model_path=...)`` is used: never ``Llama.from_pretrained`` (which downloads). The
chat template comes from the GGUF and is rendered by llama-cpp-python in jinja2's sandbox. One
llama.cpp context is not thread-safe, so generation is serialized with a lock; the page's
concurrent sessions queue on it instead of corrupting each other's state.

:class:`ragkit.llm_server.RemoteLLM` sends the same messages with the same sampling settings to
a model server. Both satisfy :class:`ChatModel`, which is all the answering code sees.
"""

from __future__ import annotations

import ctypes
import math
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import ConfigError, ModelError

#: Sampling settings shared by both backends, so that they give the same answers.
TOP_P = 0.9
REPEAT_PENALTY = 1.1
SEED = 0
#: Generated tokens whose candidates are recorded (the evidence line's first choice is among them).
CHOICE_STEPS = 8
#: Candidates recorded per step (OpenAI's API allows at most 20).
TOP_LOGPROBS = 20
#: Request lanes: answers (probe and reply) and asides (the follow-up rewrite) read different prompts.
LANE_ANSWER, LANE_ASIDE = "answer", "aside"
#: The attributes of ``llama_cpp.Llama`` that a lane switch sets (see ``LocalLLM._switch``).
_STATE_ATTRIBUTES = ("input_ids", "n_tokens", "_requires_eval")


def default_threads() -> int:
    """CPU cores this process may use (llama.cpp's decode is memory bound beyond that)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


#: llama.cpp's GPU back ends, as its system information names them.
_BACKENDS = ("CUDA", "Metal", "Vulkan", "HIP", "SYCL", "OpenCL")


def accelerator() -> str:
    """The GPU back end the installed llama.cpp was built with ("CUDA", "Metal", ...), or ""
    when it runs on the CPU only (ragkit's default build)."""
    import llama_cpp

    if not llama_cpp.llama_supports_gpu_offload():
        return ""
    info = llama_cpp.llama_print_system_info().decode(errors="replace").upper()
    return next((name for name in _BACKENDS if name.upper() in info), "GPU")


def gpu_layers(setting: int | None) -> int:
    """Layers to offload: ``None`` (``auto``) is every layer (-1) when the build can offload,
    else 0; a number is taken as it is."""
    if setting is None:
        return -1 if accelerator() else 0
    return setting


def placement(layers: int, threads: int) -> str:
    """Where a model with ``layers`` offloaded runs, for ``doctor`` and the timings."""
    backend = accelerator() if layers else ""
    if not backend:
        return f"CPU, {threads} threads"
    return f"{backend}, {'all' if layers < 0 else layers} layers; CPU {threads} threads"


@dataclass
class Generation:
    """Token counts of the last generation, filled in while streaming."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    #: Prompt tokens read from the model's cache (the start it shares with what it read before).
    cached_tokens: int = 0
    #: For the first CHOICE_STEPS tokens of a constrained reply: (the text generated before the
    #: token, {candidate token: log probability}), read before the grammar masks anything.
    choices: list[tuple[str, dict[str, float]]] = field(default_factory=list)


class ChatModel(Protocol):
    """What answering needs of a model: a name to show and a streamed reply.

    ``grammar`` (GBNF) constrains the reply; the first tokens' candidates then go to
    ``stats.choices``. ``lane`` names the kind of request (:data:`LANE_ANSWER`, :data:`LANE_ASIDE`): a
    model that keeps what it read may keep it per lane, so that an aside does not push out
    the passages the next answer reads again.
    """

    label: str

    def stream(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        temperature: float,
        stats: Generation,
        grammar: str | None = None,
        lane: str = ...,
    ) -> Iterator[str]: ...


class LocalLLM:
    """A GGUF chat model loaded once; ``stream`` yields text pieces as they are decoded."""

    def __init__(
        self,
        path: Path,
        label: str,
        *,
        n_ctx: int = 4096,
        n_threads: int = 0,
        n_gpu_layers: int | None = None,
        flash_attn: bool = False,
    ) -> None:
        from llama_cpp import Llama

        self.path = path
        self.label = label
        self.n_ctx = n_ctx
        threads, layers = n_threads or default_threads(), gpu_layers(n_gpu_layers)
        #: Where the model runs ("CPU, 2 threads", "CUDA, all layers; CPU 2 threads").
        self.device = placement(layers, threads)
        try:
            self._llm = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=threads,
                n_gpu_layers=layers,
                n_batch=512,
                flash_attn=flash_attn,
                # On the CPU llama.cpp copies most weights into its own repacked layout, and a
                # mapped file's pages stayed resident beside that copy (+600 MB for the 1.5B):
                # read them in once instead. With layers offloaded the file stays mapped, as
                # llama.cpp does by default (layers left on the CPU then pay that overhead).
                use_mmap=layers != 0,
                seed=SEED,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"{path}: llama.cpp cannot load this model ({exc})") from None
        self._lock = threading.Lock()
        self._lane = LANE_ANSWER
        # Lanes and the count of cached tokens need llama-cpp-python's state attributes; without
        # them (a release that renamed them) every request shares one lane and no count is kept:
        # follow-ups lose the reuse, nothing breaks.
        self._lanes = all(hasattr(self._llm, name) for name in _STATE_ATTRIBUTES)
        self._saved: dict[str, tuple[Any, bytes]] = {}  # lane -> (token ids, llama.cpp state) it left

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
        """Stream the assistant's reply; ``stats`` gets the token counts as they become known."""
        from llama_cpp import Llama, LlamaGrammar, LogitsProcessorList

        constraint = {}
        if grammar:
            constraint = {
                "grammar": LlamaGrammar.from_string(grammar, verbose=False),
                "logits_processor": LogitsProcessorList([self._recorder(stats)]),
            }
        with self._lock:
            # No reset: llama-cpp-python keeps the evaluated tokens and re-evaluates only what
            # differs, so the shared system prompt is processed once per process.
            self._switch(lane)
            before = self._llm.input_ids[: self._llm.n_tokens].copy() if self._lanes else None
            chunks = self._llm.create_chat_completion(
                messages=messages,  # type: ignore[arg-type]
                max_tokens=max_tokens,
                temperature=temperature,
                top_p=TOP_P,
                repeat_penalty=REPEAT_PENALTY,
                seed=SEED,  # per request, as a server does: the same question gets the same answer
                stream=True,
                **constraint,
            )
            stats.completion_tokens = 0
            for chunk in _fitting(chunks):
                if stats.prompt_tokens == 0:
                    stats.prompt_tokens = self._llm.n_tokens
                    if before is not None:
                        stats.cached_tokens = Llama.longest_token_prefix(
                            before, self._llm.input_ids[: stats.prompt_tokens]
                        )
                piece = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
                if piece:
                    stats.completion_tokens += 1
                    yield piece

    def _switch(self, lane: str) -> None:
        """Keep what the context read for the lane it leaves and bring back ``lane``'s.

        One llama.cpp context holds one prompt: a follow-up's rewrite between two answers would
        make the second answer read its passages again. What is kept is llama.cpp's own state
        (the KV cache of the tokens read, about 28 KB a token for the 1.5B model) and the token
        ids. llama-cpp-python's ``save_state``/``load_state`` would also copy and rewrite its
        300 MB logits buffer, pages of which it otherwise never touches; here that buffer is
        left alone and the next request decodes its last prompt token again
        (:data:`_STATE_ATTRIBUTES`, pinned by a test).
        """
        if lane == self._lane or not self._lanes:
            return
        import llama_cpp

        llm, context = self._llm, self._llm.ctx
        size = llama_cpp.llama_state_get_size(context)
        data = (ctypes.c_uint8 * size)()
        used = llama_cpp.llama_state_get_data(context, data, size)
        self._saved[self._lane] = (llm.input_ids[: llm.n_tokens].copy(), ctypes.string_at(data, used))
        self._lane = lane
        if (saved := self._saved.pop(lane, None)) is None:
            return
        tokens, state = saved
        buffer = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if llama_cpp.llama_state_set_data(context, buffer, len(state)) != len(state):
            llm.reset()  # the KV cache no longer matches any token list: start from nothing
            raise ModelError(f"{self.path}: llama.cpp could not restore a saved context")
        llm.input_ids[: len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        llm._requires_eval = True  # the logits are stale: decode before sampling

    def _recorder(self, stats: Generation) -> Callable[[Any, Any], Any]:
        """A logits processor that records the first steps' top candidates into ``stats``.

        It sees the raw logits, before the grammar's mask: the probability the model itself
        gave to each continuation. (llama-cpp-python's own ``logprobs`` would need
        ``logits_all``, which keeps the logits of every prompt token: gigabytes at 4k context.)
        """
        import numpy as np

        start: list[int] = []

        def record(input_ids: Any, scores: Any) -> Any:
            if len(stats.choices) < CHOICE_STEPS:
                start or start.append(len(input_ids))
                generated = [int(t) for t in input_ids[start[0] :]]
                before = self._llm.detokenize(generated).decode("utf-8", "replace")
                top = np.argpartition(scores, -TOP_LOGPROBS)[-TOP_LOGPROBS:]
                peak = float(np.max(scores))
                log_total = peak + float(np.log(np.sum(np.exp(scores - peak))))
                candidates: dict[str, float] = {}
                for token in top:
                    text = self._llm.detokenize([int(token)]).decode("utf-8", "replace")
                    candidates[text] = max(candidates.get(text, -math.inf), float(scores[token]) - log_total)
                stats.choices.append((before, candidates))
            return scores

        return record


def _fitting(chunks: Iterator[Any]) -> Iterator[Any]:
    """``chunks``, with llama-cpp-python's error for a prompt longer than the context as one
    line that says which settings to change (a follow-up's prompt is the longest)."""
    try:
        yield from chunks
    except ValueError as exc:
        if "context window" not in str(exc):
            raise
        raise ConfigError(
            f"the prompt does not fit the model's context ({exc}): raise n_ctx or lower context_tokens"
        ) from None


_LOADED: dict[tuple[str, int, int, int, int, int, bool], LocalLLM] = {}
_LOADED_LOCK = threading.Lock()


def local_llm(
    path: Path, label: str, *, n_ctx: int, n_threads: int, n_gpu_layers: int | None, flash_attn: bool
) -> LocalLLM:
    """The GGUF model loaded once per process for these settings, shared by every Ragkit in it.

    Two loads would double the memory and the seconds of loading for the same weights. The
    file's size and modification time are part of the key, so a replaced file is loaded afresh
    (after :func:`ragkit.models.resolve_llm` has verified it).
    """
    stat = path.stat()
    n_threads, n_gpu_layers = n_threads or default_threads(), gpu_layers(n_gpu_layers)  # as llama.cpp gets them
    key = (str(path), stat.st_size, stat.st_mtime_ns, n_ctx, n_threads, n_gpu_layers, flash_attn)
    with _LOADED_LOCK:
        if key not in _LOADED:
            _LOADED[key] = LocalLLM(
                path, label, n_ctx=n_ctx, n_threads=n_threads, n_gpu_layers=n_gpu_layers, flash_attn=flash_attn
            )
        return _LOADED[key]
