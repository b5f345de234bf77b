"""Commands that put documents in a collection, keep it in sync, and show what it holds."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from .. import FileResult, Passwords, Ragkit, display_path
from .base import cli, collection_option, emit_json, make_kit, stop_on_sigterm


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

    kit = make_kit(
        ctx,
        collection=collection,
        follow_symlinks=follow_symlinks,
        max_file_mb=max_file_mb,
        pdf_tables=pdf_tables,
        parse_timeout=parse_timeout,
        parse_memory_mb=parse_memory_mb,
    )
    passwords = Passwords.load(password, passwords_file)
    stop_on_sigterm(ctx, f"{kit.settings.data_dir}: ingest stopped by SIGTERM")
    bar = tqdm(total=0, unit="file", file=sys.stderr, disable=quiet, dynamic_ncols=True, desc="ingest")
    started = time.perf_counter()
    chunks = pages = 0
    shown: set[str] = set()  # skips already printed under the progress bar

    def progress(result: FileResult, done: int, total: int) -> None:
        nonlocal chunks, pages
        if result.status in ("added", "updated"):
            chunks, pages = chunks + result.chunks, pages + result.pages
        bar.total = total
        seconds = max(time.perf_counter() - started, 1e-6)
        bar.set_postfix_str(
            f"pages: {pages} ({pages / seconds:.1f}/s), chunks: {chunks} ({chunks / seconds:.1f}/s)", refresh=False
        )
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
        emit_json(report.to_json())
    else:
        for f in report.files:
            if f.status == "skipped" and not quiet and f.path not in shown:
                click.echo(_file_line(f), err=True)
        click.echo(
            f"{report.collection}: {report.count('added')} added, {report.count('updated')} updated, "
            f"{report.count('unchanged')} unchanged, {report.count('skipped')} skipped, "
            f"{report.count('removed')} removed; {report.chunks_added} chunks of {report.pages_added} pages "
            f"embedded in {report.seconds:.1f}s",
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
    kit = make_kit(ctx, collection=collection, watch_debounce=debounce)
    _watch(kit, paths, debounce=kit.settings.watch_debounce, poll=poll, passwords=Passwords.load(password, None))


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
    view = make_kit(ctx, collection=collection).show(file, page, sentence)
    if png is not None:
        if view.png is None:
            raise click.ClickException(f"{file}: no page image ({view.note or 'only PDF pages are rendered'})")
        png.write_bytes(view.png.read_bytes())
    if as_json:
        emit_json(view.to_json())
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
    kit = make_kit(ctx, collection=collection)
    docs = kit.sources()
    if as_json:
        emit_json([d.to_json() for d in docs])
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
    kit = make_kit(ctx, collection=collection)
    missing = 0
    for file in files:
        if kit.remove(file):
            click.echo(f"removed {display_path(str(file))}", err=True)
        else:
            missing += 1
            click.echo(f"Error: {file}: not in collection {kit.settings.collection!r}", err=True)
    if missing:
        ctx.exit(1)
