"""The HTTP API under load: N concurrent ``openai`` clients against the same questions in process.

Prints figures, asserts nothing. Run from the repository root:

    .venv/bin/python benchmarks/api_load.py [--clients 1,2,4,8] [--seconds 60] [--model qwen2.5-coder-0.5b]

It starts the real ``ragkit serve`` process on loopback with a bearer token, then:

Part 1, concurrent uploads. ``--uploaders`` clients post the files of ``--docs`` to
``POST /v1/documents`` at the same time, one file per request, every file by two clients, each
client in its own shuffled order, and then all of their files once more (unchanged content must
not add a document). What ``GET /v1/documents`` lists and, once the server has stopped, the
chunk texts its store holds per file name are compared with a clean in-process ingest of the
same files: documents lost or duplicated, chunks lost, duplicated or extra should all be 0, and
the store's own consistency check should find nothing.

Part 2, question load. For each N in ``--clients``, N threads, each with its own ``openai``
client (retries off, so every 503 is seen), ask the questions of ``benchmarks/load.py`` (those
of ``docs/sample_questions.md`` and two paraphrases of each, plus questions to decline) in
their own shuffled orders, streamed, in a loop for ``--seconds``. A client told 503 waits the
``Retry-After`` the server gave, as a polite client does, and counts it. Per N: answers, errors
by kind, right answers (the expected span, or declined where nothing answers), answers/min,
p50/p95 of the whole answer and of the time to first token (the first chunk with text), all
measured by the client, and the 1-minute load average at the end.

Baseline: the same questions asked in process, after the server has stopped (so the two never
share cores), through one ``ragkit.Ragkit`` on the server's own store shared by N threads with
``Ragkit.stream``, timed the same way. Both are warmed by one untimed question first. The server
answers one question at a time behind a queue of ``--queue`` (its ``--queue``), like the
in-process model lock: on one machine the API costs the HTTP hops and buys a bounded queue.
"""

from __future__ import annotations

import argparse
import functools
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.servers, benchmarks.load

from benchmarks.load import HEADER, QUESTIONS, LoadRun, drive, is_right, questions_until, ratios  # noqa: E402
from ragkit import Ragkit, load_settings  # noqa: E402
from ragkit.api_guard import TOKEN_ENV  # noqa: E402
from ragkit.serve import free_port  # noqa: E402
from tests.servers import HOST, ServerError, answers_200, log_tail, stop  # noqa: E402

#: Seconds ``ragkit serve`` gets to answer /health (it loads the embedder before it listens).
START_SECONDS = 180.0
#: A client's own limit on one request: longer than the server's --timeout, so the server's 504 is seen.
CLIENT_TIMEOUT = 900.0


@dataclass
class Reply:
    """What one question got, as its client saw it."""

    first_s: float | None
    total_s: float
    answer: str
    declined: bool


class Refused(Exception):
    """A request answered with an error status; ``kind`` is how the tables count it."""

    def __init__(self, kind: str, retry_after: float = 0.0) -> None:
        super().__init__(kind)
        self.kind = kind
        self.retry_after = retry_after


@dataclass
class Server:
    """A running ``ragkit serve`` and how to reach it."""

    url: str
    token: str
    data_dir: Path
    process: subprocess.Popen[bytes]

    def http(self, timeout: float = CLIENT_TIMEOUT) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token}"}, timeout=timeout, trust_env=False
        )


@contextmanager
def serve(data_dir: Path, log: Path, model: str, queue: int, timeout: float) -> Iterator[Server]:
    """``ragkit serve`` on a free loopback port with a fresh token; stopped on exit."""
    token, port = secrets.token_urlsafe(16), free_port(HOST)
    command = [
        sys.executable, "-m", "ragkit.cli", "serve", "--host", HOST, "--port", str(port),
        "--model", model, "--queue", str(queue), "--timeout", f"{timeout:g}",
    ]  # fmt: skip
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RAGKIT_DATA_DIR": str(data_dir), TOKEN_ENV: token},
            start_new_session=True,
        )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while not answers_200(f"{url}/health"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise ServerError(f"ragkit serve did not start; log {log}:\n{log_tail(log)}")
            time.sleep(0.2)
        yield Server(url, token, data_dir, process)
    finally:
        stop(process)


# -- part 1: concurrent uploads ---------------------------------------------------------------


def upload_plan(files: Sequence[Path], uploaders: int) -> list[list[Path]]:
    """Per client, the files it posts: file j goes to clients j mod U and j+1 mod U, so each
    file is posted by two clients at once; each client's list is shuffled its own way."""
    plans: list[list[Path]] = [[] for _ in range(uploaders)]
    for j, path in enumerate(files):
        for k in {j % uploaders, (j + 1) % uploaders}:
            plans[k].append(path)
    for seed, plan in enumerate(plans):
        random.Random(seed).shuffle(plan)
    return plans


def part_uploads(server: Server, files: Sequence[Path], uploaders: int) -> tuple[Counter[str], list[dict[str, Any]]]:
    """Run the uploading clients (two rounds); the statuses they got and the documents listed after."""
    statuses: Counter[str] = Counter()
    lock = threading.Lock()

    def post_all(plan: Sequence[Path]) -> None:
        with server.http() as http:
            for path in [*plan, *plan]:  # the second round posts unchanged content again
                try:
                    response = http.post("/v1/documents", files=[("file", (path.name, path.read_bytes()))])
                    key = str(response.status_code)
                    if response.status_code != 200:
                        key += f" {response.text[:160]}"
                except httpx.HTTPError as exc:  # counted, so that no upload goes missing from the figures
                    key = f"{type(exc).__name__}: {exc}"[:160]
                with lock:
                    statuses[key] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=post_all, args=(plan,)) for plan in upload_plan(files, uploaders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"  {sum(statuses.values())} uploads by {uploaders} clients in {time.perf_counter() - started:.1f} s")
    with server.http() as http:
        listed = http.get("/v1/documents").json()["data"]
    return statuses, listed


def chunks_by_name(data_dir: Path, collection: str) -> Counter[tuple[str, str]]:
    """(file name, chunk text) -> how often the store holds it."""
    import sqlite3

    with sqlite3.connect(data_dir / "ragkit.sqlite3") as db:
        rows = db.execute("SELECT path, text FROM chunks WHERE collection = ?", (collection,)).fetchall()
    return Counter((Path(path).name, text) for path, text in rows)


def report_uploads(
    files: Sequence[Path], statuses: Counter[str], listed: list[dict[str, Any]], data_dir: Path, work: Path
) -> None:
    """Compare the uploaded store with a clean in-process ingest of ``files``; print the counts."""
    clean_dir = work / "clean"
    with Ragkit(load_settings({"data_dir": clean_dir})) as kit:
        kit.ingest(files)
        collection = kit.settings.collection
        clean_docs = Counter(Path(d.path).name for d in kit.sources())
    names = Counter(Path(d["path"]).name for d in listed)
    print(f"  statuses: {dict(statuses)}")
    print(
        f"  GET /v1/documents lists {sum(names.values())} documents ({len(clean_docs)} in the clean ingest): "
        f"lost {sum((clean_docs - names).values())}, duplicated {sum((names - clean_docs).values())}"
    )
    want = chunks_by_name(clean_dir, collection)
    have = chunks_by_name(data_dir, collection)
    print(
        f"  chunks: {sum(have.values())} stored vs {sum(want.values())} clean; "
        f"lost {sum((want - have).values())}, duplicated or extra {sum((have - want).values())}"
    )
    with Ragkit(load_settings({"data_dir": data_dir})) as kit:
        problems = [f"{c.collection}: {', '.join(c.problems())}" for c in kit.check_store() if not c.ok]
    print(f"  the server's store, checked: {'; '.join(problems) or 'consistent'}")


# -- part 2: question load --------------------------------------------------------------------


def api_asker(server: Server) -> Callable[[str], Reply]:
    """Ask through the ``openai`` package, streamed; an error status raises :class:`Refused`."""
    from openai import APIError, APIStatusError, OpenAI

    client = OpenAI(
        base_url=f"{server.url}/v1",
        api_key=server.token,
        max_retries=0,
        timeout=CLIENT_TIMEOUT,
        http_client=httpx.Client(trust_env=False),
    )

    def ask(question: str) -> Reply:
        started = time.perf_counter()
        first, pieces, extension = None, [], {}
        try:
            stream = client.chat.completions.create(
                model="ragkit", messages=[{"role": "user", "content": question}], stream=True
            )
            for chunk in stream:
                data = chunk.model_dump()
                extension = data.get("ragkit") or extension
                content = chunk.choices[0].delta.content if chunk.choices else None
                if content:
                    first = first or time.perf_counter()
                    pieces.append(content)
        except APIStatusError as exc:
            code = exc.response.status_code
            retry = float(exc.response.headers.get("retry-after", 0) or 0)
            kind = {503: "busy", 504: "timeout"}.get(code, exc.message[:80])
            raise Refused(f"{code} {kind}", retry) from exc
        except APIError as exc:  # the error event of a stream that had begun (openai raises it)
            raise Refused(f"in stream: {exc.code or type(exc).__name__}") from exc
        ended = time.perf_counter()
        return Reply(
            None if first is None else first - started,
            ended - started,
            str(extension.get("answer", "".join(pieces))),
            bool(extension.get("declined", False)),
        )

    return ask


def process_asker(kit: Ragkit) -> Callable[[str], Reply]:
    """Ask in process with :meth:`Ragkit.stream`, timed like the API client (first text, end)."""

    def ask(question: str) -> Reply:
        started = time.perf_counter()
        first = None
        answering = kit.stream(question)
        for event in answering:
            if event.kind == "text" and event.text and first is None:
                first = time.perf_counter()
        ended = time.perf_counter()
        assert answering.answer is not None
        return Reply(
            None if first is None else first - started,
            ended - started,
            answering.answer.answer,
            answering.answer.declined,
        )

    return ask


def asking(ask: Callable[[str], Reply], seed: int, deadline: float, run: LoadRun) -> None:
    """One client: its own question order, until ``deadline``; a 503 waits its Retry-After."""
    for question, span in questions_until(seed, deadline):
        try:
            reply = ask(question)
        except Refused as exc:
            with run.lock:
                run.errors[exc.kind] += 1
            time.sleep(max(0.5, min(exc.retry_after, deadline - time.monotonic())))
            continue
        except Exception as exc:  # a benchmark counts, it does not stop
            with run.lock:
                run.errors[f"{type(exc).__name__}: {str(exc)[:120]}"] += 1
            time.sleep(0.5)
            continue
        with run.lock:
            run.answers += 1
            run.right += is_right(reply, span)
            run.total_ms.append(reply.total_s * 1000)
            if reply.first_s is not None:
                run.first_ms.append(reply.first_s * 1000)


def load(mode: str, askers: Sequence[Callable[[str], Reply]], seconds: float) -> LoadRun:
    """``len(askers)`` client threads for ``seconds``; printed as one row of the table."""
    return drive(mode, [functools.partial(asking, ask) for ask in askers], seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", default="1,2,4,8", help="client counts N, comma-separated (default 1,2,4,8)")
    parser.add_argument("--seconds", type=float, default=60.0, help="asking time per N and mode (default 60)")
    parser.add_argument("--docs", type=Path, default=ROOT / "sample_docs", help="documents (default sample_docs/)")
    parser.add_argument("--model", default="qwen2.5-coder-0.5b", help="packaged model name or GGUF path")
    parser.add_argument("--queue", type=int, default=4, help="the server's --queue (default 4, its own default)")
    parser.add_argument("--timeout", type=float, default=300.0, help="the server's --timeout in s (default 300)")
    parser.add_argument("--uploaders", type=int, default=4, help="concurrent uploading clients, 2 or more (default 4)")
    parser.add_argument("--work", type=Path, help="keep the stores and the server log here (default: a temp dir)")
    args = parser.parse_args()
    if args.uploaders < 2:
        parser.error("--uploaders must be 2 or more: every file is posted by two clients at once")
    counts = [int(n) for n in args.clients.split(",") if n.strip()]
    files = sorted(p for p in args.docs.iterdir() if p.is_file() and not p.name.startswith("."))

    # SIGTERM (timeout, CI cancel) unwinds like Ctrl-C, so the server is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ragkit-api-load-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        data_dir = work / "served"
        print(f"model {args.model}, server queue {args.queue}, {os.cpu_count()} CPUs, work dir {work}")
        with serve(data_dir, work / "serve.log", args.model, args.queue, args.timeout) as server:
            print(f"\n== Part 1: {args.uploaders} clients upload the {len(files)} files of {args.docs} at once, twice")
            statuses, listed = part_uploads(server, files, args.uploaders)
            asker = api_asker(server)
            asker(QUESTIONS[0][0])  # untimed: the server loads its model
            print(f"\n== Part 2a: N openai clients, streamed, against {server.url}, {args.seconds:g} s each")
            print(HEADER)
            api_runs = [load("api", [api_asker(server) for _ in range(n)], args.seconds) for n in counts]
        print("\n== Part 1, compared with a clean in-process ingest (the server has stopped)")
        report_uploads(files, statuses, listed, data_dir, work)
        print("\n== Part 2b: baseline in process, one Ragkit on the server's store shared by N threads")
        with Ragkit(load_settings({"data_dir": data_dir, "model": args.model})) as kit:
            ask = process_asker(kit)
            ask(QUESTIONS[0][0])  # untimed, like the server's warm-up
            print(HEADER)
            process_runs = [load("process", [ask] * n, args.seconds) for n in counts]
        ratios(api_runs, process_runs, "api / in process")
    print(f"\ntotal {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
