"""ragkit: private, offline question answering over your own documents, with citations.

Importing ragkit first forces the offline and no-telemetry switches (see :mod:`ragkit._offline`)
before any library that could phone home is imported.

>>> from ragkit import Ragkit
>>> kit = Ragkit()
>>> kit.ingest(["sample_docs"])                                  # doctest: +SKIP
>>> print(kit.ask("How many days of annual leave?").answer)      # doctest: +SKIP
"""

from . import _offline  # noqa: F401  (must stay the first import)
from .config import Settings, collection_name, load_settings
from .errors import (
    ConfigError,
    EmptyCollectionError,
    ModelError,
    ParseError,
    RagkitError,
    ServerError,
    StoppedError,
    StoreError,
)
from .library import FILE_TYPES, Ragkit
from .prompt import quote
from .records import (
    Answer,
    Box,
    DocumentInfo,
    Evidence,
    FileResult,
    IngestReport,
    PageView,
    Source,
    Timings,
    Unsupported,
)
from .stream import CORRECTED, MARKS, UNCHANGED, WITHHELD, AnswerStream, Preview
from .transcript import to_markdown as conversation_markdown

__version__ = "0.1.0"

__all__ = [
    "CORRECTED",
    "MARKS",
    "UNCHANGED",
    "WITHHELD",
    "Answer",
    "AnswerStream",
    "Box",
    "ConfigError",
    "DocumentInfo",
    "Evidence",
    "EmptyCollectionError",
    "FILE_TYPES",
    "FileResult",
    "IngestReport",
    "ModelError",
    "PageView",
    "Preview",
    "ParseError",
    "Ragkit",
    "RagkitError",
    "ServerError",
    "Settings",
    "StoppedError",
    "StoreError",
    "Source",
    "Timings",
    "Unsupported",
    "collection_name",
    "conversation_markdown",
    "load_settings",
    "quote",
]
