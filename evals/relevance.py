"""Retrieval quality: the relevance rule, per-query ranks and Recall@k / MRR.

Relevance (as in ``datasets/README.md``): a retrieved chunk is relevant to a question when it
comes from the question's gold source file and contains at least ``threshold`` (60 %) of the
distinct words of three or more letters of the gold answer. ``source`` paths are compared
relative to the ingested root (``relative_source``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from knowledge.ingest import relative_source
from knowledge.queries import Query

_WORD = re.compile(r"[a-z0-9_]{3,}")
RELEVANCE_THRESHOLD = 0.6


def words(text: str) -> set[str]:
    """Distinct lower-case words of three or more letters (digits and ``_`` count as letters)."""
    return set(_WORD.findall(text.lower()))


def is_relevant(
    chunk_text: str, chunk_source: str, query: Query, threshold: float = RELEVANCE_THRESHOLD
) -> bool:
    """The dataset's relevance rule for one retrieved chunk."""
    if relative_source(chunk_source) != query.source:
        return False
    gold = words(query.answer)
    if not gold:
        return False
    return len(gold & words(chunk_text)) / len(gold) >= threshold


def first_relevant_rank(results: Sequence[tuple[str, str]], query: Query) -> int | None:
    """1-based rank of the first relevant ``(text, source)`` result, or ``None``."""
    for rank, (text, source) in enumerate(results, start=1):
        if is_relevant(text, source, query):
            return rank
    return None


def summarize(ranks: Sequence[int | None], ks: Iterable[int] = (1, 5, 10)) -> dict[str, float]:
    """Recall@k for each k and MRR (reciprocal rank of the first relevant result, 0 if none)."""
    n = len(ranks) or 1
    scores = {f"R@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    scores["MRR"] = sum(1.0 / r for r in ranks if r is not None) / n
    return {key: round(value, 3) for key, value in scores.items()}
