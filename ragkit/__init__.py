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
from .doctor import Check, Diagnosis
from .endpoints import is_loopback
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
from .evaluate import evaluate_qa, evaluate_retrieval
from .library import FILE_TYPES, Ragkit
from .passwords import Passwords
from .prompt import quote
from .records import (
    Answer,
    Box,
    DocumentInfo,
    Evidence,
    FileResult,
    Hit,
    IngestReport,
    PageView,
    Source,
    Timings,
    Unsupported,
)
from .render import display_path, highlighted_passage, literal, neutralize
from .retrieve import PIPELINES
from .serve import PAGE_EXPOSED_ENV, PAGE_PASSWORD_ENV, free_port, run_page
from .stream import CORRECTED, MARKS, UNCHANGED, WITHHELD, AnswerStream, Event, Preview
from .transcript import to_markdown as conversation_markdown

__version__ = "0.1.0"

__all__ = [
    "CORRECTED",
    "FILE_TYPES",
    "MARKS",
    "PAGE_EXPOSED_ENV",
    "PAGE_PASSWORD_ENV",
    "PIPELINES",
    "UNCHANGED",
    "WITHHELD",
    "Answer",
    "AnswerStream",
    "Box",
    "Check",
    "ConfigError",
    "Diagnosis",
    "DocumentInfo",
    "EmptyCollectionError",
    "Event",
    "Evidence",
    "FileResult",
    "Hit",
    "IngestReport",
    "ModelError",
    "PageView",
    "ParseError",
    "Passwords",
    "Preview",
    "Ragkit",
    "RagkitError",
    "ServerError",
    "Settings",
    "Source",
    "StoppedError",
    "StoreError",
    "Timings",
    "Unsupported",
    "collection_name",
    "conversation_markdown",
    "display_path",
    "evaluate_qa",
    "evaluate_retrieval",
    "free_port",
    "highlighted_passage",
    "is_loopback",
    "literal",
    "load_settings",
    "neutralize",
    "quote",
    "run_page",
]
