"""The retriever's local copy of the store: BM25 (``bm25s``) over the chunks Chroma holds, and
the chunks' vectors for exact dense search.

Contract: built from the chunks stored in the knowledge index (``from_store``) and saved beside
the Chroma data (``<data dir>/lexical/<collection>/``); ``open_lexical`` reloads it and rebuilds
it when the store's revision (``KnowledgeIndex.revision``; the sorted chunk ids for stores
without one) no longer matches, so it never drifts from Chroma. Text indexed per chunk: title,
heading path and body, lower-cased, English stop words removed, Snowball-stemmed. Both searches
filter on knowledge spaces, and leave out quarantined chunks unless asked for them, inside the
scorer (a mask), never after the top k. A copy saved in another format is rebuilt.

Why exact dense search beside Chroma's HNSW: on the Python docs (17,442 chunks) Chroma's HNSW
returned on average 94 % of the exact 50 nearest chunks, and for 6 of 255 test questions none
of them (the best chunk at cosine distance 0.39 missed for results at 0.78); a metadata filter
on the asker's spaces also cost it 60-90 ms a query. A matrix product over the vectors here
takes ~1 ms for that store (26 MB of memory).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import bm25s
import numpy as np
import Stemmer
from threadpoolctl import ThreadpoolController

from knowledge.index import KnowledgeIndex
from knowledge.records import StoredChunk

_STEMMER = Stemmer.Stemmer("english")
_BLAS = ThreadpoolController()
"""Dense scores run on one BLAS thread: a matrix-vector product is memory-bound, and OpenBLAS
threads left spinning after it slowed the next query embedding (torch) from ~20 to ~70 ms on
2 cores."""
logging.getLogger("bm25s").setLevel(logging.WARNING)  # it logs every build at DEBUG
_META_FILE = "chunks.jsonl"
_FINGERPRINT_FILE = "fingerprint.txt"
_VECTORS_FILE = "vectors.npy"
_REVISION_FILE = "revision.txt"
_FORMAT_FILE = "format.txt"


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


_FORMAT = "3"
"""Bumped when what is saved per chunk changes, so older saves are rebuilt."""


def fingerprint(ids: Iterable[str]) -> str:
    """A short digest of a set of chunk ids (and of the save format)."""
    digest = hashlib.sha256("\n".join([_FORMAT, *sorted(ids)]).encode("utf-8"))
    return digest.hexdigest()[:32]


class LexicalIndex:
    """BM25 over a fixed list of chunks; rebuild it (``build``) when the chunks change."""

    def __init__(
        self,
        docs: list[StoredChunk],
        model: bm25s.BM25 | None,
        vectors: np.ndarray | None = None,
        revision: str = "",
    ) -> None:
        self.docs = docs
        self.vectors = vectors if vectors is not None and len(vectors) == len(docs) else None
        """Unit vectors of ``docs`` (row i is ``docs[i]``), or ``None``: dense search is
        then left to Chroma."""
        self.revision = revision
        """The store's revision this copy was read at."""
        self._model = model
        codes: dict[str, int] = {}
        self._scope_codes = np.array(
            [codes.setdefault(d.scope, len(codes)) for d in docs], dtype=np.int32
        )
        self._codes = codes
        self._clean = np.array([not d.quarantined for d in docs], dtype=bool)
        self.quarantined = len(docs) - int(self._clean.sum())
        """How many of ``docs`` are quarantined."""
        self._vocabulary: set[str] = set(model.vocab_dict) if model is not None else set()
        self.fingerprint = fingerprint(d.id for d in docs)
        self.scopes: frozenset[str] = frozenset(codes)
        """The knowledge spaces of the indexed chunks."""

    @classmethod
    def build(
        cls,
        chunks: Iterable[StoredChunk],
        vectors: np.ndarray | None = None,
        revision: str = "",
    ) -> LexicalIndex:
        """BM25 over ``chunks`` (and their ``vectors``, when given)."""
        docs = list(chunks)
        if not docs:
            return cls([], None, None, revision)
        model = bm25s.BM25()
        model.index(tokenize([indexed_text(d) for d in docs]), show_progress=False)
        return cls(docs, model, vectors, revision)

    @classmethod
    def from_store(cls, index: KnowledgeIndex) -> LexicalIndex:
        """Every chunk of ``index`` with its vector (the revision is read first, so a write
        during the read makes the copy stale at once rather than silently incomplete)."""
        revision = index.revision()
        docs: list[StoredChunk] = []
        rows: list[Any] = []
        for chunk, vector in index.iter_vectors():
            docs.append(chunk)
            rows.append(vector)
        complete = bool(rows) and all(row is not None for row in rows)
        vectors = np.asarray(rows, dtype=np.float32) if complete else None
        return cls.build(docs, vectors, revision)

    def in_scopes(self, scopes: Sequence[str]) -> np.ndarray:
        """A boolean row mask: chunks whose space is one of ``scopes``."""
        wanted = [self._codes[s] for s in scopes if s in self._codes]
        return np.isin(self._scope_codes, np.array(wanted, dtype=np.int32))

    def allowed(
        self, scopes: Sequence[str] | None, include_quarantined: bool = False
    ) -> np.ndarray | None:
        """A boolean row mask of the chunks a search may return (in ``scopes`` when given, not
        quarantined unless ``include_quarantined``); ``None`` when that is every chunk."""
        mask = self.in_scopes(scopes) if scopes is not None else None
        if self.quarantined and not include_quarantined:
            mask = self._clean if mask is None else mask & self._clean
        return mask

    def dense(
        self,
        vector: np.ndarray,
        n: int,
        scopes: Sequence[str] | None = None,
        include_quarantined: bool = False,
    ) -> list[tuple[StoredChunk, float]]:
        """The ``n`` chunks with the highest cosine similarity to ``vector`` (a unit vector),
        only from ``scopes`` when given, best first; ``[]`` without vectors."""
        if self.vectors is None or not self.docs or n < 1:
            return []
        with _BLAS.limit(limits=1, user_api="blas"):
            scores = self.vectors @ np.asarray(vector, dtype=np.float32)
        allowed = self.allowed(scopes, include_quarantined)
        if allowed is not None:
            scores = np.where(allowed, scores, -np.inf)
            n = min(n, int(allowed.sum()))
        n = min(n, len(scores))
        if n == 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self.docs[int(i)], float(scores[i])) for i in top]

    def __len__(self) -> int:
        return len(self.docs)

    def search(
        self,
        query: str,
        k: int = 10,
        scopes: Sequence[str] | None = None,
        include_quarantined: bool = False,
    ) -> list[tuple[StoredChunk, float]]:
        """The ``k`` best chunks for ``query`` (only from ``scopes`` when given), best first;
        chunks that share no term with the query are not returned."""
        if self._model is None or not query.strip():
            return []
        allowed = self.allowed(scopes, include_quarantined)
        mask = None if allowed is None else allowed.astype(np.float32)
        if mask is not None and not mask.any():
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
        (tmp / _REVISION_FILE).write_text(self.revision)
        (tmp / _FORMAT_FILE).write_text(_FORMAT)
        if self.vectors is not None:
            np.save(tmp / _VECTORS_FILE, self.vectors)
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)

    @classmethod
    def load(cls, path: Path) -> LexicalIndex | None:
        """The index saved at ``path``, or ``None`` when there is none, it is unreadable or in
        another format."""
        try:
            if (path / _FORMAT_FILE).read_text() != _FORMAT:
                return None
            docs = [
                StoredChunk(**json.loads(line))
                for line in (path / _META_FILE).read_text(encoding="utf-8").split("\n")
                if line
            ]
            model = bm25s.BM25.load(str(path / "bm25")) if docs else None
            revision = (path / _REVISION_FILE).read_text() if docs else ""
            vectors_file = path / _VECTORS_FILE
            vectors = np.load(vectors_file) if vectors_file.exists() else None
        except (OSError, ValueError, TypeError, KeyError):
            return None
        return cls(docs, model, vectors, revision)


def open_lexical(path: Path, index: KnowledgeIndex) -> LexicalIndex:
    """The copy saved at ``path`` if it is current (same store revision, or for a store
    without revisions the same chunk ids), else one rebuilt from ``index`` and saved."""
    saved = LexicalIndex.load(path)
    if saved is not None and is_current(saved, index):
        return saved
    rebuilt = LexicalIndex.from_store(index)
    rebuilt.save(path)
    return rebuilt


def is_current(copy: LexicalIndex, index: KnowledgeIndex) -> bool:
    """Whether ``copy`` still matches ``index`` (see ``open_lexical``)."""
    revision = index.revision()
    if revision:
        return copy.revision == revision
    return copy.fingerprint == fingerprint(index.ids())
