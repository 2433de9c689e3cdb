"""``assistant search``: one query, or a file of queries as JSON lines (a benchmark contract)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from graph.factories import open_retriever
from graph.settings import load_settings
from knowledge.evaluation import load_queries
from knowledge.ingest import relative_source


def search_command(
    query: str, *, k: int, include_quarantined: bool = False
) -> list[dict[str, Any]]:
    """Top ``k`` chunks for ``query`` in the configured space (quarantined ones too, marked,
    with ``include_quarantined``)."""
    settings = load_settings()
    retriever = open_retriever(settings)
    hits = retriever.search(
        query, k=k, spaces=[settings.knowledge_scope], include_quarantined=include_quarantined
    )
    return [
        {
            "id": h.id,
            "source": h.source,
            "heading": h.heading,
            "score": h.score,
            "text": h.text,
            "url": h.url,
            "quarantined": h.quarantined,
            "quarantine_reason": h.quarantine_reason,
        }
        for h in hits
    ]


def search_queries_command(path: Path, *, k: int) -> None:
    """For each ``{"id", "question"}`` row print ``{"id", "question", "results": [...]}`` (one
    JSON line, flushed, so long runs stream). ``source`` is relative to the ingested root."""
    queries = load_queries(path)
    settings = load_settings()
    retriever = open_retriever(settings)
    for query in queries:
        hits = retriever.search(query.question, k=k, spaces=[settings.knowledge_scope])
        row = {
            "id": query.id,
            "question": query.question,
            "results": [
                {
                    "text": h.text,
                    "source": relative_source(h.source),
                    "heading": h.heading,
                    "score": round(h.score, 6),
                    "chunk_id": h.id,
                    "url": h.url,
                }
                for h in hits
            ],
        }
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        sys.stdout.flush()
