"""Load: team backends (Chroma server + model server) against the embedded single process.

Prints figures, asserts nothing. Run from the repository root:

    .venv/bin/python benchmarks/load.py [--clients 1,2,4] [--seconds 60] [--docs sample_docs] [--threads 2]

It starts a Chroma server and a llama-cpp-python model server with the 0.5B test model on
loopback (``tests/servers.py``), then:

Part 1, concurrent ingest. Two real ``ragkit ingest`` processes, each with its own data dir
but the same ``--store-url`` and collection, ingest two overlapping parts of the documents at
the same time (files 0..2/3 and 1/3..end, sorted by name). The chunks then found on the server
(ids and texts, read through ``chromadb.HttpClient``) are compared with a clean embedded ingest
of the union into a temporary data dir: chunks lost, duplicated (a text stored more often than
the clean ingest stores it) and extra (ids the clean ingest does not have) should all be 0. A
fresh data dir pointed at the server then shows what a new ragkit process mirrors from it.

Part 2, query load. For each N in ``--clients``, N concurrent clients (threads), each with its
own ``ragkit.Ragkit`` and data dir, ask the questions of ``docs/sample_questions.md`` and two
paraphrases of each, every client in its own shuffled order, in a loop for ``--seconds``; then
the same with the embedded baseline: one Ragkit with the in-process model and the embedded
store (the clean ingest of part 1) shared by N threads. Per N and mode: answers, errors,
answers with the expected span (or declined, for the questions without an answer), throughput,
p50/p95 of the whole answer and of the time to first token (``Answer.timings``), and the
1-minute load average at the end (the model uses ``--threads`` cores; much more means other
work on the machine competed). Clients stop asking at the deadline; throughput divides the
answers by the time until the last one finished.

The model server answers one request at a time, like the in-process model, and both get
``--threads`` threads: on one machine the server mode costs the HTTP hops, and buys the
ability to put the parts on different machines. It runs with ``--interrupt_requests False``:
with llama-cpp-python's default, a waiting request cuts the running answer short.
The model server is stopped before the embedded baseline runs, so the two never share cores.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.servers

from ragkit import Ragkit, load_settings  # noqa: E402
from ragkit.llm import default_threads  # noqa: E402
from ragkit.models import resolve_llm  # noqa: E402
from tests.servers import chroma_server, model_server  # noqa: E402

COLLECTION = "loadbench"
#: The questions of docs/sample_questions.md, each with two paraphrases, and the span a right
#: answer contains (None: the documents do not answer it, ragkit must decline). Clients ask them
#: in their own shuffled orders: llama.cpp reuses the longest prompt prefix it evaluated last,
#: so clients asking the same question one after the other would get answers for free.
QUESTIONS: list[tuple[str, str | None]] = [
    ("Until what date must carried-over annual leave be taken?", "31 March"),
    ("By when do carried-over leave days have to be used?", "31 March"),
    ("What is the deadline for using annual leave carried over from last year?", "31 March"),
    ("What is the minimum password length for Northwind accounts?", "14 characters"),
    ("How many characters must a Northwind account password have at least?", "14"),
    ("How long does a password for a Northwind account need to be?", "14"),
    ("What budget did the board approve for the new Lisbon office?", "1.2 million"),
    ("How much money was approved for opening the Lisbon office?", "1.2 million"),
    ("What is the approved budget of the Lisbon office project?", "1.2 million"),
    ("在一线城市出差时，每晚的住宿费上限是多少？", "600"),
    ("一线城市出差住宿每晚最多可以报销多少钱？", "600"),
    ("出差到一线城市，酒店住宿标准是每晚多少元？", "600"),
    ("What was Northwind's Q3 2026 revenue in the Nordics region?", "1,870"),
    ("How much revenue did the Nordics region bring in during Q3 2026?", "1,870"),
    ("What were the Nordics revenues for the third quarter of 2026?", "1,870"),
    ("Are employees allowed to bring their dog to the office?", None),
    ("Can staff bring pets to work?", None),
    ("Is it OK to bring my cat to the office?", None),
]


# -- part 1: concurrent ingest ----------------------------------------------------------------


def document_files(docs: Path) -> list[Path]:
    """Files under ``docs`` (no hidden ones), sorted, as resolved paths (chunk ids depend on them)."""
    found = [p for p in docs.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.parts)]
    return sorted(p.resolve() for p in found)


def overlapping_halves(files: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """Files 0..2/3 and 1/3..end: the middle third is ingested by both."""
    n = len(files)
    return list(files[: math.ceil(2 * n / 3)]), list(files[n // 3 :])


@dataclass
class IngestRun:
    """One ``ragkit ingest`` process and what it printed."""

    name: str
    files: int
    code: int = 0
    report: dict[str, Any] = field(default_factory=dict)
    stderr: str = ""
    ended: float = 0.0

    @property
    def window(self) -> tuple[float, float]:
        """(start, end) of the ingest itself on the monotonic clock (the report's seconds, before the exit)."""
        return self.ended - float(self.report.get("seconds", 0.0)), self.ended

    def line(self) -> str:
        r = self.report
        counts = ", ".join(f"{k} {r.get(k, '?')}" for k in ("added", "updated", "unchanged", "skipped"))
        text = f"  ingest {self.name}: {self.files} files, exit {self.code}, {counts}, {r.get('chunks_added', '?')} chunks, {r.get('seconds', '?')} s"
        if self.code != 0 or r.get("errors"):
            text += f"\n    errors: {r.get('errors')}\n    stderr: {self.stderr.strip()[-1500:]}"
        return text


def concurrent_ingest(store_url: str, work: Path, halves: Sequence[Sequence[Path]]) -> list[IngestRun]:
    """Run one ``ragkit ingest`` per half at the same time, all against ``store_url``."""
    runs, procs = [], []
    for name, files in zip("AB", halves, strict=True):
        command = [
            sys.executable, "-m", "ragkit.cli",
            "--data-dir", str(work / f"ingest-{name}"), "--store-url", store_url,
            "ingest", "--quiet", "--json", "--collection", COLLECTION, *map(str, files),
        ]  # fmt: skip
        procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        runs.append(IngestRun(name, len(files)))
    threads = [threading.Thread(target=_collect, args=(p, r)) for p, r in zip(procs, runs, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return runs


def _collect(proc: subprocess.Popen[str], run: IngestRun) -> None:
    out, err = proc.communicate()
    run.ended = time.monotonic()
    run.code = proc.returncode
    run.stderr = err
    try:
        run.report = json.loads(out)
    except json.JSONDecodeError:
        run.report = {}
        run.stderr = f"{out}\n{err}"


def server_chunks(store_url: str, name: str) -> dict[str, tuple[str, dict[str, Any]]] | None:
    """id -> (text, metadata) of every record in the server collection ``name`` (None: no such collection)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    parts = urlsplit(store_url)
    client = chromadb.HttpClient(
        host=parts.hostname or "127.0.0.1", port=parts.port or 8000, settings=ChromaSettings(anonymized_telemetry=False)
    )
    if name not in {c if isinstance(c, str) else c.name for c in client.list_collections()}:
        return None
    col = client.get_collection(name)
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    offset, page = 0, 500
    while True:
        got = col.get(include=["documents", "metadatas"], limit=page, offset=offset)
        for cid, doc, meta in zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=False):
            meta = dict(meta or {})
            found[cid] = (doc if doc is not None else str(meta.get("text", "")), meta)
        if len(got["ids"]) < page:
            return found
        offset += page


def embedded_chunks(data_dir: Path, collection: str) -> dict[str, str]:
    """id -> text of every chunk the embedded store's manifest lists."""
    with sqlite3.connect(data_dir / "ragkit.sqlite3") as db:
        return dict(db.execute("SELECT id, text FROM chunks WHERE collection = ?", (collection,)))


def compare(reference: dict[str, str], server: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, int]:
    """Lost, duplicated, extra and changed chunk counts of ``server`` against ``reference``."""
    want = Counter(reference.values())
    have = Counter(text for text, _ in server.values())
    common = reference.keys() & server.keys()
    return {
        "reference": len(reference),
        "server": len(server),
        "lost": len(reference.keys() - server.keys()),
        "duplicated": sum(max(0, have[t] - want[t]) for t in have),
        "extra": len(server.keys() - reference.keys()),
        "changed": sum(1 for cid in common if server[cid][0] != reference[cid]),
    }


def part_ingest(store_url: str, work: Path, docs: Path, model: str) -> Path:
    """Part 1; returns the clean embedded data dir (the baseline's store)."""
    files = document_files(docs)
    halves = overlapping_halves(files)
    print(f"\n== Part 1: concurrent ingest into one Chroma server ({len(files)} files from {docs})")
    print(f"  A: {', '.join(p.name for p in halves[0])}\n  B: {', '.join(p.name for p in halves[1])}")
    runs = concurrent_ingest(store_url, work, halves)
    for run in runs:
        print(run.line())
    (a0, a1), (b0, b1) = runs[0].window, runs[1].window
    print(f"  the two ingests overlapped for {max(0.0, min(a1, b1) - max(a0, b0)):.1f} s")

    reference_dir = work / "embedded"
    started = time.perf_counter()
    kit = Ragkit(load_settings({"data_dir": reference_dir, "collection": COLLECTION, "model": model}))
    report = kit.ingest(files)
    print(
        f"  clean embedded ingest of the union: {report.chunks_added} chunks, {len(report.files)} files, "
        f"{time.perf_counter() - started:.1f} s{' (some files skipped!)' if report.failed else ''}"
    )
    reference = embedded_chunks(reference_dir, COLLECTION)
    server = server_chunks(store_url, COLLECTION)
    if server is None:
        print(f"  server has no collection {COLLECTION!r}: every chunk lost")
    else:
        c = compare(reference, server)
        print(
            f"  server collection {COLLECTION!r}: {c['server']} chunks vs {c['reference']} clean; "
            f"lost {c['lost']}, duplicated {c['duplicated']}, extra {c['extra']}, changed text {c['changed']}"
        )
        docs_reference = {p for p, in sqlite3.connect(reference_dir / "ragkit.sqlite3").execute(
            "SELECT DISTINCT path FROM chunks WHERE collection = ?", (COLLECTION,))}  # fmt: skip
        docs_server = {str(meta.get("path")) for _, meta in server.values() if "path" in meta}
        if docs_server:
            print(f"  documents with chunks: server {len(docs_server)}, clean {len(docs_reference)}")
    for name, data_dir in (
        ("fresh data dir", work / "fresh"),
        ("A's data dir", work / "ingest-A"),
        ("B's data dir", work / "ingest-B"),
    ):
        mirror = Ragkit(load_settings({"data_dir": data_dir, "store_url": store_url, "collection": COLLECTION}))
        try:
            listed = mirror.sources()
            checks = mirror.check_store()
            damage = [f"{c.collection}: {', '.join(c.problems())}" for c in checks if not c.ok]
            print(
                f"  {name} on the server lists {len(listed)} documents, "
                f"{sum(d.chunks for d in listed)} chunks; check: {'; '.join(damage) or 'ok'}"
            )
        except Exception as exc:  # a benchmark reports, it does not stop
            print(f"  {name} on the server: {type(exc).__name__}: {exc}")
    return reference_dir


# -- part 2: query load -----------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (nan for no values)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class LoadRun:
    """What N clients got in one mode."""

    mode: str
    clients: int
    answers: int = 0
    right: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    total_ms: list[float] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)
    wall_s: float = 0.0
    #: 1-minute load average at the end: far above the model's threads means other work competed.
    loadavg: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def per_minute(self) -> float:
        return self.answers / self.wall_s * 60 if self.wall_s else 0.0

    def row(self) -> str:
        p = percentile
        return (
            f"{self.mode:<9}{self.clients:>3}{self.answers:>8}{sum(self.errors.values()):>7}{self.right:>7}"
            f"{self.per_minute:>9.1f}{p(self.total_ms, 50) / 1000:>9.1f}{p(self.total_ms, 95) / 1000:>9.1f}"
            f"{p(self.first_ms, 50) / 1000:>9.1f}{p(self.first_ms, 95) / 1000:>9.1f}{self.loadavg:>7.1f}"
        )


HEADER = f"{'mode':<9}{'N':>3}{'answers':>8}{'errors':>7}{'right':>7}{'ans/min':>9}{'p50 s':>9}{'p95 s':>9}{'TTFT50':>9}{'TTFT95':>9}{'load':>7}"


def is_right(answer: Any, span: str | None) -> bool:
    """The expected span is in the answer, or the answer declines where nothing answers."""
    return bool(answer.declined) if span is None else (not answer.declined and span in answer.answer)


def questions_until(seed: int, deadline: float) -> Iterator[tuple[str, str | None]]:
    """QUESTIONS in an order of their own (``seed``), round and round until ``deadline``."""
    order = list(QUESTIONS)
    random.Random(seed).shuffle(order)
    k = 0
    while time.monotonic() < deadline:
        yield order[k % len(order)]
        k += 1


def client(kit: Ragkit, seed: int, deadline: float, run: LoadRun) -> None:
    """Ask the questions in an order of its own (``seed``) until ``deadline``; record into ``run``."""
    for question, span in questions_until(seed, deadline):
        try:
            answer = kit.ask(question)
        except Exception as exc:
            with run.lock:
                run.errors[f"{type(exc).__name__}: {str(exc)[:200]}"] += 1
            time.sleep(0.5)  # a dead server must not spin the loop
            continue
        with run.lock:
            run.answers += 1
            run.right += is_right(answer, span)
            run.total_ms.append(answer.timings.total_ms)
            if answer.timings.first_token_ms is not None:
                run.first_ms.append(answer.timings.first_token_ms)


def drive(mode: str, clients: Sequence[Callable[[int, float, LoadRun], None]], seconds: float) -> LoadRun:
    """``len(clients)`` threads, client i called as ``client(i, deadline, run)`` (i seeds its
    question order), for ``seconds``; printed as one row of the table and its errors."""
    run = LoadRun(mode, len(clients))
    started = time.monotonic()
    threads = [
        threading.Thread(target=client, args=(i, started + seconds, run), daemon=True)
        for i, client in enumerate(clients)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.wall_s = time.monotonic() - started
    run.loadavg = os.getloadavg()[0]
    print(run.row(), flush=True)
    for error, count in run.errors.most_common():
        print(f"    {count} x {error}")
    return run


def load(mode: str, kits: Sequence[Ragkit], seconds: float) -> LoadRun:
    """``len(kits)`` client threads (one per kit; kits may repeat) for ``seconds``."""
    return drive(mode, [functools.partial(client, kit) for kit in kits], seconds)


def warm(kit: Ragkit) -> None:
    """Load what a first question would (embedder, model or server connection, prompt cache)."""
    kit.ask(QUESTIONS[0][0])


def part_server(
    store_url: str, llm_url: str, work: Path, model: str, counts: Sequence[int], seconds: float
) -> list[LoadRun]:
    print(f"\n== Part 2a: server mode, N clients with their own Ragkit and data dir, {seconds:g} s each")
    kits = []
    for i in range(max(counts)):
        settings = {
            "data_dir": work / f"client-{i}",
            "store_url": store_url,
            "llm_url": llm_url,
            "model": model,
            "collection": COLLECTION,
        }
        kits.append(Ragkit(load_settings(settings)))
    for kit in kits:  # untimed: each client's embedder, mirror and connections
        kit.embedder.load()
        kit.retrieve(QUESTIONS[0][0])
    warm(kits[0])
    print(HEADER)
    return [load("server", kits[:n], seconds) for n in counts]


def part_embedded(data_dir: Path, model: str, threads: int, counts: Sequence[int], seconds: float) -> list[LoadRun]:
    print(f"\n== Part 2b: embedded baseline, one Ragkit (in-process model, {threads} threads) shared by N threads")
    kit = Ragkit(load_settings({"data_dir": data_dir, "model": model, "collection": COLLECTION, "n_threads": threads}))
    warm(kit)
    print(HEADER)
    return [load("embedded", [kit] * n, seconds) for n in counts]


def _ratio(a: float, b: float) -> str:
    return f"{a / b:>8.2f}" if b and not math.isnan(a) and not math.isnan(b) else f"{'-':>8}"


def ratios(server: Sequence[LoadRun], embedded: Sequence[LoadRun], title: str = "server / embedded") -> None:
    """Per N, the first runs' figures over the second's (throughput above 1, latency below 1 favour the first)."""
    print(f"\n== {title} (throughput above 1 and latency below 1 favour the first)")
    print(f"{'N':>3}{'ans/min':>8}{'p50':>8}{'p95':>8}{'TTFT50':>8}{'TTFT95':>8}")
    for s, e in zip(server, embedded, strict=True):
        cells = [_ratio(s.per_minute, e.per_minute)]
        for values in ("total_ms", "first_ms"):
            for q in (50, 95):
                cells.append(_ratio(percentile(getattr(s, values), q), percentile(getattr(e, values), q)))
        print(f"{s.clients:>3}{''.join(cells)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,2,4", help="client counts N, comma-separated (default 1,2,4)")
    parser.add_argument("--seconds", type=float, default=60.0, help="asking time per N and mode (default 60)")
    parser.add_argument("--docs", type=Path, default=ROOT / "sample_docs", help="documents (default sample_docs/)")
    parser.add_argument("--model", default="qwen2.5-coder-0.5b", help="packaged model name or GGUF path")
    parser.add_argument("--threads", type=int, default=default_threads(), help="model threads, both modes")
    parser.add_argument("--parts", default="ingest,server,embedded", help="parts to run (ingest always runs)")
    parser.add_argument("--work", type=Path, help="keep stores and server logs here (default: a temp dir)")
    args = parser.parse_args()
    counts = [int(n) for n in args.clients.split(",") if n.strip()]
    parts = set(args.parts.split(","))

    # SIGTERM (timeout, CI cancel) unwinds like Ctrl-C, so the servers are stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    gguf, label = resolve_llm(args.model, load_settings().models_dir)
    with tempfile.TemporaryDirectory(prefix="ragkit-load-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        print(f"model {label} ({gguf.name}), {args.threads} threads, {os.cpu_count()} CPUs, work dir {work}")
        server_runs: list[LoadRun] = []
        with chroma_server(work / "chroma-server", log_dir=work) as store_url:
            print(f"Chroma server {store_url}")
            reference = part_ingest(store_url, work, args.docs, args.model)
            if "server" in parts:
                with model_server(gguf, label, args.threads, log_dir=work) as llm_url:
                    print(f"model server {llm_url}")
                    server_runs = part_server(store_url, llm_url, work, args.model, counts, args.seconds)
        embedded_runs = (
            part_embedded(reference, args.model, args.threads, counts, args.seconds) if "embedded" in parts else []
        )
        if server_runs and embedded_runs:
            ratios(server_runs, embedded_runs)
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
