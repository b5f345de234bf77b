"""Exceptions that ragkit raises on purpose, each mapped to a documented CLI exit code.

Every message is one line that names the thing at fault and how to fix it, because the CLI
prints it as is and the page shows it as a message, never as a traceback.
"""

from __future__ import annotations


class RagkitError(Exception):
    """Base class; ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class ConfigError(RagkitError):
    """A setting is invalid (bad value in a flag, variable or config file)."""

    exit_code = 2


class ModelError(RagkitError):
    """A model is missing, corrupt (sha256 mismatch) or cannot be loaded."""

    exit_code = 3


class EmptyCollectionError(RagkitError):
    """The collection to query does not exist or holds no documents."""

    exit_code = 4


class ParseError(RagkitError):
    """One file could not be turned into text; ``reason`` is short and user-facing."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ServerError(RagkitError):
    """A Chroma server or model server cannot be reached, or failed while answering."""

    exit_code = 6


class StoreError(RagkitError):
    """The data dir cannot be written: the disk is full or a file size limit was reached."""

    exit_code = 7


class StoppedError(RagkitError):
    """The command was stopped by a signal (SIGTERM) before it finished."""

    exit_code = 143


class StoreLockedError(RagkitError):
    """Another process is writing to the same store."""

    exit_code = 5
