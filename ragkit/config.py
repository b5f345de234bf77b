"""Settings, resolved in one place with one precedence: flag > ``RAGKIT_*`` env > TOML > default.

Every setting is a field of :class:`Settings`; its environment variable is ``RAGKIT_`` plus the
field name in upper case, and its TOML key is the field name. The config file is, in order:
``--config``, ``RAGKIT_CONFIG``, or ``config.toml`` in the platform's user config dir.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from . import endpoints
from .errors import ConfigError

APP_NAME = "ragkit"
#: Suffix of the server-side collection that lists a collection's documents (server mode).
MANIFEST_SUFFIX = "__manifest"
_COLLECTION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")


def collection_name(name: str) -> str:
    """``name`` if it may name a collection, else a ConfigError that says why.

    Checked wherever a name enters (settings, ``-c``, the page's "new collection" box): the
    ``__manifest`` suffix is ragkit's own on a store server, and a collection named with it would
    make another collection's document records look like this one's vectors.
    """
    if not _COLLECTION_RE.match(name):
        raise ConfigError(
            f"invalid collection name {name!r}: use 3-63 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit"
        )
    if name.endswith(MANIFEST_SUFFIX):
        raise ConfigError(f"invalid collection name {name!r}: the suffix {MANIFEST_SUFFIX} is ragkit's own")
    return name


def default_data_dir() -> Path:
    """The platform's user data dir (``~/.local/share/ragkit`` on Linux)."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    """The platform's user config file (``~/.config/ragkit/config.toml`` on Linux)."""
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "config.toml"


@dataclass(frozen=True)
class Settings:
    """Everything ragkit can be told. Field docs double as ``ragkit config`` help."""

    #: Where stores live: one chromadb directory plus one SQLite manifest per data dir.
    data_dir: Path = field(default_factory=default_data_dir)
    #: Where packaged GGUF weights are assembled once. Shared by all data dirs on purpose:
    #: several stores side by side must not each hold a 1 GB copy of the same model.
    models_dir: Path = field(default_factory=lambda: default_data_dir() / "models")
    #: Named set of documents inside the data dir.
    collection: str = "default"
    #: A packaged model name (see ``ragkit models``) or a path to any GGUF file.
    model: str = "qwen2.5-coder-1.5b"
    #: Passages given to the model.
    top_k: int = 5
    #: Below this cosine similarity a passage is not relevant enough to answer from, unless
    #: its words match the question (lexical hit).
    min_score: float = 0.3
    #: ragkit declines when the model's probability of naming an evidence sentence rather than
    #: "none" is below this (0: never on that ground). Unset (``auto``): the packaged model's own
    #: threshold, else 0.5 (trade-off curve in docs/benchmarks.md).
    min_confidence: float | None = None
    #: ragkit declines when the evidence sentences and their neighbours hold less than this
    #: share of the question's terms, each weighted by its rarity among the prompt's sentences
    #: (0: never on that ground). Chosen on a dev split (docs/benchmarks.md).
    min_coverage: float = 0.0
    #: Chunk size and overlap, in embedder tokens (MiniLM reads at most 256).
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    #: Prompt tokens all passages together may take; longer passages are cut to the sentences
    #: around their best match (0: whole passages). Prompt reading dominates the wait on a CPU.
    context_tokens: int = 450
    #: Texts embedded per batch.
    embed_batch: int = 32
    #: Follow symlinks found inside an ingested folder (only to targets inside that folder).
    follow_symlinks: bool = False
    #: Re-read PDF pages that draw ruled tables with pdfplumber, each row labelled with its
    #: column headers (about ten times slower on those pages; other pages cost nothing more).
    pdf_tables: bool = True
    #: Files larger than this many megabytes are skipped at ingest.
    max_file_mb: int = 200
    #: Seconds one file may take to parse (OCR included) before its parser process is killed.
    parse_timeout: float = 120.0
    #: Megabytes of address space the parser process may use; a file needing more is skipped.
    parse_memory_mb: int = 2048
    #: Seconds a watched file must stay unchanged before ``ragkit watch`` ingests it (it may still be being written).
    watch_debounce: float = 1.0
    #: llama.cpp context window, threads (0: all physical cores), answer length, temperature.
    n_ctx: int = 4096
    n_threads: int = 0
    #: Model layers llama.cpp runs on the GPU (Metal, CUDA); unset (``auto``): all of them when
    #: the installed llama.cpp was built for one, else none (-1: all).
    n_gpu_layers: int | None = None
    #: llama.cpp's flash attention: 1.07x faster prompt reading on an AVX-512 CPU, a tie or
    #: slower on an AVX2 one, and it moves the probabilities min_confidence was chosen with
    #: (docs/benchmarks.md); off unless asked for (a GPU user may want it on).
    flash_attn: bool = False
    max_tokens: int = 384
    temperature: float = 0.1
    #: A Chroma server (``chroma run``) to store vectors on instead of the embedded store, e.g.
    #: ``http://127.0.0.1:8000``. The manifest and lexical index are then a local mirror of it.
    store_url: str = ""
    #: An OpenAI-compatible model server (``/v1/chat/completions``) to answer with instead of
    #: loading the GGUF in this process, e.g. ``http://127.0.0.1:8001``.
    llm_url: str = ""
    #: API key sent to the model server as a bearer token (vLLM ``--api-key`` and the like).
    llm_api_key: str = ""
    #: Hosts beyond this machine that ``store_url`` and ``llm_url`` may name. Documents and
    #: questions go to those servers, so no host is contacted unless someone named it here.
    allow_remote: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        collection_name(self.collection)
        positive = ("top_k", "chunk_tokens", "embed_batch", "n_ctx", "max_tokens", "max_file_mb", "parse_timeout")
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be positive, got {getattr(self, name)}")
        if self.parse_memory_mb < 256:
            raise ConfigError(
                f"parse_memory_mb must be at least 256 (the parser alone needs that), got {self.parse_memory_mb}"
            )
        if self.min_confidence is not None and not 0 <= self.min_confidence <= 1:
            raise ConfigError(f"min_confidence must be between 0 and 1, got {self.min_confidence}")
        if self.n_gpu_layers is not None and self.n_gpu_layers < -1:
            raise ConfigError(f"n_gpu_layers must be -1 (all), 0 or more, or auto, got {self.n_gpu_layers}")
        if not 0 <= self.min_coverage <= 1:
            raise ConfigError(f"min_coverage must be between 0 and 1, got {self.min_coverage}")
        if self.context_tokens < 0:
            raise ConfigError(f"context_tokens must be >= 0, got {self.context_tokens}")
        if not 0 <= self.chunk_overlap < self.chunk_tokens:
            raise ConfigError("chunk_overlap must be >= 0 and smaller than chunk_tokens")
        self.endpoints()  # refuses a URL whose host nobody allowed, before anything connects

    def endpoints(self) -> dict[str, endpoints.Endpoint]:
        """The servers these settings name (``store_url``, ``llm_url``), checked; empty when embedded."""
        return {
            name: endpoints.parse(name, url, self.allow_remote)
            for name in endpoints.ROLES
            if (url := getattr(self, name))
        }

    def environment(self, names: Iterable[str]) -> dict[str, str]:
        """These settings' values of ``names`` as the ``RAGKIT_*`` variables that reproduce them in
        another process (lists comma-separated, as :func:`load_settings` reads them): how the page
        and the doctor's self-test inherit what the user chose."""
        out = {}
        for name in names:
            value = getattr(self, name)
            text = ",".join(value) if isinstance(value, tuple) else "" if value is None else str(value)
            out[f"RAGKIT_{name.upper()}"] = text
        return out


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _boolean(value: Any) -> bool:
    """A flag, a TOML boolean, or an environment string such as ``1``/``true``/``no``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(value)


def _coerce(name: str, value: Any, origin: str) -> Any:
    """Turn a string from the environment (or a TOML value) into the field's type."""
    kind = _FIELDS[name].type
    try:
        if kind == "Path":
            return Path(os.path.expanduser(str(value)))
        if kind == "bool":
            return _boolean(value)
        if kind == "tuple[str, ...]":
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(str(item).strip() for item in items if str(item).strip())
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind in ("float | None", "int | None"):  # "auto" (or empty): the default chosen for the machine
            if str(value).strip().lower() in ("", "auto"):
                return None
            return float(value) if kind == "float | None" else int(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{origin}: {name} must be {kind}, got {value!r}") from None


def read_toml(path: Path, what: str = "config file") -> dict[str, Any]:
    """A TOML file as a dict, or a one-line ConfigError naming the file and the reason."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read {what}: {exc.strerror}") from None


def _read_settings(path: Path) -> dict[str, Any]:
    data = read_toml(path)
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(unknown)}; known: {', '.join(_FIELDS)}")
    return data


def config_path(config_file: Path | None = None, environ: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """The config file to read: ``--config``, else ``RAGKIT_CONFIG``, else the user's default
    one; and whether it was named (a named file must exist, the default one may not)."""
    env = os.environ if environ is None else environ
    explicit = config_file or (Path(env["RAGKIT_CONFIG"]) if env.get("RAGKIT_CONFIG") else None)
    return (explicit, True) if explicit is not None else (default_config_file(), False)


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Resolve settings. ``overrides`` are the flags the user gave (``None`` values are ignored)."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}

    path, explicit = config_path(config_file, env)
    if explicit and not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    if path.is_file():
        for name, value in _read_settings(path).items():
            values[name] = _coerce(name, value, str(path))

    for name in _FIELDS:
        var = f"RAGKIT_{name.upper()}"
        if env.get(var, "") != "":
            values[name] = _coerce(name, env[var], var)

    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _coerce(name, value, f"--{name.replace('_', '-')}")

    return Settings(**values)
