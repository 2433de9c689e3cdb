"""Heading vectors: one MiniLM vector per distinct section context ("title > heading path").

The reranker compares a question with the heading of each candidate passage; embedding the
headings at query time would cost ~2 ms each, so they are embedded once, when the retriever's
sections are built, and cached by text in ``<path>`` (a ``.npz`` file) so a rebuild after an
ingest embeds only headings it has not seen. Without a path the cache lives in memory only.
"""

from __future__ import annotations

import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from knowledge.embeddings import Embedder


class HeadingVectors:
    """Cached unit vectors of heading texts (see the module docstring)."""

    def __init__(self, embedder: Embedder, path: Path | None = None) -> None:
        self.embedder = embedder
        self.path = path
        self._cache: dict[str, np.ndarray] = self._load()

    def _load(self) -> dict[str, np.ndarray]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            with np.load(self.path, allow_pickle=False) as saved:
                texts, vectors = saved["texts"], saved["vectors"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            return {}  # unreadable: rebuilt on the next save
        return {str(t): v for t, v in zip(texts, vectors, strict=True)}

    def matrix(self, texts: Sequence[str]) -> np.ndarray:
        """A ``len(texts) x dim`` float32 matrix of unit vectors, embedding only new texts."""
        missing = sorted({t for t in texts if t not in self._cache})
        if missing:
            for text, vector in zip(missing, self.embedder.embed(missing), strict=True):
                self._cache[text] = np.asarray(vector, dtype=np.float32)
            self._save(set(texts))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts]).astype(np.float32, copy=False)

    def _save(self, keep: set[str]) -> None:
        """Write the cache, keeping only ``keep`` (the headings now in use)."""
        self._cache = {t: v for t, v in self._cache.items() if t in keep}
        if self.path is None or not self._cache:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        texts = sorted(self._cache)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(tmp, texts=np.array(texts), vectors=np.stack([self._cache[t] for t in texts]))
        tmp.replace(self.path)
