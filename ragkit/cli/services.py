"""Commands that serve ragkit to a browser, an HTTP client or an MCP client."""

from __future__ import annotations

import os
from typing import Any

import click

from .. import PAGE_EXPOSED_ENV, PAGE_PASSWORD_ENV, free_port, is_loopback, run_page
from .base import cli, collection_option, make_kit


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
    help=f"Allow a non-loopback --host; the page then asks for the password in {PAGE_PASSWORD_ENV}.",
)
@click.pass_context
def ui(ctx: click.Context, port: int | None, host: str, expose: bool) -> None:
    """Open the ragkit page in the browser (Streamlit, on 127.0.0.1 by default)."""
    kit = make_kit(ctx)
    given = [name for name, value in ctx.obj.items() if value is not None and name != "config"]
    env = dict(os.environ) | kit.settings.environment(given)  # the group's flags reach the page
    if ctx.obj.get("config"):
        env["RAGKIT_CONFIG"] = str(ctx.obj["config"])
    env.pop(PAGE_EXPOSED_ENV, None)
    if not is_loopback(host):
        if not expose:
            raise click.UsageError(f"--host {host} makes the page reachable from the network; add --expose to mean it")
        if not env.get(PAGE_PASSWORD_ENV):
            raise click.UsageError(f"an exposed page needs a password: set {PAGE_PASSWORD_ENV}")
        env[PAGE_EXPOSED_ENV] = "1"
    port = port or free_port(host if is_loopback(host) else "0.0.0.0")
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    click.echo(f"ragkit page for {kit.settings.data_dir}: http://{shown}:{port}  (Ctrl-C to stop)", err=True)
    ctx.exit(run_page(host, port, env))


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
    kit = make_kit(ctx, collection=collection, model=model, top_k=top_k)
    limits = api.Limits(queue, timeout, max_body_kb, max_upload_mb or kit.settings.max_file_mb)
    api.run(kit, host=host, port=port, expose=expose, token=os.environ.get(api.TOKEN_ENV), limits=limits)


@cli.command()
@collection_option
@click.option("--model", "-m", help="Packaged model name or path to a GGUF file.")
@click.option("--top-k", "-k", type=int, help="Passages to answer from (default 5).")
@click.pass_context
def mcp(ctx: click.Context, collection: str | None, model: str | None, top_k: int | None) -> None:
    """Serve ragkit to a desktop assistant or agent over MCP on stdin/stdout: ask, search, list documents."""
    _service_module("mcp_server").run(make_kit(ctx, collection=collection, model=model, top_k=top_k))
