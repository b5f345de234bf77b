"""Commands that check the installation and manage the models."""

from __future__ import annotations

from pathlib import Path

import click

from .base import cli, emit_json, make_kit


@cli.command()
@click.option("--repair", is_flag=True, help="Fix what the store check finds (waits for a running ingest).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object at the end.")
@click.option("--no-self-test", is_flag=True, help="Skip the recorded ingest + query in a subprocess.")
@click.pass_context
def doctor(ctx: click.Context, repair: bool, as_json: bool, no_self_test: bool) -> None:
    """Check versions, paths, models, store health and the offline switches, then prove with a
    recorded ingest + query that nothing connects beyond this machine. Exits 1 if a check fails."""
    report = None if as_json else (lambda check: click.echo(str(check)))
    found = make_kit(ctx).diagnose(
        config_file=ctx.obj.get("config"), repair=repair, self_test=not no_self_test, report=report
    )
    if as_json:
        emit_json(found.to_json())
    if not found.passed:
        ctx.exit(1)


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """List installed models with path, size, sha256 and license (or register one: models add)."""
    if ctx.invoked_subcommand is not None:
        return
    kit = make_kit(ctx)
    rows = kit.models()
    if as_json:
        emit_json([r.to_json() for r in rows])
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
    click.echo(str(make_kit(ctx).model_path(name)))


@models.command("add")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--name", help="Name to use with --model (default: the file name without .gguf).")
@click.pass_context
def models_add(ctx: click.Context, path: Path, name: str | None) -> None:
    """Register a GGUF file: pin its sha256 so that ragkit will load it, and only as it is now."""
    entry = make_kit(ctx).register_model(path, name)
    click.echo(f"registered {entry.name}: {entry.path}\n  sha256: {entry.sha256}\nuse it with --model {entry.name}")
