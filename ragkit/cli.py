"""The ``ragkit`` command: a thin click shell over :class:`ragkit.Ragkit`.

Exit codes: 0 ok; 1 failure (including an ingest where some files were skipped); 2 usage or
configuration error; 3 model missing or corrupt; 4 empty or missing collection; 5 store locked
by another writer.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from . import __version__, conversation_markdown  # importing the package applies the offline switches first
from .config import as_environment, load_settings
from .endpoints import is_loopback
from .errors import RagkitError, StoppedError
from .evaluate import evaluate_qa, evaluate_retrieval
from .library import Ragkit, display_path
from .passwords import Passwords
from .prompt import quote
from .records import Answer, FileResult
from .retrieve import PIPELINES
from .serve import EXPOSED_ENV, PASSWORD_ENV, free_port
from .serve import command as serve_command
from .serve import run as run_page


class _Group(click.Group):
    """Turns ragkit's own errors into one line on stderr and their documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RagkitError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def _stop_on_sigterm(what: str) -> None:
    """Let SIGTERM end the command with one line and exit 143 instead of dying mid-write.

    Python's default for SIGTERM ends the process without a word; raising here unwinds the
    command instead, and the write lock keeps the writer's pid, so the next write repairs first.
    """

    def stop(_signum: int, _frame: object) -> None:
        raise StoppedError(f"{what}; run it again to finish (it first repairs what was left half written)")

    signal.signal(signal.SIGTERM, stop)


def _kit(ctx: click.Context, **overrides: Any) -> Ragkit:
    """Settings from flags given here and on the group, then env, config file and defaults."""
    flags = dict(ctx.obj)
    flags.update({k: v for k, v in overrides.items() if v is not None})
    config = flags.pop("config", None)
    return Ragkit(load_settings(flags, config_file=config))


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


collection_option = click.option("--collection", "-c", help="Collection name (default: 'default').")


def _file_line(result: FileResult) -> str:
    """One file's outcome as ingest and watch print it: ``added docs/a.md (3 chunks)``, ``skipped x: why``."""
    where = display_path(result.path)
    if result.status == "skipped":
        return f"skipped {where}: {result.reason}"
    return f"{result.status} {where} ({result.chunks} chunks)" if result.chunks else f"{result.status} {where}"


def _watch(kit: Ragkit, paths: tuple[Path, ...], *, debounce: float, poll: bool, passwords: Passwords) -> None:
    """Follow PATHS until Ctrl-C or SIGTERM, one line per change on stderr."""
    kit.watch(
        paths,
        debounce=debounce,
        poll=poll,
        passwords=passwords,
        on_change=lambda result: click.echo(_file_line(result), err=True),
        on_note=lambda line: click.echo(f"watch: {line}", err=True),
    )


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Store directory (env RAGKIT_DATA_DIR; default: the platform's user data dir).",
)
@click.option(
    "--config", "config", type=click.Path(dir_okay=False, path_type=Path), help="TOML config file (env RAGKIT_CONFIG)."
)
@click.option(
    "--store-url",
    metavar="URL",
    help="Chroma server (`chroma run`) holding the vectors, instead of the embedded store (env RAGKIT_STORE_URL).",
)
@click.option(
    "--llm-url",
    metavar="URL",
    help="OpenAI-compatible model server to answer with, instead of the in-process model (env RAGKIT_LLM_URL).",
)
@click.option(
    "--allow-remote",
    metavar="HOST",
    multiple=True,
    help="Let --store-url/--llm-url name this host beyond this machine; repeatable (env RAGKIT_ALLOW_REMOTE).",
)
@click.version_option(__version__, prog_name="ragkit")
@click.pass_context
def cli(
    ctx: click.Context,
    data_dir: Path | None,
    config: Path | None,
    store_url: str | None,
    llm_url: str | None,
    allow_remote: tuple[str, ...],
) -> None:
    """Ask questions about your own documents, offline, with citations you can check."""
    ctx.obj = {
        "data_dir": data_dir,
        "config": config,
        "store_url": store_url,
        "llm_url": llm_url,
        "allow_remote": allow_remote or None,
    }


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@collection_option
@click.option("--prune", is_flag=True, help="Remove stored files under PATHS that no longer exist.")
@click.option(
    "--follow-symlinks",
    is_flag=True,
    default=None,
    help="Follow symlinks inside a folder (never to targets outside it).",
)
@click.option("--max-file-mb", type=click.IntRange(min=1), help="Skip files larger than this (default 200).")
@click.option(
    "--pdf-tables/--no-pdf-tables",
    default=None,
    help="Read ruled PDF tables as header-labelled rows (default on; off is faster on table-heavy PDFs).",
)
@click.option("--password", help="Password tried for every encrypted PDF (never printed or stored).")
@click.option(
    "--passwords",
    "passwords_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help='TOML file of "file name or glob" = "password" pairs for encrypted PDFs.',
)
@click.option("--parse-timeout", type=click.FloatRange(min=0, min_open=True), help="Seconds per file (default 120).")
@click.option("--parse-memory-mb", type=click.IntRange(min=256), help="Parser memory limit (default 2048).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--no-wait", is_flag=True, help="Exit with code 5 instead of waiting while another ingest writes.")
@click.option("--watch", is_flag=True, help="Then keep the collection in sync with PATHS, as `ragkit watch` does.")
@click.pass_context
def ingest(
    ctx: click.Context,
    paths: tuple[Path, ...],
    collection: str | None,
    prune: bool,
    follow_symlinks: bool | None,
    max_file_mb: int | None,
    pdf_tables: bool | None,
    password: str | None,
    passwords_file: Path | None,
    parse_timeout: float | None,
    parse_memory_mb: int | None,
    as_json: bool,
    quiet: bool,
    no_wait: bool,
    watch: bool,
) -> None:
    """Parse, chunk and embed files and folders (PDF, TXT, MD, DOCX, PPTX, XLSX, HTML) into a collection.

    Unchanged files are skipped; changed files are re-embedded. Exits 1 if any file was skipped.
    """
    from tqdm import tqdm

    kit = _kit(
        ctx,
        collection=collection,
        follow_symlinks=follow_symlinks,
        max_file_mb=max_file_mb,
        pdf_tables=pdf_tables,
        parse_timeout=parse_timeout,
        parse_memory_mb=parse_memory_mb,
    )
    passwords = Passwords.load(password, passwords_file)
    _stop_on_sigterm(f"{kit.settings.data_dir}: ingest stopped by SIGTERM")
    bar = tqdm(total=0, unit="file", file=sys.stderr, disable=quiet, dynamic_ncols=True, desc="ingest")
    started = time.perf_counter()
    chunks = 0
    shown: set[str] = set()  # skips already printed under the progress bar

    def progress(result: FileResult, done: int, total: int) -> None:
        nonlocal chunks
        if result.status in ("added", "updated"):
            chunks += result.chunks
        bar.total = total
        rate = chunks / max(time.perf_counter() - started, 1e-6)
        bar.set_postfix_str(f"{chunks} chunks, {rate:.1f} chunks/s", refresh=False)
        bar.update(1)
        if result.status == "skipped":
            shown.add(result.path)
            bar.write(_file_line(result), file=sys.stderr)

    def waiting() -> None:
        click.echo("Another ragkit process is writing to this store; waiting for it to finish…", err=True)

    try:
        report = kit.ingest(
            paths, prune=prune, progress=progress, on_wait=None if no_wait else waiting, passwords=passwords
        )
    finally:
        bar.close()  # an error is then printed on a line of its own
    if as_json:
        _emit_json(report.to_json())
    else:
        for f in report.files:
            if f.status == "skipped" and not quiet and f.path not in shown:
                click.echo(_file_line(f), err=True)
        click.echo(
            f"{report.collection}: {report.count('added')} added, {report.count('updated')} updated, "
            f"{report.count('unchanged')} unchanged, {report.count('skipped')} skipped, "
            f"{report.count('removed')} removed; {report.chunks_added} chunks embedded in {report.seconds:.1f}s",
            err=True,
        )
    if watch:
        _watch(kit, paths, debounce=kit.settings.watch_debounce, poll=False, passwords=passwords)
    elif report.failed:
        ctx.exit(1)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@collection_option
@click.option(
    "--debounce",
    type=click.FloatRange(min=0),
    help="Seconds a file must stay unchanged before it is ingested (default 1).",
)
@click.option("--poll", is_flag=True, help="Poll the folders instead of using the system's file events.")
@click.option("--password", help="Password tried for every encrypted PDF (never printed or stored).")
@click.pass_context
def watch(
    ctx: click.Context,
    paths: tuple[Path, ...],
    collection: str | None,
    debounce: float | None,
    poll: bool,
    password: str | None,
) -> None:
    """Keep a collection in sync with folders: files added, changed, moved or deleted under PATHS.

    Starts with an ingest with prune of PATHS, then prints one line per change on stderr until
    Ctrl-C or SIGTERM (exit 0).
    """
    kit = _kit(ctx, collection=collection, watch_debounce=debounce)
    _watch(kit, paths, debounce=kit.settings.watch_debounce, poll=poll, passwords=Passwords.load(password, None))


def _print_sources(answer: Answer) -> None:
    """Each ``[n]`` of the answer with its sentence, file and page; for a declined answer, the
    closest passages with the sentence nearest the question."""
    if answer.evidence:
        click.echo("\nSources:")
        for e in answer.evidence:
            source = answer.sources[e.source - 1]
            flagged = f" [flagged: {', '.join(source.flags)}]" if source.flags else ""
            click.echo(
                f'[{e.n}] {display_path(e.file)} p.{e.page} — "{e.sentence}" (score {source.score:.2f}){flagged}'
            )
        return
    if not answer.shown_sources:
        return
    click.echo("\nClosest passages:" if answer.declined else "\nSources:")
    for s in answer.shown_sources:
        passage = quote(s.text, answer.evidence_for)
        flagged = f" [flagged: {', '.join(s.flags)}]" if s.flags else ""
        click.echo(f'[{s.n}] {display_path(s.file)} p.{s.page} — "{passage}" (score {s.score:.2f}){flagged}')


@cli.command()
@click.argument("question")
@collection_option
@click.option("--top-k", "-k", type=int, help="Passages to answer from (default 5).")
@click.option("--model", "-m", help="Packaged model name or path to a GGUF file.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of streaming.")
@click.pass_context
def query(
    ctx: click.Context, question: str, collection: str | None, top_k: int | None, model: str | None, as_json: bool
) -> None:
    """Answer QUESTION from your documents, citing file, page and passage."""
    if not question.strip():
        raise click.UsageError("QUESTION is empty")
    kit = _kit(ctx, collection=collection, top_k=top_k, model=model)
    if as_json:
        _emit_json(kit.ask(question).to_json())
    else:
        _stream(kit, question)


@cli.command()
@click.argument("question")
@collection_option
@click.option("--top-k", "-k", type=click.IntRange(min=1), default=10, show_default=True, help="Results to list.")
@click.option("--documents", is_flag=True, help="Rank whole documents (each by its best chunk) instead of chunks.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@click.pass_context
def search(
    ctx: click.Context, question: str, collection: str | None, top_k: int, documents: bool, as_json: bool
) -> None:
    """List the passages (or documents) retrieval finds for QUESTION, without asking the model."""
    if not question.strip():
        raise click.UsageError("QUESTION is empty")
    kit = _kit(ctx, collection=collection)
    if documents:
        found = kit.search_documents(question, n=top_k)
        if as_json:
            _emit_json([{"rank": i, "file": d.path, "score": round(d.score, 4)} for i, d in enumerate(found, 1)])
            return
        for i, d in enumerate(found, 1):
            click.echo(f"{i:3}  {d.score:.3f}  {display_path(d.path)}")
        return
    hits = kit.retrieve(question, top_k=top_k)
    if as_json:
        _emit_json(
            [
                {"rank": h.rank, "file": h.chunk.doc_path, "page": h.chunk.page, "chunk_id": h.chunk.id}
                | {"score": round(h.score, 4), "text": h.chunk.text}
                for h in hits
            ]
        )
        return
    for h in hits:
        snippet = " ".join(h.chunk.text.split())
        click.echo(f"{h.rank:3}  {h.score:.3f}  {display_path(h.chunk.doc_path)} p.{h.chunk.page}  {snippet[:100]}")


def _stream(kit: Ragkit, question: str, history: list[tuple[str, str]] | None = None) -> Answer:
    """Print the best-matching sentences at once, the answer as it is generated, what the
    checks changed, then its sources; return it."""
    stream = kit.stream(question, history=history or ())
    for event in stream:
        if event.kind == "preview":
            click.echo(click.style("While the model reads, the closest sentences:", dim=True), err=True)
            for p in event.previews:
                click.echo(click.style(f'  {display_path(p.file)} p.{p.page} — "{p.sentence}"', dim=True), err=True)
        else:
            click.echo(event.text, nl=False)
    answer = stream.answer
    assert answer is not None  # set once the events end
    click.echo(stream.closing)
    if answer.standalone_question and answer.standalone_question != answer.question:
        click.echo(f"(searched for: {answer.standalone_question})")
    _print_sources(answer)
    return answer


@cli.command()
@collection_option
@click.option("--top-k", "-k", type=int, help="Passages to answer from (default 5).")
@click.option("--model", "-m", help="Packaged model name or path to a GGUF file.")
@click.option(
    "--export",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Keep the conversation in this Markdown file (questions, answers, quoted sources), rewritten after each answer.",
)
@click.pass_context
def chat(ctx: click.Context, collection: str | None, top_k: int | None, model: str | None, export: Path | None) -> None:
    """Talk with your documents: follow-up questions understand the previous turn.

    Type a question and press Enter; an empty line, "exit" or Ctrl-D ends the session.
    """
    kit = _kit(ctx, collection=collection, top_k=top_k, model=model)
    kit.require_documents()
    click.echo(
        f"ragkit chat · collection {kit.settings.collection!r} · model {kit.settings.model}. "
        "Empty line or Ctrl-D to quit.",
        err=True,
    )
    answers: list[Answer] = []
    while True:
        try:
            question = click.prompt(
                click.style("you", bold=True), prompt_suffix="> ", default="", show_default=False, err=True
            ).strip()
        except (EOFError, click.Abort):
            question = ""
        if question.lower() in ("", "exit", "quit"):
            click.echo("", err=True)
            return
        answers.append(_stream(kit, question, history=[(a.question, a.answer) for a in answers[-1:]]))
        if export is not None:
            try:
                export.write_text(conversation_markdown(answers), encoding="utf-8")
            except OSError as exc:
                raise click.ClickException(f"{export}: cannot write the conversation ({exc.strerror})") from None


@cli.command()
@click.option("--port", type=int, help="Port to listen on (default: a free one).")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback needs --expose and a password.",
)
@click.option(
    "--expose",
    is_flag=True,
    help=f"Allow a non-loopback --host; the page then asks for the password in {PASSWORD_ENV}.",
)
@click.pass_context
def ui(ctx: click.Context, port: int | None, host: str, expose: bool) -> None:
    """Open the ragkit page in the browser (Streamlit, on 127.0.0.1 by default)."""
    kit = _kit(ctx)
    given = [name for name, value in ctx.obj.items() if value is not None and name != "config"]
    env = dict(os.environ) | as_environment(kit.settings, given)  # the group's flags reach the page
    if ctx.obj.get("config"):
        env["RAGKIT_CONFIG"] = str(ctx.obj["config"])
    env.pop(EXPOSED_ENV, None)
    if not is_loopback(host):
        if not expose:
            raise click.UsageError(f"--host {host} makes the page reachable from the network; add --expose to mean it")
        if not env.get(PASSWORD_ENV):
            raise click.UsageError(f"an exposed page needs a password: set {PASSWORD_ENV}")
        env[EXPOSED_ENV] = "1"
    port = port or free_port(host if is_loopback(host) else "0.0.0.0")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"ragkit page for {kit.settings.data_dir}: http://{shown}:{port}  (Ctrl-C to stop)", err=True)
    ctx.exit(run_page(serve_command(host, port), env))


def _service_module(name: str) -> Any:
    """Import ``ragkit.<name>``, whose libraries (FastAPI, uvicorn, mcp) come with the ``api`` extra."""
    import importlib

    try:
        return importlib.import_module(f"ragkit.{name}")
    except ModuleNotFoundError as exc:
        raise click.ClickException(
            f"{exc.name} is not installed: pip install 'ragkit[api]' (scripts/install.sh installs it)"
        ) from None


@cli.command()
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Anything but loopback needs --expose and a token.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option(
    "--expose",
    is_flag=True,
    help="Allow a non-loopback --host; every request then needs the bearer token set in RAGKIT_API_TOKEN.",
)
@click.option("--collection", "-c", help="Collection a request's model 'ragkit' (or none) means (default: 'default').")
@click.option("--model", "-m", help="Packaged model name or path to a GGUF file.")
@click.option("--top-k", "-k", type=int, help="Passages to answer from (default 5).")
@click.option(
    "--queue",
    type=click.IntRange(min=0),
    default=4,
    show_default=True,
    help="Questions that may wait while one is answered; more get 503 with Retry-After.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds one answer may take, its wait in the queue included.",
)
@click.option(
    "--max-body-kb", type=click.IntRange(min=1), default=1024, show_default=True, help="Largest JSON request body."
)
@click.option("--max-upload-mb", type=click.IntRange(min=1), help="Largest upload request (default: max_file_mb, 200).")
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    expose: bool,
    collection: str | None,
    model: str | None,
    top_k: int | None,
    queue: int,
    timeout: float,
    max_body_kb: int,
    max_upload_mb: int | None,
) -> None:
    """Serve the HTTP API on 127.0.0.1: OpenAI-compatible chat completions, search, documents.

    See docs/api.md for every endpoint.
    """
    api = _service_module("api")
    kit = _kit(ctx, collection=collection, model=model, top_k=top_k)
    limits = api.Limits(queue, timeout, max_body_kb, max_upload_mb or kit.settings.max_file_mb)
    api.run(kit, host=host, port=port, expose=expose, token=os.environ.get(api.TOKEN_ENV), limits=limits)


@cli.command()
@collection_option
@click.option("--model", "-m", help="Packaged model name or path to a GGUF file.")
@click.option("--top-k", "-k", type=int, help="Passages to answer from (default 5).")
@click.pass_context
def mcp(ctx: click.Context, collection: str | None, model: str | None, top_k: int | None) -> None:
    """Serve ragkit to a desktop assistant or agent over MCP on stdin/stdout: ask, search, list documents."""
    _service_module("mcp_server").run(_kit(ctx, collection=collection, model=model, top_k=top_k))


@cli.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.argument("page", type=click.IntRange(min=1))
@click.argument("sentence")
@collection_option
@click.option(
    "--png", type=click.Path(dir_okay=False, path_type=Path), help="Also write the page, sentence highlighted (PDF)."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: the text around it and, for a PDF, its boxes.")
@click.pass_context
def show(
    ctx: click.Context, file: Path, page: int, sentence: str, collection: str | None, png: Path | None, as_json: bool
) -> None:
    """Show SENTENCE where it stands on PAGE of FILE (as a source line of `ragkit query` names them)."""
    view = _kit(ctx, collection=collection).show(file, page, sentence)
    if png is not None:
        if view.png is None:
            raise click.ClickException(f"{file}: no page image ({view.note or 'only PDF pages are rendered'})")
        png.write_bytes(view.png.read_bytes())
    if as_json:
        _emit_json(view.to_json())
        return
    click.echo(click.style(f"{display_path(view.file)} p.{view.page}", bold=True))
    if view.start < 0:
        click.echo(f"(the sentence is not in this page's text: {sentence!r})\n{view.text}")
    else:
        marked = click.style(view.text[view.start : view.end], reverse=True, bold=True)
        click.echo(f"{view.text[: view.start]}»{marked}«{view.text[view.end :]}")
    if view.note:
        click.echo(f"({view.note})", err=True)
    if png is not None:
        click.echo(f"page image with {len(view.boxes)} highlighted rectangle(s): {png}", err=True)


@cli.command()
@collection_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def sources(ctx: click.Context, collection: str | None, as_json: bool) -> None:
    """List the documents stored in a collection."""
    kit = _kit(ctx, collection=collection)
    docs = kit.sources()
    if as_json:
        _emit_json([d.to_json() for d in docs])
        return
    if not docs:
        click.echo(
            f"No documents in collection {kit.settings.collection!r}. Add some with `ragkit ingest PATH`.", err=True
        )
        return
    for d in docs:
        click.echo(
            f"{display_path(d.path)}  ({d.parser}, {d.pages} page(s), {d.chunks} chunks, sha256 {d.sha256[:12]})"
        )


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@collection_option
@click.pass_context
def remove(ctx: click.Context, files: tuple[Path, ...], collection: str | None) -> None:
    """Delete documents (by the path they were ingested from) from a collection."""
    kit = _kit(ctx, collection=collection)
    missing = 0
    for file in files:
        if kit.remove(file):
            click.echo(f"removed {display_path(str(file))}", err=True)
        else:
            missing += 1
            click.echo(f"Error: {file}: not in collection {kit.settings.collection!r}", err=True)
    if missing:
        ctx.exit(1)


@cli.command()
@click.option("--repair", is_flag=True, help="Fix what the store check finds (waits for a running ingest).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object at the end.")
@click.option("--no-self-test", is_flag=True, help="Skip the recorded ingest + query in a subprocess.")
@click.pass_context
def doctor(ctx: click.Context, repair: bool, as_json: bool, no_self_test: bool) -> None:
    """Check versions, paths, models, store health and the offline switches, then prove with a
    recorded ingest + query that nothing connects beyond this machine. Exits 1 if a check fails."""
    from . import doctor as checks

    report = (lambda check: None) if as_json else (lambda check: click.echo(str(check)))
    found = checks.run(
        _kit(ctx), config_file=ctx.obj.get("config"), repair=repair, self_test_run=not no_self_test, report=report
    )
    if as_json:
        _emit_json(checks.to_json(found))
    if not checks.passed(found):
        ctx.exit(1)


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """List installed models with path, size, sha256 and license (or register one: models add)."""
    if ctx.invoked_subcommand is not None:
        return
    kit = _kit(ctx)
    rows = kit.models()
    if as_json:
        _emit_json([r.to_json() for r in rows])
        return
    for r in rows:
        default = " (default)" if r.name == kit.settings.model else ""
        state = r.path if r.installed else "not installed"
        click.echo(
            f"{r.name}{default}  [{r.kind}, {r.license}, {r.size / 1e6:.0f} MB]\n  {r.description}\n"
            f"  path:   {state}\n  sha256: {r.sha256}"
        )


@models.command("path")
@click.argument("name", required=False)
@click.pass_context
def models_path(ctx: click.Context, name: str | None) -> None:
    """Print the verified GGUF file of a model (default: the configured one), assembling a
    packaged model first: what a model server such as `python -m llama_cpp.server --model` loads."""
    from .models import resolve_llm

    kit = _kit(ctx)
    path, _label = resolve_llm(name or kit.settings.model, kit.settings.models_dir)
    click.echo(str(path))


@models.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", help="Name to use with --model (default: the file name without .gguf).")
@click.pass_context
def models_add(ctx: click.Context, path: Path, name: str | None) -> None:
    """Register a GGUF file: pin its sha256 so that ragkit will load it, and only as it is now."""
    entry = _kit(ctx).register_model(path, name)
    click.echo(f"registered {entry.name}: {entry.path}\n  sha256: {entry.sha256}\nuse it with --model {entry.name}")


# -- eval -----------------------------------------------------------------------------------

pipeline_option = click.option(
    "--pipeline",
    "pipelines",
    multiple=True,
    type=click.Choice(list(PIPELINES)),
    help="Pipeline(s) to run; default: both, ragkit's default first and the naive baseline.",
)
work_dir_option = click.option(
    "--work-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the eval's documents and store here and re-use them next time (default: a temporary dir).",
)


def _progress(quiet: bool) -> Callable[[str, int, int], None]:
    """A tqdm bar on stderr per stage (ingest, then each pipeline's questions)."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        if quiet:
            return
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, dynamic_ncols=True)
        bars[stage].total = total
        bars[stage].update(done - bars[stage].n)
        if done == total:
            bars[stage].close()

    return update


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows)


def _figure(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4f}" if isinstance(value, float) else str(value)


@cli.group(name="eval", cls=_Group)
def eval_group() -> None:
    """Measure retrieval and answers on labelled data (BEIR and SQuAD-style files)."""


@eval_group.command(name="retrieval")
@click.option(
    "--corpus",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='Corpus JSONL: {"_id","title","text"} per line.',
)
@click.option(
    "--queries",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='Queries JSONL: {"_id","text"} per line.',
)
@click.option(
    "--qrels",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Relevance TSV with header 'query-id corpus-id score'; without it only run files are written.",
)
@click.option(
    "--run-out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="TREC run file (top 100 documents per query); other pipelines get NAME.<pipeline>.EXT.",
)
@pipeline_option
@work_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def eval_retrieval(
    ctx: click.Context,
    corpus: Path,
    queries: Path,
    qrels: Path | None,
    run_out: Path,
    pipelines: tuple[str, ...],
    work_dir: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Ingest a corpus into a throw-away store, rank documents for each query, score the runs."""
    report = evaluate_retrieval(
        _kit(ctx),
        corpus=corpus,
        queries=queries,
        qrels=qrels,
        run_out=run_out,
        pipelines=pipelines or tuple(PIPELINES),
        work_dir=work_dir,
        progress=_progress(quiet),
    )
    if as_json:
        _emit_json(report.to_json())
        return
    click.echo(f"{report.documents} documents, {report.chunks} chunks (ingest {report.ingest_seconds:.1f}s)")
    rows = [("pipeline", "nDCG@10", "Recall@100", "MRR@10", "ms/query", "run file")]
    for r in report.results:
        s = r.scores or {}
        rows.append(
            (
                r.pipeline,
                *(_figure(s.get(m)) for m in ("ndcg@10", "recall@100", "mrr@10")),
                f"{r.ms_per_query:.1f}",
                r.run_file,
            )
        )
    click.echo(_table(rows))


_QA_ROWS = [
    ("exact_match", "exact match (answerable)"),
    ("f1", "F1 (answerable)"),
    ("answer_containment", "answer containment"),
    ("answered_rate", "answered (answerable)"),
    ("refusal_precision", "refusal precision"),
    ("refusal_recall", "refusal recall (unanswerable declined)"),
    ("citation_hit_rate", "citation hit rate"),
    ("citation_precision", "citation precision (evidence)"),
    ("ttft_mean_ms", "time to first token, mean ms"),
    ("ttft_p50_ms", "time to first token, p50 ms"),
]


@eval_group.command(name="qa")
@click.option(
    "--passages",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='Passages JSONL: {"id","title","text"} per line.',
)
@click.option(
    "--questions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    required=True,
    help='Questions JSONL: {"id","question","answers":[...],"is_impossible"?,"passage_id"?}.',
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Answers JSONL, one line per question; other pipelines get NAME.<pipeline>.EXT.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    help="Answer a seeded sample of N questions (half unanswerable when the data has both).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
@click.option("--model", "-m", help="Model name or GGUF path (default: the configured model).")
@click.option(
    "--drop-gold",
    is_flag=True,
    help="Answerable questions only, their own passages left out of the store: every answer should be a refusal.",
)
@pipeline_option
@work_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@click.pass_context
def eval_qa(
    ctx: click.Context,
    passages: Path,
    questions: Path,
    out: Path,
    limit: int | None,
    seed: int,
    model: str | None,
    drop_gold: bool,
    pipelines: tuple[str, ...],
    work_dir: Path | None,
    as_json: bool,
    quiet: bool,
) -> None:
    """Ingest passages into a throw-away store, answer the questions, score answers and refusals."""
    report = evaluate_qa(
        _kit(ctx),
        passages=passages,
        questions=questions,
        out=out,
        pipelines=pipelines or tuple(PIPELINES),
        limit=limit,
        seed=seed,
        model=model,
        work_dir=work_dir,
        progress=_progress(quiet),
        drop_gold=drop_gold,
    )
    if as_json:
        _emit_json(report.to_json())
        return
    first = report.results[0].scores
    click.echo(
        f"{report.passages} passages; {first['questions']} questions ({first['answerable']} answerable, "
        f"{first['unanswerable']} unanswerable); model {report.model}"
    )
    rows = [("metric", *(r.pipeline for r in report.results))]
    rows += [(label, *(_figure(r.scores[key]) for r in report.results)) for key, label in _QA_ROWS]
    click.echo(_table(rows))
    for r in report.results:
        click.echo(f"answers ({r.pipeline}): {r.answers_file}")


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ragkit")


if __name__ == "__main__":
    main()
