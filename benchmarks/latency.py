"""Query latency: answer timings against llama.cpp direct, and retrieval time by collection size.

Prints figures, asserts nothing. Run from the repository root:

    .venv/bin/python benchmarks/latency.py [--model qwen2.5-coder-1.5b] [--sizes 1000,10000,100000]

Part 1 ingests ``sample_docs/`` and asks each question below twice over (the second round is
what a user sees once the system prompt sits in the model's KV cache). For each answer it
reports retrieval time, time to first token, decode speed, then drives the same GGUF directly
through ``llama_cpp.Llama`` on the same prompt for the same number of tokens, from a cold cache,
and prints the ratios. Short answers time decoding poorly, so decode speed is also compared
over a 128-token generation. Peak RSS is read after this part, before part 2 grows a large store.

Part ``prompt`` is time to first token against prompt tokens: the sample questions with passage
budgets (``context_tokens``) from short to the shipped one, each prompt timed through ``ask``
(to the first shown word) and through llama.cpp direct (to its first token), both with the
system prompt already in the KV cache, as every question after a process's first has it. A
least-squares line of each against the tokens read anew says what a token costs and how many
the 4 s and 8 s targets allow.

Part 2 times retrieval (both pipelines) at each collection size. The base collection is
SciFact abstracts, chunked and embedded by ragkit; larger sizes add copies of it whose vectors
carry Gaussian noise (cosine about 0.9 to the original), so the ANN index and the full-text
index grow as a real collection would without hours of embedding.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import resource
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ragkit import Ragkit, load_settings
from ragkit.answer import relevant
from ragkit.chunk import Chunker, HFTokenizer
from ragkit.llm import Generation
from ragkit.records import Chunk, DocumentInfo, Page

ROOT = Path(__file__).resolve().parent.parent
SCIFACT = ROOT.parent / "shared/eval/scifact"
QUESTIONS = [
    "Until what date must carried-over annual leave be taken?",
    "What is the minimum password length for Northwind accounts?",
    "What budget did the board approve for the new Lisbon office?",
    "在一线城市出差时，每晚的住宿费上限是多少？",
    "Are employees allowed to bring their dog to the office?",
]
NOISE = 0.025  # per dimension, for 384-d unit vectors: cosine ~0.9 to the original
TIMED_QUERIES = 50
DECODE_TOKENS = 128
DECODE_PROMPT = "Explain step by step how a public library lends, renews and recalls books."


def direct_baseline(kit: Ragkit, question: str, max_tokens: int) -> tuple[float, float]:
    """(ms to first token, decode tokens/s) of llama.cpp alone on ragkit's prompt, cold cache."""
    llm = kit.llm()
    hits = relevant(kit.retrieve(question), kit.settings.min_score, question)
    messages = kit.messages(question, hits)
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


def _decode_rate(pieces: Iterator[str]) -> float:
    """Tokens per second from the first streamed piece to the last (one piece is one token)."""
    first = last = 0.0
    count = 0
    for _ in pieces:
        last = time.perf_counter()
        first = first or last
        count += 1
    return (count - 1) / max(last - first, 1e-9)


def decode_comparison(kit: Ragkit, rounds: int = 3) -> None:
    """Decode speed of ragkit's streaming path against llama.cpp direct over DECODE_TOKENS tokens.

    Answers to the sample questions are a few tokens long, too short to time decoding; this
    asks for a long text instead, through ``LocalLLM.stream`` (what ``ask`` uses) and through
    ``Llama.create_chat_completion`` with the same prompt and sampling, alternating.
    """
    llm = kit.llm()
    messages = [{"role": "user", "content": DECODE_PROMPT}]
    ours, direct = [], []
    for _ in range(rounds):
        ours.append(_decode_rate(llm.stream(messages, max_tokens=DECODE_TOKENS, temperature=0.0, stats=Generation())))
        chunks = llm._llm.create_chat_completion(
            messages=messages, max_tokens=DECODE_TOKENS, temperature=0.0, top_p=0.9, repeat_penalty=1.1, stream=True
        )
        direct.append(_decode_rate(c for c in chunks if c["choices"][0]["delta"].get("content")))
    print(
        f"decode over {DECODE_TOKENS} tokens: ragkit {statistics.median(ours):.1f} tok/s, direct "
        f"{statistics.median(direct):.1f} tok/s, ratio {statistics.median(ours) / statistics.median(direct):.2f}"
    )


def answer_timings(kit: Ragkit) -> None:
    """Part 1: ragkit's answers on sample_docs against the same prompt through llama.cpp direct."""
    started = time.perf_counter()
    report = kit.ingest([ROOT / "sample_docs"])
    print(f"ingest sample_docs: {report.chunks_added} chunks in {time.perf_counter() - started:.1f} s")
    kit.llm()  # load and verify outside the timings
    print(f"model {kit.settings.model}; times in ms, decode in tokens/s")
    print(
        f"{'round':5} {'question':36} {'retr':>5} {'ttft':>6} {'p_tok':>5} {'c_tok':>5} {'tok/s':>6} | "
        f"{'direct ttft':>11} {'tok/s':>6} | {'ttft x':>6} {'speed x':>7}"
    )
    ttfts: list[float] = []
    ratios: list[float] = []
    for round_ in (1, 2):
        for question in QUESTIONS:
            answer = kit.ask(question)
            t = answer.timings
            if t.first_token_ms is None:
                print(f"{round_:5} {question[:36]:36} {t.retrieval_ms:5.0f} declined before the model")
                continue
            direct_ttft, direct_speed = direct_baseline(kit, question, max(t.completion_tokens, 1))
            # A decline decodes nothing after its first shown word: no speed to compare.
            speed = float("nan")
            if not answer.declined:
                speed = (t.completion_tokens - 1) / max((t.total_ms - t.first_token_ms) / 1000, 1e-9)
            if round_ == 2:
                ttfts.append(t.first_token_ms)
                if not answer.declined:
                    ratios.append(speed / direct_speed)
            print(
                f"{round_:5} {question[:36]:36} {t.retrieval_ms:5.0f} {t.first_token_ms:6.0f} {t.prompt_tokens:5d} "
                f"{t.completion_tokens:5d} {speed:6.1f} | {direct_ttft:11.0f} {direct_speed:6.1f} | "
                f"{t.first_token_ms / direct_ttft:6.2f} {speed / direct_speed:7.2f}"
            )
    if ttfts:
        print(
            f"warm round: time to first token p50 {statistics.median(ttfts):.0f} ms; "
            f"decode speed vs direct, mean ratio {statistics.mean(ratios) if ratios else float('nan'):.2f} (answers only)"
        )
    print(f"peak RSS (embedder + model + store) {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _warm_direct(raw: Any, messages: list[dict[str, str]]) -> None:
    """Leave llama.cpp's cache holding the system prompt and another question, as ragkit finds it."""
    raw.reset()
    other = [messages[0], {"role": "user", "content": "Hello"}]
    for _ in raw.create_chat_completion(messages=other, max_tokens=1, temperature=0.0, stream=True):
        pass


def _direct_first_token(raw: Any, messages: list[dict[str, str]]) -> tuple[float, int, int]:
    """(ms to the first token, prompt tokens, tokens read from the cache) of llama.cpp alone, system prompt warm."""
    from llama_cpp import Llama

    _warm_direct(raw, messages)
    before = raw.input_ids[: raw.n_tokens].copy()
    start = time.perf_counter()
    for _ in raw.create_chat_completion(messages=messages, max_tokens=1, temperature=0.0, stream=True):
        break
    elapsed = (time.perf_counter() - start) * 1000
    cached = Llama.longest_token_prefix(before, raw.input_ids[: raw.n_tokens])
    return elapsed, raw.n_tokens, cached


def _line(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares (intercept, slope) of y on x."""
    xs, ys = np.array([p[0] for p in points]), np.array([p[1] for p in points])
    slope, intercept = np.polyfit(xs, ys, 1)
    return float(intercept), float(slope)


def prompt_cost(kit: Ragkit, budgets: list[int], targets_ms: tuple[float, ...] = (4000.0, 8000.0)) -> None:
    """Time to first token against the tokens a prompt makes the model read anew."""
    kit.ingest([ROOT / "sample_docs"])
    raw = kit.llm()._llm  # the same llama_cpp.Llama object: same weights, threads and context
    print(f"model {kit.settings.model}; times in ms; new = prompt tokens not read from the cache")
    print(
        f"{'budget':>6} {'question':36} {'p_tok':>5} {'new':>4} {'ttft':>6} {'c_tok':>5} | {'new':>4} {'direct':>6} {'x':>5}"
    )
    ours: list[tuple[float, float]] = []
    direct: list[tuple[float, float]] = []
    rows: dict[int, list[float]] = {}
    for budget in budgets:
        sized = Ragkit(dataclasses.replace(kit.settings, context_tokens=budget))
        for question in QUESTIONS:
            hits = relevant(sized.retrieve(question), sized.settings.min_score, question)
            _warm_direct(raw, sized.messages(question, hits))  # ragkit's turn starts from the same cache
            t = sized.ask(question).timings
            if t.first_token_ms is None:  # declined before the model was asked
                continue
            d_ms, d_tokens, d_cached = _direct_first_token(raw, sized.messages(question, hits))
            ours.append((t.prompt_tokens - t.cached_tokens, t.first_token_ms))
            direct.append((d_tokens - d_cached, d_ms))
            rows.setdefault(budget, []).append(t.first_token_ms)
            print(
                f"{budget:6d} {question[:36]:36} {t.prompt_tokens:5d} {t.prompt_tokens - t.cached_tokens:4d} "
                f"{t.first_token_ms:6.0f} {t.completion_tokens:5d} | {d_tokens - d_cached:4d} {d_ms:6.0f} "
                f"{t.first_token_ms / d_ms:5.2f}"
            )
    for budget, times in rows.items():
        print(f"context_tokens {budget}: time to first word p50 {statistics.median(times):.0f} ms over {len(times)}")
    for name, points in (("ragkit, first shown word", ours), ("direct, first token", direct)):
        intercept, slope = _line(points)
        allowed = ", ".join(f"{t / 1000:.0f} s allows {(t - intercept) / slope:.0f}" for t in targets_ms)
        print(f"{name}: ttft ms = {intercept:.0f} + {slope:.2f} x new tokens ({1000 / slope:.0f} tokens/s); {allowed}")


def _base_chunks(kit: Ragkit, target: int) -> list[Chunk]:
    """At least ``target`` chunks of SciFact abstracts, chunked as ragkit chunks documents."""
    chunker = Chunker(HFTokenizer(kit.embedder.tokenizer_file), kit.settings.chunk_tokens, kit.settings.chunk_overlap)
    chunks: list[Chunk] = []
    with (SCIFACT / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            text = f"{record['title']}\n\n{record['text']}"
            chunks += chunker.chunk(record["_id"], hashlib.sha256(text.encode()).hexdigest(), [Page(1, text)])
            if len(chunks) >= target:
                return chunks[:target]
    return chunks


def _add_copy(kit: Ragkit, collection: str, chunks: list[Chunk], vectors: np.ndarray, copy: int) -> None:
    """Store one (noisy, for ``copy`` > 0) copy of the base chunks as one synthetic document."""
    path = f"scifact-copy-{copy}"
    if copy:
        noisy = vectors + np.random.default_rng(copy).normal(0, NOISE, vectors.shape).astype(np.float32)
        vectors = noisy / np.linalg.norm(noisy, axis=1, keepdims=True)
    renamed = [Chunk(f"{c.id}-{copy}", path, i, c.page, c.start, c.end, c.text) for i, c in enumerate(chunks)]
    info = DocumentInfo(path, f"{copy:064d}", 0, 0.0, 1, len(chunks), "synthetic", time.time())
    kit.store.replace_document(collection, info, renamed, vectors)


def retrieval_scaling(kit: Ragkit, sizes: list[int]) -> None:
    """Part 2: retrieval ms per query at each collection size, both pipelines."""
    base = min(sizes)
    chunks = _base_chunks(kit, base)
    started = time.perf_counter()
    vectors = kit.embedder.embed([c.text for c in chunks])
    print(f"\nembedded {len(chunks)} SciFact chunks in {time.perf_counter() - started:.1f} s")
    kit.store.check_embedder("scale", kit.embedder.identity)
    with (SCIFACT / "queries_test.jsonl").open(encoding="utf-8") as lines:
        queries = [json.loads(line)["text"] for line in lines][:TIMED_QUERIES]
    print(f"{'chunks':>7} {'pipeline':8} {'p50 ms':>7} {'p95 ms':>7} {'mean ms':>7}")
    copies = 0
    for size in sorted(sizes):
        while copies * len(chunks) < size:
            _add_copy(kit, "scale", chunks, vectors, copies)
            copies += 1
        for pipeline in ("default", "naive"):
            kit.retrieve(queries[0], collection="scale", pipeline=pipeline)  # warm caches
            times = []
            for query in queries:
                start = time.perf_counter()
                kit.retrieve(query, collection="scale", pipeline=pipeline)
                times.append((time.perf_counter() - start) * 1000)
            times.sort()
            print(
                f"{copies * len(chunks):7d} {pipeline:8} {statistics.median(times):7.1f} "
                f"{times[int(len(times) * 0.95) - 1]:7.1f} {statistics.mean(times):7.1f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model name or GGUF path (default: the configured one)")
    parser.add_argument("--sizes", default="1000,10000,100000", help="collection sizes in chunks, comma-separated")
    parser.add_argument(
        "--parts",
        default="answers,decode,scaling",
        help="parts to run, comma-separated: answers, prompt, decode, scaling (default: all but prompt)",
    )
    parser.add_argument(
        "--budgets", default="150,250,350,450", help="part prompt: context_tokens values, comma-separated"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kit = Ragkit(load_settings({"data_dir": Path(tmp), "model": args.model}))
        parts = set(args.parts.split(","))
        if "answers" in parts:
            answer_timings(kit)
        if "prompt" in parts:
            prompt_cost(kit, [int(b) for b in args.budgets.split(",")])
        if "decode" in parts:
            decode_comparison(kit)
        if "scaling" in parts:
            retrieval_scaling(kit, [int(s) for s in args.sizes.split(",")])


if __name__ == "__main__":
    main()
