"""``assistant bench retrieval``: index a document folder in a temporary data dir (then ingest it
again, unchanged, to time the incremental path) and score every retrieval configuration on a
query file (R@1/5/10, MRR, p50/p95 query latency).

Nothing here is tuned to a particular query set: the configurations are
``knowledge.retrieval.CONFIGURATIONS`` with their shipped settings. Latency is per query, the
query embedding included; heading vectors are embedded before the first timed query.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.relevance import first_relevant_rank, summarize
from knowledge.embeddings import get_embedder
from knowledge.headings import HeadingVectors
from knowledge.index import KnowledgeIndex
from knowledge.ingest import ingest_paths, relative_source
from knowledge.lexical import LexicalIndex
from knowledge.queries import Query, load_queries
from knowledge.retrieval import CONFIGURATIONS, DEFAULT_CONFIGURATION, Retriever
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


def score_configurations(
    index: KnowledgeIndex,
    lexical: LexicalIndex,
    headings: HeadingVectors,
    queries: list[Query],
    k: int,
) -> dict[str, dict[str, float]]:
    """Every configuration of ``CONFIGURATIONS`` on ``queries``."""
    results: dict[str, dict[str, float]] = {}
    for name, config in CONFIGURATIONS.items():
        retriever = Retriever(index, lexical, config, headings)
        results[name] = score_mode(
            lambda q, r=retriever: r.search(q, k=k, spaces=[BENCH_SPACE]),  # type: ignore[misc]
            queries,
            k,
        )
    return results


def gains(results: dict[str, dict[str, float]]) -> dict[str, float]:
    """How many points of R@5 the default has over each single-list configuration."""
    default = results[DEFAULT_CONFIGURATION]["R@5"]
    others = ("bm25", "dense", "bm25+passages", "dense+passages")
    return {name: round(default - results[name]["R@5"], 3) for name in others}


def missing_sources(queries: list[Query], indexed: set[str]) -> int:
    """How many queries name a gold ``source`` that no indexed file has (a wrong ``--docs``
    folder: sources are relative to the folder given)."""
    return sum(1 for q in queries if q.source and q.source not in indexed)


def bench_retrieval(
    docs: Path,
    queries_file: Path,
    *,
    k: int = 10,
    progress: bool = True,
    more_queries: tuple[Path, ...] = (),
) -> dict[str, Any]:
    """Build a fresh index of ``docs`` and score every configuration on ``queries_file`` (and on
    each of ``more_queries``, reported under ``more``); see the module docstring."""
    query_sets = [load_queries(path) for path in (queries_file, *more_queries)]
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        index = KnowledgeIndex(
            get_embedder("minilm"), path=Path(tmp) / "chroma", collection="bench"
        )
        started = time.perf_counter()
        report = ingest_paths(index, [docs], scope=BENCH_SPACE, progress=progress)
        ingest_s = time.perf_counter() - started
        started = time.perf_counter()
        ingest_paths(index, [docs], scope=BENCH_SPACE, progress=False)
        rerun_s = time.perf_counter() - started
        started = time.perf_counter()
        lexical = LexicalIndex.from_store(index)
        lexical_s = time.perf_counter() - started
        headings = HeadingVectors(index.embedder)
        started = time.perf_counter()
        retriever = Retriever(index, lexical, headings=headings)
        retriever.heading_matrix()
        headings_s = time.perf_counter() - started
        scored = [score_configurations(index, lexical, headings, q, k) for q in query_sets]
        indexed = {relative_source(doc.source) for doc in lexical.docs}
    chunks = len(lexical)
    return {
        "docs": str(docs),
        "queries": len(query_sets[0]),
        "files": report.files_ingested,
        "chunks": chunks,
        "sections": len(retriever.sections),
        "ingest_s": round(ingest_s, 1),
        "ingest_chunks_per_s": round(chunks / ingest_s, 1) if ingest_s else None,
        "reingest_unchanged_s": round(rerun_s, 2),
        "reingest_speedup": round(ingest_s / rerun_s, 1) if rerun_s else None,
        "lexical_build_s": round(lexical_s, 2),
        "heading_vectors_s": round(headings_s, 2),
        "default": DEFAULT_CONFIGURATION,
        "default_R@5_gain": gains(scored[0]),
        "gold_sources_missing": missing_sources(query_sets[0], indexed),
        "modes": scored[0],
        "more": {
            str(path): {
                "queries": len(q),
                "default_R@5_gain": gains(r),
                "gold_sources_missing": missing_sources(q, indexed),
                "modes": r,
            }
            for path, q, r in zip(more_queries, query_sets[1:], scored[1:], strict=True)
        },
    }
