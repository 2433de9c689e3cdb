"""``assistant bench retrieval``: index a document folder in a temporary data dir and score every
retrieval mode on a query file (R@1/5/10, MRR, p50/p95 query latency).

Nothing here is tuned to a particular query set: the modes run with their shipped settings.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from knowledge.embeddings import get_embedder
from knowledge.evaluation import Query, first_relevant_rank, load_queries, summarize
from knowledge.index import KnowledgeIndex
from knowledge.ingest import ingest_paths
from knowledge.lexical import LexicalIndex
from knowledge.retrieval import MODES, RetrievalConfig, Retriever
from observe.stats import percentile

BENCH_SPACE = "bench"


def score_mode(
    search: Callable[[str], list[Any]], queries: list[Query], k: int = 10
) -> dict[str, float]:
    """Quality and latency of one search function over ``queries``."""
    search(queries[0].question)  # warm-up, not measured
    ranks: list[int | None] = []
    latencies: list[float] = []
    for query in queries:
        started = time.perf_counter()
        hits = search(query.question)[:k]
        latencies.append((time.perf_counter() - started) * 1000)
        ranks.append(first_relevant_rank([(h.text, h.source) for h in hits], query))
    return {
        **summarize(ranks),
        "p50_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 95) or 0.0, 1),
    }


def bench_retrieval(
    docs: Path, queries_file: Path, *, k: int = 10, progress: bool = True
) -> dict[str, Any]:
    """Build a fresh index of ``docs`` and score every mode (see module docstring)."""
    queries = load_queries(queries_file)
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        index = KnowledgeIndex(
            get_embedder("minilm"), path=Path(tmp) / "chroma", collection="bench"
        )
        started = time.perf_counter()
        report = ingest_paths(index, [docs], scope=BENCH_SPACE, progress=progress)
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        lexical = LexicalIndex.build(index.iter_chunks())
        lexical_s = time.perf_counter() - started
        results: dict[str, Any] = {}
        for mode in MODES:
            retriever = Retriever(index, lexical, RetrievalConfig(mode=mode))
            results[mode] = score_mode(
                lambda q, r=retriever: r.search(q, k=k, spaces=[BENCH_SPACE]),  # type: ignore[misc]
                queries,
                k,
            )
    chunks = len(lexical)
    return {
        "docs": str(docs),
        "queries": len(queries),
        "files": report.files_ingested,
        "chunks": chunks,
        "ingest_s": round(ingest_s, 1),
        "ingest_chunks_per_s": round(chunks / ingest_s, 1) if ingest_s else None,
        "lexical_build_s": round(lexical_s, 2),
        "modes": results,
    }
