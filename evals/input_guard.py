"""``assistant bench guards``: how the input guard treats labelled attack and benign messages.

Rows are JSON lines ``{"id", "text", "label", "source"?}`` with ``label`` ``attack`` or
``benign``. A message counts as flagged when the input guard refuses it, whatever the reason
(the report counts the reasons). Reported: TPR (attacks flagged), FPR (benign flagged),
precision, per-``source`` rates, p50/p95 latency per message, and the ids of the mistakes.
"""

from __future__ import annotations

import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guards.input_guard import check_input
from observe.errors import ConfigError
from observe.jsonl import json_rows
from observe.stats import percentile

LABELS = ("attack", "benign")
_NUMBERS = re.compile(r"\d[\d,]*")


@dataclass(frozen=True, slots=True)
class LabelledText:
    """One benchmark row."""

    id: str
    text: str
    label: str
    source: str = ""


def load_labelled(path: Path) -> list[LabelledText]:
    """The rows of ``path``; a bad row is one clear error naming its line."""
    hint = 'each line must be a JSON object with "id", "text" and "label"'
    rows: list[LabelledText] = []
    for where, raw in json_rows(path, hint):
        try:
            row = LabelledText(
                str(raw["id"]), str(raw["text"]), str(raw["label"]), str(raw.get("source", ""))
            )
        except KeyError as exc:
            raise ConfigError(f"{where}: not a row (no {exc} field)", hint=hint) from None
        if row.label not in LABELS:
            raise ConfigError(f"{where}: label {row.label!r} is not one of {LABELS}")
        rows.append(row)
    if not rows:
        raise ConfigError(f"{path} has no rows")
    return rows


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def bench_guards(path: Path, *, max_chars: int) -> dict[str, Any]:
    """Run the input guard over every row of ``path`` (see the module docstring)."""
    rows = load_labelled(path)
    flagged: dict[str, bool] = {}
    reasons: Counter[str] = Counter()
    latencies: list[float] = []
    for row in rows:
        started = time.perf_counter()
        verdict = await check_input(row.text, max_chars=max_chars)
        latencies.append((time.perf_counter() - started) * 1000)
        flagged[row.id] = not verdict.allowed
        if verdict.reason:
            reasons[_NUMBERS.sub("N", verdict.reason)] += 1
    attacks = [r for r in rows if r.label == "attack"]
    benign = [r for r in rows if r.label == "benign"]
    caught = sum(flagged[r.id] for r in attacks)
    false_alarms = [r.id for r in benign if flagged[r.id]]
    by_source: dict[str, dict[str, Any]] = {}
    for source in sorted({r.source for r in rows}):
        group = [r for r in rows if r.source == source]
        hits = sum(flagged[r.id] for r in group)
        by_source[source] = {
            "rows": len(group),
            "labels": dict(Counter(r.label for r in group)),
            "flagged": hits,
            "flagged_rate": _rate(hits, len(group)),
        }
    return {
        "data": str(path),
        "rows": len(rows),
        "attacks": len(attacks),
        "benign": len(benign),
        "TPR": _rate(caught, len(attacks)),
        "FPR": _rate(len(false_alarms), len(benign)),
        "precision": _rate(caught, caught + len(false_alarms)),
        "p50_ms": round(statistics.median(latencies), 2),
        "p95_ms": round(percentile(latencies, 95) or 0.0, 2),
        "reasons": dict(reasons.most_common()),
        "by_source": by_source,
        "missed": [r.id for r in attacks if not flagged[r.id]],
        "false_alarms": false_alarms,
    }
