"""The ``ragkit`` group: its options, its one-line errors, and what every command shares."""

from __future__ import annotations

import json
import signal
from pathlib import Path
from typing import Any

import click

from .. import Ragkit, RagkitError, StoppedError, __version__, load_settings  # the offline switches come first


class Group(click.Group):
    """Turns ragkit's own errors into one line on stderr and their documented exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except RagkitError as exc:
            click.echo(f"Error: {exc}", err=True)
            ctx.exit(exc.exit_code)


def stop_on_sigterm(ctx: click.Context, what: str) -> None:
    """Let SIGTERM end the command with one line and exit 143 instead of dying mid-write.

    Python's default for SIGTERM ends the process without a word; raising here unwinds the
    command instead, and the write lock keeps the writer's pid, so the next write repairs first.
    """

    def stop(_signum: int, _frame: object) -> None:
        raise StoppedError(f"{what}; run it again to finish (it first repairs what was left half written)")

    previous = signal.signal(signal.SIGTERM, stop)
    ctx.call_on_close(lambda: signal.signal(signal.SIGTERM, previous))  # a longer-lived process goes on


def make_kit(ctx: click.Context, **overrides: Any) -> Ragkit:
    """Settings from flags given here and on the group, then env, config file and defaults."""
    flags = dict(ctx.obj)
    flags.update({k: v for k, v in overrides.items() if v is not None})
    config = flags.pop("config", None)
    kit = Ragkit(load_settings(flags, config_file=config))
    ctx.call_on_close(kit.close)  # the command may run in a longer-lived process (tests, scripts)
    return kit


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


collection_option = click.option("--collection", "-c", help="Collection name (default: 'default').")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
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
