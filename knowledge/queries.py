"""Query files: the questions ``assistant search --queries`` and the benchmarks read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from observe.errors import ConfigError
from observe.jsonl import json_rows


@dataclass(frozen=True)
class Query:
    """One benchmark question; ``answer`` and ``source`` are only needed to score results."""

    id: str
    question: str
    answer: str = ""
    source: str = ""


def load_queries(path: Path) -> list[Query]:
    """Rows ``{"id", "question"[, "answer", "source"]}`` of a JSON-lines file."""
    hint = 'each line must be a JSON object with "id" and "question"'
    queries: list[Query] = []
    for where, row in json_rows(path, hint):
        try:
            queries.append(
                Query(
                    id=str(row["id"]),
                    question=str(row["question"]),
                    answer=str(row.get("answer", "")),
                    source=str(row.get("source", "")),
                )
            )
        except KeyError as exc:
            raise ConfigError(f"{where}: not a query row (no {exc} field)", hint=hint) from None
    if not queries:
        raise ConfigError(f"{path} has no queries")
    return queries
