"""Usage numbers read back from the trace log: turns, questions, cache hit rate, latency.

Contract: ``turn_stats(path, since)`` reads ``turn`` spans that started at or after ``since``
(UTC) and never fails on a missing file or a malformed line (those are counted, then skipped).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

TURN_SPAN = "turn"


def iter_records(path: Path) -> Iterator[dict[str, Any] | None]:
    """Yield each JSON record of a trace file, or ``None`` for a line that is not valid JSON."""
    if not path.exists():
        return
    with path.open(encoding="utf-8", errors="replace") as lines:
        for line in lines:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                yield None
                continue
            yield record if isinstance(record, dict) else None


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
    durations_ms: list[float] = field(default_factory=list)

    @property
    def cache_hit_rate(self) -> float | None:
        """Share of questions answered from the semantic cache."""
        return self.cache_hits / self.questions if self.questions else None

    @property
    def p95_ms(self) -> float | None:
        return percentile(self.durations_ms, 95)

    @property
    def p50_ms(self) -> float | None:
        return percentile(self.durations_ms, 50)

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
            "intents": dict(self.intents),
            "malformed_lines": self.malformed_lines,
        }


def start_of_today() -> datetime:
    """Midnight UTC today."""
    return datetime.combine(datetime.now(UTC).date(), time.min, tzinfo=UTC)


def turn_stats(path: Path, since: datetime | None = None) -> TurnStats:
    """Aggregate the ``turn`` spans in ``path`` that started at or after ``since``."""
    since = since or start_of_today()
    since_ns = int(since.timestamp() * 1e9)
    stats = TurnStats(since=since)
    for record in iter_records(path):
        if record is None:
            stats.malformed_lines += 1
            continue
        if record.get("record") != "span" or record.get("name") != TURN_SPAN:
            continue
        if int(record.get("start_time_unix_nano", 0)) < since_ns:
            continue
        attrs = record.get("attributes") or {}
        stats.turns += 1
        intent = str(attrs.get("app.intent", "unknown"))
        stats.intents[intent] += 1
        if intent == "question":
            stats.questions += 1
            stats.cache_hits += bool(attrs.get("app.cache_hit"))
        stats.errors += record.get("status") == "ERROR"
        duration = record.get("duration_ms")
        if isinstance(duration, int | float):
            stats.durations_ms.append(float(duration))
    return stats
