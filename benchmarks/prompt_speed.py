"""Prompt reading speed of the answer model by thread count: what bounds the wait on a CPU.

Prints figures, asserts nothing. The same GGUF reads the same ~250-token text with 1 thread,
then with each count up to the cores this process may use, through ``llama_cpp.Llama`` (no
ragkit code in between), cold each time. Reading the prompt is most of the time to the first
word on a laptop CPU; whether a second thread helps depends on the machine (a second vCPU
that shares the first one's core adds nothing). Run from the repository root:

    .venv/bin/python benchmarks/prompt_speed.py [--model qwen2.5-coder-1.5b]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from llama_cpp import Llama

from ragkit import Ragkit, load_settings
from ragkit.llm import default_threads

TEXT = "The quick brown fox jumps over the lazy dog. " * 25


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Model name (default: the configured one).")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Ragkit(load_settings({"data_dir": Path(tmp)})).llm(args.model).path  # type: ignore[attr-defined]
    print(f"{platform.processor() or platform.machine()}; model {path.name}")
    for threads in range(1, default_threads() + 1):
        llm = Llama(model_path=str(path), n_ctx=2048, n_threads=threads, n_batch=512, verbose=False)
        started = time.perf_counter()
        out = llm.create_completion(TEXT, max_tokens=1, temperature=0)
        seconds = time.perf_counter() - started
        tokens = out["usage"]["prompt_tokens"]  # type: ignore[index]
        print(f"{threads} thread(s): {tokens} prompt tokens in {seconds:.1f} s, {tokens / seconds:.1f} tokens/s")


if __name__ == "__main__":
    main()
