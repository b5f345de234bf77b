"""llama.cpp prompt-processing settings on this CPU: flash attention, batch sizes, KV cache type, mmap, threads.

Prints figures, asserts nothing. Each configuration loads the default answer model once (no
download: the path ragkit resolves) and reads the prompts ragkit really sends: sample-docs
questions over ``sample_docs/`` and SQuAD 2.0 questions over one article of
``../shared/eval/squad2_open``. Before each prompt the context is reset (no prefix reuse), so
time to first token is the whole prompt read. Configurations are interleaved per repetition
(ABCABC), since other work may share the cores; medians and ratios to the first (llama.cpp's
defaults, as ragkit loaded the model before 2026-12-04; on a CPU it now loads it as ``no mmap``)
come from the same run. The first greedy tokens of every configuration are compared with the
baseline's on the same prompt. Then time to first token against prompt tokens (the baseline's
measurements): a least-squares line and a table by token bucket. Run from the repository root:

    .venv/bin/python benchmarks/cpu_settings.py [--reps 2] [--sample 2] [--squad 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import llama_cpp
from llama_cpp import Llama

from ragkit import Ragkit, load_settings
from ragkit import models as models_registry
from ragkit.answer import relevant
from ragkit.datasets import DocumentFiles, read_corpus, read_questions
from ragkit.llm import SEED, default_threads

ROOT = Path(__file__).resolve().parent.parent
SQUAD = ROOT.parent / "shared/eval/squad2_open"
SAMPLE_QUESTIONS = [
    "Until what date must carried-over annual leave be taken?",
    "What budget did the board approve for the new Lisbon office?",
    "在一线城市出差时，每晚的住宿费上限是多少？",
    "What is the minimum password length for Northwind accounts?",
]
DECODE_TOKENS = 32


def physical_cores() -> int:
    """Distinct (socket, core) pairs among the CPUs this process may use, from ``lscpu -p``."""
    allowed = os.sched_getaffinity(0)
    try:
        out = subprocess.run(["lscpu", "-p=CPU,CORE,SOCKET"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return len(allowed)
    cores = {
        tuple(line.split(",")[1:])
        for line in out.splitlines()
        if line and not line.startswith("#") and int(line.split(",")[0]) in allowed
    }
    return len(cores) or len(allowed)


def configs(n_ctx: int) -> dict[str, dict[str, object]]:
    """Name -> Llama keyword arguments; the first is the baseline the others are compared with."""
    threads = default_threads()
    base: dict[str, object] = {"n_ctx": n_ctx, "n_threads": threads, "n_batch": 512, "n_ubatch": 512}
    q8 = llama_cpp.GGML_TYPE_Q8_0
    found = {
        "fa off, mmap, 512/512, f16": dict(base),
        "flash_attn": {**base, "flash_attn": True},
        "batch 256/256": {**base, "n_batch": 256, "n_ubatch": 256},
        "batch 1024/512": {**base, "n_batch": 1024, "n_ubatch": 512},
        "fa + KV q8_0": {**base, "flash_attn": True, "type_k": q8, "type_v": q8},
        "no mmap": {**base, "use_mmap": False},
        "fa + no mmap": {**base, "flash_attn": True, "use_mmap": False},
    }
    physical = physical_cores()
    if physical != threads:
        found[f"threads {physical} (physical)"] = {**base, "n_threads": physical, "n_threads_batch": physical}
    return found


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def prompts(kit: Ragkit, tmp: Path, n_sample: int, n_squad: int) -> list[tuple[str, list[dict[str, str]]]]:
    """(label, messages) as ``ask`` would send them."""
    kit.ingest([ROOT / "sample_docs"])
    found = []
    for question in SAMPLE_QUESTIONS[:n_sample]:
        hits = relevant(kit.retrieve(question), kit.settings.min_score, question)
        found.append((f"sample: {question[:30]}", kit.messages(question, hits)))
    records = read_corpus(SQUAD / "open_passages.jsonl")
    article = [r for r in records if r.title == records[0].title]
    kit.ingest([DocumentFiles.write(article, tmp / "squad").folder], collection="squad")
    ids = {r.id for r in article}
    chosen = [q for q in read_questions(SQUAD / "open_questions.jsonl") if q.passage_id in ids and not q.impossible]
    for q in chosen[: n_squad * 7 : 7]:  # spread over the article
        hits = relevant(kit.retrieve(q.question, collection="squad"), kit.settings.min_score, q.question)
        found.append((f"squad: {q.question[:31]}", kit.messages(q.question, hits)))
    return found


def measure(llm: Llama, messages: list[dict[str, str]]) -> dict[str, object]:
    """One cold read of the prompt then DECODE_TOKENS greedy tokens."""
    llm.reset()
    start = time.perf_counter()
    first = end = 0.0
    pieces: list[str] = []
    prompt_tokens = 0
    for chunk in llm.create_chat_completion(
        messages=messages,
        max_tokens=DECODE_TOKENS,
        temperature=0.0,
        seed=SEED,
        stream=True,  # type: ignore[arg-type]
    ):
        piece = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
        if piece:
            end = time.perf_counter()
            if not first:
                first, prompt_tokens = end, llm.n_tokens
            pieces.append(piece)
    ttft = first - start
    return {
        "tokens": prompt_tokens,
        "ttft": ttft,
        "pp": prompt_tokens / ttft,
        "tg": (len(pieces) - 1) / max(end - first, 1e-9),
        "text": "".join(pieces),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--sample", type=int, default=2, help="sample_docs questions (up to 4)")
    parser.add_argument("--squad", type=int, default=2, help="SQuAD 2.0 questions")
    args = parser.parse_args()
    model = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    name = next((line.split(":", 1)[1].strip() for line in model.splitlines() if line.startswith("Model name")), "?")
    avx512 = "avx512f" in model
    with tempfile.TemporaryDirectory() as tmp:
        kit = Ragkit(load_settings({"data_dir": Path(tmp) / "data"}))
        path = models_registry.resolve_llm(kit.settings.model, kit.settings.models_dir)[0]
        work = prompts(kit, Path(tmp), args.sample, args.squad)
        n_ctx = kit.settings.n_ctx
        kit.close()
    print(f"{name}; avx512f {avx512}; {default_threads()} usable CPUs, {physical_cores()} physical cores")
    print(f"model {path.name}; n_ctx {n_ctx}; {len(work)} prompts x {args.reps} reps, {DECODE_TOKENS} decode tokens")
    table = configs(n_ctx)
    models: dict[str, Llama] = {}
    rss: dict[str, float] = {}
    for label, kwargs in table.items():
        before = rss_mb()
        models[label] = Llama(model_path=str(path), seed=SEED, verbose=False, **kwargs)  # type: ignore[arg-type]
        measure(models[label], work[0][1])  # warm up: pages in the weights, sizes the buffers
        rss[label] = rss_mb() - before
        print(f"  loaded {label}: +{rss[label]:.0f} MB RSS", flush=True)
    results: dict[str, list[dict[str, object]]] = {label: [] for label in table}
    started = time.perf_counter()
    for rep in range(args.reps):
        for p, (_, messages) in enumerate(work):
            for label in table:  # interleaved: every configuration reads this prompt in turn
                row = {"rep": rep, "prompt": p, **measure(models[label], messages)}
                results[label].append(row)
                print(f"  rep {rep} prompt {p} {label}: {row['tokens']} tokens, ttft {row['ttft']:.2f} s", flush=True)
    print(f"timed in {time.perf_counter() - started:.0f} s")
    baseline = next(iter(table))
    greedy = {r["prompt"]: r["text"] for r in results[baseline] if r["rep"] == 0}

    def med(label: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in results[label])  # type: ignore[arg-type]

    print(
        f"\n{'config':30} {'p_tok':>5} {'ttft s':>6} {'pp t/s':>6} {'x':>5} {'tg t/s':>6} {'x':>5} "
        f"{'wins':>5} {'same 32':>7} {'+RSS MB':>7}"
    )
    for label in table:
        # per-prompt, per-rep wins against the baseline on the same prompt and rep
        wins = sum(
            float(r["ttft"]) < float(d["ttft"])  # type: ignore[arg-type]
            for r, d in zip(results[label], results[baseline], strict=True)
        )
        same = sum(r["text"] == greedy[r["prompt"]] for r in results[label])
        print(
            f"{label:30} {med(label, 'tokens'):5.0f} {med(label, 'ttft'):6.2f} {med(label, 'pp'):6.1f} "
            f"{med(label, 'pp') / med(baseline, 'pp'):5.2f} {med(label, 'tg'):6.1f} "
            f"{med(label, 'tg') / med(baseline, 'tg'):5.2f} {wins:2d}/{len(results[label]):<2d} "
            f"{same:3d}/{len(results[label]):<3d} {rss[label]:7.0f}"
        )
    print("\nper prompt, median ttft s:")
    for p, (plabel, _) in enumerate(work):
        cells = [statistics.median(float(r["ttft"]) for r in results[label] if r["prompt"] == p) for label in table]  # type: ignore[arg-type]
        print(f"  {plabel:40} " + " ".join(f"{c:6.2f}" for c in cells))
    print("  columns: " + " | ".join(table))

    # point 4: ttft against prompt tokens, on every configuration's measurements
    points = [(float(r["tokens"]), float(r["ttft"])) for r in results[baseline]]  # type: ignore[arg-type]
    xs, ys = [x for x, _ in points], [y for _, y in points]
    mx, my = statistics.mean(xs), statistics.mean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else float("nan")
    a = my - b * mx
    print(
        f"\nbaseline config: ttft s = {a:.3f} + {b * 1000:.3f} ms * prompt tokens "
        f"({1 / b if b else float('nan'):.0f} tokens/s marginal)"
    )
    buckets: dict[int, list[float]] = {}
    for x, y in points:
        buckets.setdefault(int(x // 200) * 200, []).append(y)
    print(f"{'tokens':>9} {'n':>3} {'ttft s':>7}")
    for low in sorted(buckets):
        print(f"{low:4d}-{low + 199:<4d} {len(buckets[low]):3d} {statistics.median(buckets[low]):7.2f}")
    print(
        "\nraw: "
        + json.dumps(
            {
                k: [(r["prompt"], r["tokens"], round(float(r["ttft"]), 2)) for r in v]  # type: ignore[arg-type]
                for k, v in results.items()
            }
        )
    )


if __name__ == "__main__":
    main()
