"""The term-based index: BM25 (``bm25s``) over the same chunks Chroma holds.

Contract: built from the chunks stored in the knowledge index (``build``) and saved beside the
Chroma data (``<data dir>/lexical/<collection>/``); ``open_lexical`` reloads it and rebuilds it
when its fingerprint (the sorted chunk ids) no longer matches the store, so it never drifts from
Chroma. Text indexed per chunk: title, heading path and body, lower-cased, English stop words
removed, Snowball-stemmed. Searches filter on knowledge spaces inside the scorer (a weight mask),
never after the top k.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer

from knowledge.index import StoredChunk

_STEMMER = Stemmer.Stemmer("english")
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
_META_FILE = "chunks.jsonl"
_FINGERPRINT_FILE = "fingerprint.txt"


def indexed_text(chunk: StoredChunk) -> str:
    """What BM25 sees of a chunk: title, heading path and body."""
    return "\n".join(part for part in (chunk.title, chunk.heading, chunk.text) if part)


def tokenize(texts: Sequence[str]) -> Any:
    """bm25s tokens (ids + vocabulary) with stop words removed and stemming."""
    return bm25s.tokenize(
        list(texts), stopwords="en", stemmer=_STEMMER.stemWords, show_progress=False
    )


def query_terms(query: str) -> list[str]:
    """A query's terms, processed like the indexed text."""
    result = bm25s.tokenize(
        [query], stopwords="en", stemmer=_STEMMER.stemWords, return_ids=False, show_progress=False
    )
    return list(result[0]) if result else []


_FORMAT = "2"
"""Bumped when what is saved per chunk changes, so older saves are rebuilt."""


def fingerprint(ids: Iterable[str]) -> str:
    """A short digest of a set of chunk ids (and of the save format)."""
    digest = hashlib.sha256("\n".join([_FORMAT, *sorted(ids)]).encode("utf-8"))
    return digest.hexdigest()[:32]


class LexicalIndex:
    """BM25 over a fixed list of chunks; rebuild it (``build``) when the chunks change."""

    def __init__(self, docs: list[StoredChunk], model: bm25s.BM25 | None) -> None:
        self.docs = docs
        self._model = model
        self._scopes = np.array([d.scope for d in docs], dtype=object)
        self._vocabulary: set[str] = set(model.vocab_dict) if model is not None else set()
        self.fingerprint = fingerprint(d.id for d in docs)
        self.scopes: frozenset[str] = frozenset(self._scopes.tolist())
        """The knowledge spaces of the indexed chunks."""

    @classmethod
    def build(cls, chunks: Iterable[StoredChunk]) -> LexicalIndex:
        docs = list(chunks)
        if not docs:
            return cls([], None)
        model = bm25s.BM25()
        model.index(tokenize([indexed_text(d) for d in docs]), show_progress=False)
        return cls(docs, model)

    def __len__(self) -> int:
        return len(self.docs)

    def search(
        self, query: str, k: int = 10, scopes: Sequence[str] | None = None
    ) -> list[tuple[StoredChunk, float]]:
        """The ``k`` best chunks for ``query`` (only from ``scopes`` when given), best first;
        chunks that share no term with the query are not returned."""
        if self._model is None or not query.strip():
            return []
        mask = None
        if scopes is not None:
            mask = np.isin(self._scopes, list(scopes)).astype(np.float32)
            if not mask.any():
                return []
        terms = [t for t in query_terms(query) if t in self._vocabulary]
        if not terms:
            return []
        tokens = [terms]
        k = min(k, len(self.docs))
        ids, scores = self._model.retrieve(
            tokens, k=k, show_progress=False, weight_mask=mask, n_threads=1
        )
        return [
            (self.docs[int(i)], float(s)) for i, s in zip(ids[0], scores[0], strict=True) if s > 0
        ]

    def save(self, path: Path) -> None:
        """Write the index to ``path`` (replacing what was there)."""
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._model is not None:
            self._model.save(str(tmp / "bm25"))
        with (tmp / _META_FILE).open("w", encoding="utf-8") as out:
            for doc in self.docs:
                out.write(json.dumps(asdict(doc), ensure_ascii=False) + "\n")
        (tmp / _FINGERPRINT_FILE).write_text(self.fingerprint)
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex | None:
        """The index saved at ``path``, or ``None`` when there is none or it is unreadable."""
        try:
            docs = [
                StoredChunk(**json.loads(line))
                for line in (path / _META_FILE).read_text(encoding="utf-8").splitlines()
                if line
            ]
            model = bm25s.BM25.load(str(path / "bm25")) if docs else None
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return cls(docs, model)


def open_lexical(
    path: Path, chunks: Callable[[], Iterable[StoredChunk]], ids: Sequence[str]
) -> LexicalIndex:
    """The saved index at ``path`` if it matches ``ids`` (the store's chunk ids), else one
    rebuilt from ``chunks()`` and saved."""
    saved = LexicalIndex.load(path)
    if saved is not None and saved.fingerprint == fingerprint(ids):
        return saved
    index = LexicalIndex.build(chunks())
    index.save(path)
    return index
