"""Retrieval: dense (Chroma), term-based (BM25), fused, reranked, behind one ``search``.

Stages, each switchable in ``RetrievalConfig`` so the benchmark measures what each adds:

1. candidates: ``dense`` (MiniLM cosine, exact over the local copy of the vectors, see
   ``knowledge.lexical``), ``bm25`` (the same copy's BM25 index) or ``hybrid``:
   ``candidates`` chunks from each list, fused by weighted reciprocal rank,
   ``dense_weight / (rrf_k + rank_dense) + (1 - dense_weight) / (rrf_k + rank_bm25)``;
2. passages: each chunk becomes its section (``knowledge.passages``); the best chunk of a
   section stands for it, so one section never takes several places;
3. rerank: ``score / best score + heading_weight * cosine(question, section heading)`` (heading
   vectors from ``knowledge.headings``); a heading that states what the section answers is
   strong evidence that a chunk in the middle of it cannot carry on its own;
4. near-duplicates: a passage sharing ``duplicate_overlap`` of its word shingles with a
   better-ranked one is dropped (the same paragraph copied into two files).

Every mode filters on the asker's knowledge spaces inside the store (Chroma ``where``, BM25 weight
mask), before the top k is taken; chunks quarantined at ingestion (possible prompt injections) are
left out the same way unless a search asks for them (``include_quarantined``, for inspection).

Tuned on ``tests/data/python_docs_dev.jsonl`` (80 hand-written questions over the Python docs,
outside the FAQ); the FAQ questions were never used to choose a setting.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np

from knowledge.headings import HeadingVectors
from knowledge.index import KnowledgeIndex
from knowledge.lexical import LexicalIndex
from knowledge.passages import DEFAULT_PASSAGE_CHARS, Sections
from knowledge.records import Hit, StoredChunk

Mode = Literal["dense", "bm25", "hybrid"]
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class RetrievalConfig:
    """How ``Retriever.search`` ranks; the defaults are the shipped configuration."""

    mode: Mode = "hybrid"
    exact_dense: bool = True
    """Dense search over the local copy's vectors (exact) rather than Chroma's HNSW index."""
    candidates: int = 50
    """Chunks taken from each list before fusing."""
    dense_weight: float = 0.7
    rrf_k: int = 10
    passages: bool = True
    """Return sections (``knowledge.passages``) instead of the matching chunks."""
    passage_chars: int = DEFAULT_PASSAGE_CHARS
    heading_weight: float = 0.3
    """Weight of the question-heading similarity in the rerank; 0 turns the rerank off."""
    source_penalty: float = 0.0
    """Diversity: subtracted from a passage's rerank score for each better passage already
    taken from the same document (0: off; measured, see ``docs/benchmarks.md``)."""
    duplicate_overlap: float = 0.8
    """Share of a passage's word 3-grams found in a better-ranked one that makes it a duplicate."""


CONFIGURATIONS: dict[str, RetrievalConfig] = {
    "bm25": RetrievalConfig(mode="bm25", passages=False, heading_weight=0),
    "dense": RetrievalConfig(mode="dense", passages=False, heading_weight=0),
    "dense (Chroma HNSW)": RetrievalConfig(
        mode="dense", passages=False, heading_weight=0, exact_dense=False
    ),
    "hybrid": RetrievalConfig(passages=False, heading_weight=0),
    "bm25+passages": RetrievalConfig(mode="bm25", heading_weight=0),
    "dense+passages": RetrievalConfig(mode="dense", heading_weight=0),
    "hybrid+passages": RetrievalConfig(heading_weight=0),
    "hybrid+rerank": RetrievalConfig(),
}
"""What ``assistant bench retrieval`` compares; ``hybrid+rerank`` is the shipped default."""
DEFAULT_CONFIGURATION = "hybrid+rerank"


def _hit(doc: StoredChunk, score: float, similarity: float | None = None) -> Hit:
    return Hit(
        id=doc.id,
        text=doc.text,
        source=doc.source,
        heading=doc.heading,
        score=score,
        updated_at=doc.updated_at,
        title=doc.title,
        scope=doc.scope,
        similarity=similarity,
        url=doc.url,
        quarantined=doc.quarantined,
        quarantine_reason=doc.quarantine_reason,
    )


class Retriever:
    """Ranks passages of one knowledge index for a query (see the module docstring)."""

    def __init__(
        self,
        index: KnowledgeIndex,
        lexical: LexicalIndex,
        config: RetrievalConfig | None = None,
        headings: HeadingVectors | None = None,
    ) -> None:
        self.index = index
        self.config = config or RetrievalConfig()
        self.headings = headings or HeadingVectors(index.embedder)
        self._lock = threading.Lock()
        self._use(lexical)

    def _use(self, lexical: LexicalIndex) -> None:
        """Switch to ``lexical`` and its sections (a search in flight keeps the pair it took)."""
        sections = Sections(lexical.docs)
        self.lexical, self.sections = lexical, sections

    def refresh(self) -> None:
        """Re-read the local copy (BM25 + vectors) from the store."""
        self._use(LexicalIndex.from_store(self.index))

    def _check_lexical(self) -> None:
        """Re-read the local copy when the store changed since it was read (its revision; the
        chunk count for a store without revisions), in this process or another."""
        revision = self.index.revision()
        if revision:
            stale = revision != self.lexical.revision or self.lexical.vectors is None
        else:
            stale = self.index.count() != len(self.lexical)
        if stale:
            self.refresh()

    def heading_matrix(self, sections: Sections | None = None) -> np.ndarray:
        """Every section's heading vector (row = section index) of ``sections`` (the current
        ones by default), embedded on first use."""
        sections = self.sections if sections is None else sections
        with self._lock:
            if sections.heading_vectors is None:
                sections.heading_vectors = self.headings.matrix(sections.contexts)
        matrix: np.ndarray = sections.heading_vectors
        return matrix

    def search(
        self,
        query: str,
        k: int = 5,
        spaces: Sequence[str] | None = None,
        include_quarantined: bool = False,
    ) -> list[Hit]:
        """The ``k`` best passages (or chunks) for ``query`` from ``spaces`` (all when
        ``None``), best first; quarantined chunks only with ``include_quarantined``."""
        config = self.config
        self._check_lexical()
        needs_vector = config.mode != "bm25" or (config.passages and config.heading_weight)
        vector = (
            np.asarray(self.index.embedder.embed_one(query), dtype=np.float32)
            if (needs_vector and query.strip())
            else None
        )
        n = max(config.candidates, k) if config.passages or config.mode == "hybrid" else k
        lexical, sections = self.lexical, self.sections
        ranked = self._candidates(query, n, spaces, vector, lexical, include_quarantined)
        if not config.passages:
            return _dedupe(ranked, config.duplicate_overlap, k)
        passages = self._passages(ranked, 2 * k, sections)
        if config.heading_weight and vector is not None:
            passages = self._rerank(passages, vector, sections)
        return _dedupe(passages, config.duplicate_overlap, k)

    async def asearch(
        self,
        query: str,
        k: int = 5,
        spaces: Sequence[str] | None = None,
        include_quarantined: bool = False,
    ) -> list[Hit]:
        """``search`` in a worker thread."""
        return await asyncio.to_thread(self.search, query, k, spaces, include_quarantined)

    def _candidates(
        self,
        query: str,
        n: int,
        spaces: Sequence[str] | None,
        vector: np.ndarray | None,
        local: LexicalIndex,
        include_quarantined: bool = False,
    ) -> list[Hit]:
        """Chunks, best first, by the configured mode (``local``: the store's local copy)."""
        mode = self.config.mode
        if mode == "dense":
            return self._dense(query, n, spaces, vector, local, include_quarantined)
        lexical = local.search(query, n, spaces, include_quarantined)
        if mode == "bm25":
            return [_hit(doc, s) for doc, s in lexical]
        dense = self._dense(query, n, spaces, vector, local, include_quarantined)
        w, rrf_k = self.config.dense_weight, self.config.rrf_k
        floor = min((h.score for h in dense), default=0.0)
        fused: dict[str, tuple[Hit, float]] = {}
        for rank, hit in enumerate(dense, start=1):
            fused[hit.id] = (hit, w / (rrf_k + rank))
        for rank, (doc, _) in enumerate(lexical, start=1):
            hit, score = fused.get(doc.id, (_hit(doc, 0.0, floor), 0.0))
            fused[doc.id] = (hit, score + (1 - w) / (rrf_k + rank))
        return sorted(
            (replace(hit, score=score) for hit, score in fused.values()),
            key=lambda h: h.score,
            reverse=True,
        )

    def _dense(
        self,
        query: str,
        n: int,
        spaces: Sequence[str] | None,
        vector: np.ndarray | None,
        lexical: LexicalIndex,
        include_quarantined: bool = False,
    ) -> list[Hit]:
        """The nearest chunks within ``spaces``: exact, from the local copy's vectors (see
        ``knowledge.lexical``), or from Chroma's HNSW index when the copy has none or the
        configuration asks for it.

        Chroma's metadata filter costs 60-90 ms at 17,000 chunks, so when every space in the
        store is one the asker may read (or the copy holds no quarantined chunk) that filter is
        left out there (it would keep everything); every hit is still checked.
        """
        if lexical.vectors is not None and vector is not None and self.config.exact_dense:
            found = lexical.dense(vector, n, spaces, include_quarantined)
            return [_hit(doc, score, score) for doc, score in found]
        query_vector = vector.tolist() if vector is not None else None
        allowed = set(spaces) if spaces is not None else None
        scope = None
        if allowed is not None and not (len(lexical) and lexical.scopes <= allowed):
            scope = sorted(allowed)
        every = include_quarantined or (bool(len(lexical)) and not lexical.quarantined)
        hits = self.index.search(
            query, k=n, scope=scope, vector=query_vector, include_quarantined=every
        )
        return [
            hit
            for hit in hits
            if (allowed is None or hit.scope in allowed)
            and (include_quarantined or not hit.quarantined)
        ]

    def _passages(self, ranked: list[Hit], limit: int, sections: Sections) -> list[Hit]:
        """Each section once, at the rank of its best chunk, as its passage (``limit`` of
        them)."""
        seen: set[int] = set()
        passages: list[Hit] = []
        for hit in ranked:
            if len(passages) >= limit:
                break
            section = sections.of(hit.id)
            if section is None:  # stored after the lexical index was built
                passages.append(hit)
                continue
            if section.index in seen:
                continue
            seen.add(section.index)
            text = sections.passage(section, hit.id, self.config.passage_chars)
            passages.append(replace(hit, text=text, chunk_text=hit.text))
        return passages

    def _rerank(self, passages: list[Hit], vector: np.ndarray, sections: Sections) -> list[Hit]:
        """Passages ordered by ``score / best + heading_weight * heading similarity``."""
        if not passages:
            return passages
        matrix = self.heading_matrix(sections)
        best = max(h.score for h in passages) or 1.0
        weight = self.config.heading_weight
        rescored = []
        for hit in passages:
            section = sections.of(hit.id)
            heading = float(matrix[section.index] @ vector) if section is not None else 0.0
            rescored.append(
                replace(hit, score=hit.score / best + weight * heading, heading_similarity=heading)
            )
        ranked = sorted(rescored, key=lambda h: h.score, reverse=True)
        return _diversify(ranked, self.config.source_penalty)


def _diversify(ranked: list[Hit], penalty: float) -> list[Hit]:
    """Greedy re-ordering: each next passage is the best after ``penalty`` per passage already
    taken from its document."""
    if not penalty:
        return ranked
    left = list(ranked)
    taken: list[Hit] = []
    per_source: dict[str, int] = {}
    while left:
        best = max(left, key=lambda h: h.score - penalty * per_source.get(h.source, 0))
        left.remove(best)
        taken.append(best)
        per_source[best.source] = per_source.get(best.source, 0) + 1
    return taken


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def _dedupe(hits: list[Hit], overlap: float, k: int) -> list[Hit]:
    """The first ``k`` hits whose word 3-grams are not mostly (``overlap``) in a better-ranked
    hit already."""
    kept: list[tuple[Hit, set[tuple[str, ...]]]] = []
    for hit in hits:
        if len(kept) == k:
            break
        shingles = _shingles(hit.text)
        if any(len(shingles & other) >= overlap * len(shingles) for _, other in kept):
            continue
        kept.append((hit, shingles))
    return [hit for hit, _ in kept]
