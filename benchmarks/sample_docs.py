"""Time the main job on sample_docs/: ingest, then each README question, against llama.cpp direct.

Prints figures, asserts nothing. For each question it reports ragkit's retrieval time, time to
first token, total time and decode speed, then drives the same GGUF directly through
``llama_cpp.Llama`` on the same prompt (same token count, same answer length) as the baseline,
and prints the ratio. Run from the repository root:

    .venv/bin/python benchmarks/sample_docs.py [--model qwen2.5-coder-1.5b]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from ragkit import Ragkit, load_settings
from ragkit.answer import build_messages, is_relevant, language_of

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [
    "Until what date must carried-over annual leave be taken?",
    "What is the minimum password length for Northwind accounts?",
    "What budget did the board approve for the new Lisbon office?",
    "在一线城市出差时，每晚的住宿费上限是多少？",
    "Are employees allowed to bring their dog to the office?",
]


def direct_baseline(kit: Ragkit, question: str, max_tokens: int) -> tuple[float, float]:
    """(ms to first token, decode tokens/s) of llama.cpp alone on ragkit's prompt for ``question``."""
    llm = kit.llm()
    language = language_of(question)
    hits = [h for h in kit.retrieve(question) if is_relevant(h, kit.settings.min_score, language)]
    messages = build_messages(question, hits, [Path(h.chunk.doc_path).name for h in hits])
    raw = llm._llm  # the same llama_cpp.Llama object: same weights, threads and context
    raw.reset()
    start = time.perf_counter()
    first = None
    count = 0
    for chunk in raw.create_chat_completion(messages=messages, max_tokens=max_tokens, temperature=0.0, stream=True):
        if chunk["choices"][0]["delta"].get("content"):
            first = first or time.perf_counter()
            count += 1
    end = time.perf_counter()
    if first is None:
        return float("nan"), float("nan")
    return (first - start) * 1000, (count - 1) / max(end - first, 1e-9)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model name or GGUF path (default: the configured one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kit = Ragkit(load_settings({"data_dir": Path(tmp), "model": args.model}))
        started = time.perf_counter()
        report = kit.ingest([ROOT / "sample_docs"])
        seconds = time.perf_counter() - started
        pages = sum(d.pages for d in kit.sources())
        print(
            f"ingest sample_docs: {len(report.files)} files, {pages} pages, {report.chunks_added} chunks "
            f"in {seconds:.1f} s (embedder load included) = {report.chunks_added / seconds:.1f} chunks/s"
        )
        kit.llm()  # load and verify outside the timings
        print(f"model {kit.settings.model}; answer timings (ms) and decode speed (tok/s)")
        print(
            f"{'question':42} {'retr':>6} {'ttft':>7} {'total':>7} {'p_tok':>5} {'c_tok':>5} "
            f"{'tok/s':>6} | {'direct ttft':>11} {'tok/s':>6} {'ratio':>5}"
        )
        for question in QUESTIONS:
            answer = kit.ask(question)
            t = answer.timings
            if t.first_token_ms is None:
                print(f"{question[:42]:42} {t.retrieval_ms:6.0f}  declined before the model ({t.total_ms:.0f} ms)")
                continue
            decode_s = max((t.total_ms - t.first_token_ms) / 1000, 1e-9)
            speed = (t.completion_tokens - 1) / decode_s
            direct_ttft, direct_speed = direct_baseline(kit, question, max(t.completion_tokens, 1))
            print(
                f"{question[:42]:42} {t.retrieval_ms:6.0f} {t.first_token_ms:7.0f} {t.total_ms:7.0f} "
                f"{t.prompt_tokens:5d} {t.completion_tokens:5d} {speed:6.1f} | {direct_ttft:11.0f} "
                f"{direct_speed:6.1f} {speed / direct_speed:5.2f}"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
