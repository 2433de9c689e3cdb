"""Retrieval: dense (Chroma), term-based (BM25) and their fusion, behind one ``search``.

Modes:
- ``dense``: MiniLM cosine similarity from Chroma;
- ``bm25``: the lexical index;
- ``hybrid``: both candidate lists (``candidates`` each), each score normalised by its list's
  best score, fused as ``dense_weight * dense + (1 - dense_weight) * bm25`` over the union (a
  chunk missing from one list gets 0 there), then near-duplicates (same text) dropped.

Every mode filters on the asker's knowledge spaces inside the store (Chroma ``where``, BM25 weight
mask), before the top k is taken. ``Hit.score`` is the mode's own score (cosine, BM25, fused).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from knowledge.index import Hit, KnowledgeIndex, StoredChunk
from knowledge.lexical import LexicalIndex

Mode = Literal["dense", "bm25", "hybrid"]
MODES: tuple[Mode, ...] = ("bm25", "dense", "hybrid")


@dataclass(frozen=True)
class RetrievalConfig:
    """How ``Retriever.search`` ranks; the defaults are the shipped configuration."""

    mode: Mode = "hybrid"
    candidates: int = 50
    """Chunks taken from each list before fusing."""
    dense_weight: float = 0.7


def _hit(doc: StoredChunk, score: float) -> Hit:
    return Hit(
        id=doc.id,
        text=doc.text,
        source=doc.source,
        heading=doc.heading,
        score=score,
        updated_at=doc.updated_at,
        title=doc.title,
    )


class Retriever:
    """Ranks chunks of one knowledge index for a query (see the module docstring)."""

    def __init__(
        self, index: KnowledgeIndex, lexical: LexicalIndex, config: RetrievalConfig | None = None
    ) -> None:
        self.index = index
        self.lexical = lexical
        self.config = config or RetrievalConfig()

    def refresh(self) -> None:
        """Rebuild the lexical index from the store (after an ingest in this process)."""
        self.lexical = LexicalIndex.build(self.index.iter_chunks())

    def _check_lexical(self) -> None:
        """A different chunk count in the store means an ingest happened elsewhere: rebuild."""
        if self.index.count() != len(self.lexical):
            self.refresh()

    def search(self, query: str, k: int = 5, spaces: Sequence[str] | None = None) -> list[Hit]:
        """The ``k`` best chunks for ``query`` from ``spaces`` (all when ``None``)."""
        mode = self.config.mode
        if mode != "dense":
            self._check_lexical()
        if mode == "dense":
            return self.index.search(query, k=k, scope=list(spaces) if spaces else None)
        if mode == "bm25":
            return [_hit(doc, s) for doc, s in self.lexical.search(query, k, spaces)]
        return self._hybrid(query, k, spaces)

    async def asearch(
        self, query: str, k: int = 5, spaces: Sequence[str] | None = None
    ) -> list[Hit]:
        """``search`` in a worker thread."""
        return await asyncio.to_thread(self.search, query, k, spaces)

    def _hybrid(self, query: str, k: int, spaces: Sequence[str] | None) -> list[Hit]:
        n = max(self.config.candidates, k)
        dense = self.index.search(query, k=n, scope=list(spaces) if spaces else None)
        lexical = self.lexical.search(query, n, spaces)
        fused: dict[str, tuple[Hit, float, float]] = {}
        top_dense = max((h.score for h in dense), default=0.0) or 1.0
        top_lexical = max((s for _, s in lexical), default=0.0) or 1.0
        for hit in dense:
            fused[hit.id] = (hit, max(hit.score, 0.0) / top_dense, 0.0)
        for doc, score in lexical:
            hit, d, _ = fused.get(doc.id, (_hit(doc, 0.0), 0.0, 0.0))
            fused[doc.id] = (hit, d, score / top_lexical)
        w = self.config.dense_weight
        ranked = sorted(
            (replace(hit, score=w * d + (1 - w) * b) for hit, d, b in fused.values()),
            key=lambda h: h.score,
            reverse=True,
        )
        return _dedupe(ranked)[:k]


def _dedupe(hits: list[Hit]) -> list[Hit]:
    """Drop hits whose text repeats a better-ranked hit's (the same passage in two files)."""
    seen: set[str] = set()
    kept: list[Hit] = []
    for hit in hits:
        key = " ".join(hit.text.split()).lower()
        if key in seen:
            continue
        seen.add(key)
        kept.append(hit)
    return kept
