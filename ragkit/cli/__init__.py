"""The ``ragkit`` command: a thin click shell over :class:`ragkit.Ragkit`.

Exit codes: 0 ok; 1 failure (including an ingest where some files were skipped); 2 usage or
configuration error; 3 model missing or corrupt; 4 empty or missing collection; 5 store locked
by another writer.
"""

from __future__ import annotations

from . import admin, answers, documents, evaluation, services  # noqa: F401 - each adds its commands to the group
from .base import cli

__all__ = ["cli", "main"]


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ragkit")
