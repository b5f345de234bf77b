"""Texts -> unit vectors with a locally installed sentence-transformers model.

The model is loaded from its directory inside site-packages after its weights pass the pinned
sha256; ``HF_HUB_OFFLINE`` (set by :mod:`ragkit._offline`) guarantees that a missing file is an
error here, never a download.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import models


class _Loaded:
    """One model directory's loaded model and the lock every user of it takes.

    The lock is shared, not per :class:`Embedder`: Hugging Face fast tokenizers fail ("Already
    borrowed") when two threads encode at once.
    """

    def __init__(self) -> None:
        self.model: Any = None
        self.lock = threading.Lock()


#: Loaded models by directory, shared by every Embedder in the process (a server's, a test
#: run's, the page's), so a second Ragkit costs no second load or copy in memory.
_LOADED: dict[Path, _Loaded] = {}
_LOADED_LOCK = threading.Lock()


class Embedder:
    """A sentence-transformers model on the CPU, thread-safe, producing L2-normalized float32.

    The weights are verified at construction but loaded (torch import included, seconds) only
    when something needs embedding, so an ingest of unchanged files stays instant; once loaded,
    the model serves every Embedder of that directory in the process.
    """

    def __init__(self, name: str = models.DEFAULT_EMBEDDER, batch_size: int = 32) -> None:
        self.name = name
        self.directory: Path = models.embedder_dir(name)
        self.batch_size = batch_size
        with _LOADED_LOCK:
            self._shared = _LOADED.setdefault(self.directory, _Loaded())

    def load(self) -> None:
        """Load the model now (the page and ``ask`` do, so timings measure work, not imports)."""
        with self._shared.lock:
            self._loaded()

    def _loaded(self) -> Any:
        if self._shared.model is None:
            from sentence_transformers import SentenceTransformer

            self._shared.model = SentenceTransformer(str(self.directory), device="cpu", local_files_only=True)
        return self._shared.model

    @property
    def identity(self) -> str:
        """Name plus weights hash prefix: recorded in each collection so vectors never mix models."""
        return f"{self.name}@{models.REGISTRY[self.name].sha256[:12]}"

    @property
    def tokenizer_file(self) -> Path:
        """The tokenizer.json that the chunker counts tokens with."""
        return self.directory / "tokenizer.json"

    @property
    def max_tokens(self) -> int:
        """Tokens the model reads per text; longer input is truncated by the model."""
        config = json.loads((self.directory / "sentence_bert_config.json").read_text())
        return int(config["max_seq_length"])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts in batches; returns an (n, d) float32 array of unit vectors."""
        with self._shared.lock:
            model = self._loaded()
            if not texts:
                return np.zeros((0, model.get_sentence_embedding_dimension() or 0), dtype=np.float32)
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)
