"""Commands that answer or search: ``query``, ``search``, ``chat``."""

from __future__ import annotations

from pathlib import Path

import click

from .. import Answer, Ragkit, conversation_markdown, display_path, quote
from .base import cli, collection_option, emit_json, make_kit


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
    kit = make_kit(ctx, collection=collection, top_k=top_k, model=model)
    if as_json:
        emit_json(kit.ask(question).to_json())
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
    kit = make_kit(ctx, collection=collection)
    if documents:
        found = kit.search_documents(question, n=top_k)
        if as_json:
            emit_json([{"rank": i, "file": d.path, "score": round(d.score, 4)} for i, d in enumerate(found, 1)])
            return
        for i, d in enumerate(found, 1):
            click.echo(f"{i:3}  {d.score:.3f}  {display_path(d.path)}")
        return
    hits = kit.retrieve(question, top_k=top_k)
    if as_json:
        emit_json(
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
    kit = make_kit(ctx, collection=collection, top_k=top_k, model=model)
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
        answers.append(_stream(kit, question, history=[(a.question, a.answer) for a in answers]))
        if export is not None:
            try:
                export.write_text(conversation_markdown(answers), encoding="utf-8")
            except OSError as exc:
                raise click.ClickException(f"{export}: cannot write the conversation ({exc.strerror})") from None
