"""Usage numbers read back from the trace log: turns, questions, cache hit rate, latency.

Contract: ``turn_stats(path, since)`` reads ``turn`` spans that started at or after ``since``
(UTC) with the dashboard's queries, and never fails on a missing file or a malformed line
(those are counted, then skipped). ``percentile`` is the nearest-rank percentile the
benchmarks use (DuckDB's ``quantile_disc`` gives the same value).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from observe.dashboard.queries import Filters, Panels
from observe.dashboard.store import shared_store

TURN_SPAN = "turn"


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank ``q`` percentile (0 < q <= 100) of ``values``; ``None`` when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class TurnStats:
    """Aggregates over the turns of a period."""

    since: datetime
    turns: int = 0
    questions: int = 0
    cache_hits: int = 0
    errors: int = 0
    malformed_lines: int = 0
    intents: Counter[str] = field(default_factory=Counter)
    p50_ms: float | None = None
    p95_ms: float | None = None
    cost_usd: float = 0.0
    output_tokens: int = 0

    @property
    def cache_hit_rate(self) -> float | None:
        """Share of questions answered from the semantic cache."""
        return self.cache_hits / self.questions if self.questions else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "since": self.since.isoformat(),
            "turns": self.turns,
            "questions": self.questions,
            "cache_hits": self.cache_hits,
            "cache_hit_rate": self.cache_hit_rate,
            "p50_ms": self.p50_ms,
            "p95_ms": self.p95_ms,
            "errors": self.errors,
            "cost_usd": self.cost_usd,
            "output_tokens": self.output_tokens,
            "intents": dict(self.intents),
            "malformed_lines": self.malformed_lines,
        }


def start_of_today() -> datetime:
    """Midnight UTC today."""
    return datetime.combine(datetime.now(UTC).date(), time.min, tzinfo=UTC)


def turn_stats(path: Path, since: datetime | None = None) -> TurnStats:
    """Aggregate the ``turn`` spans in ``path`` (and its rotated files) that started at or
    after ``since``: the dashboard's own queries, on the process's shared store."""
    since = since or start_of_today()
    store = shared_store(path)
    store.refresh(force=True)
    panels = Panels(store)
    filters = Filters(since=since)
    totals = panels.totals(filters)
    mix = panels.intents(filters)["mix"]
    return TurnStats(
        since=since,
        turns=int(totals["turns"]),
        questions=int(totals["questions"]),
        cache_hits=int(totals["cache_hits"]),
        errors=int(totals["errors"]),
        malformed_lines=store.skipped_lines,
        intents=Counter({str(r["intent"]): int(r["turns"]) for r in mix}),
        p50_ms=totals["p50_ms"],
        p95_ms=totals["p95_ms"],
        cost_usd=float(totals["cost_usd"] or 0.0),
        output_tokens=int(totals["output_tokens"] or 0),
    )
