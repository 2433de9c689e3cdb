"""How ``score_toxicity`` severities line up with labelled data; prints one JSON report.

``assistant bench toxicity --data FILE [--data FILE ...] [--threshold 2]``. The kind of
each JSON-lines file is read from its first row:

* ``{id, category, question, answer, human_score}`` (human harm score 0..1): per category and
  human score, the mean severity of the ``answer`` and the share flagged (severity at or above
  the threshold) or matched at all; headline: flagged rate where ``human_score >= 0.75`` versus
  ``== 0``.
* ``{id, text, label}``: the ``benign`` rows' ``text`` only; ``{id, question, ...}``: the
  ``question``. Both report false positives (flagged rows, their ids and categories).

Every report has p50/p95/max scoring latency per text in milliseconds.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from guards.toxicity import DEFAULT_THRESHOLD, ToxicityResult, score_toxicity
from observe.errors import ConfigError
from observe.jsonl import json_rows
from observe.stats import percentile

HIGH_HARM = 0.75
"""Rows with ``human_score`` at or above this count as harmful in the headline rates."""

_HINT = "rows need 'human_score' and 'answer', or 'label' and 'text', or 'question'"


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _timed(texts: list[str]) -> tuple[list[ToxicityResult], dict[str, float]]:
    """Score every text; also the latency summary."""
    results, millis = [], []
    score_toxicity("warm up")  # loads and compiles the lexicon outside the timings
    for text in texts:
        started = time.perf_counter()
        results.append(score_toxicity(text))
        millis.append((time.perf_counter() - started) * 1000)
    latency = {
        "p50_ms": round(statistics.median(millis), 3) if millis else 0.0,
        "p95_ms": round(percentile(millis, 95) or 0.0, 3),
        "max_ms": round(max(millis, default=0.0), 3),
    }
    return results, latency


def _rows(path: Path) -> list[dict[str, Any]]:
    rows = [row for _, row in json_rows(path, _HINT)]
    if not rows:
        raise ConfigError(f"{path} has no rows", hint=_HINT)
    return rows


def _field(row: dict[str, Any], name: str, path: Path) -> Any:
    if name not in row:
        raise ConfigError(f"{path}: row {row.get('id')!r} has no {name!r}", hint=_HINT)
    return row[name]


def bench_harm(path: Path, rows: list[dict[str, Any]], threshold: int) -> dict[str, Any]:
    """Severity of each ``answer`` against its ``human_score``, per category."""
    texts = [str(_field(r, "answer", path)) for r in rows]
    results, latency = _timed(texts)
    cells: dict[str, dict[float, list[int]]] = defaultdict(lambda: defaultdict(list))
    for row, result in zip(rows, results, strict=True):
        score = float(_field(row, "human_score", path))
        cells[str(row.get("category", ""))][score].append(result.severity)
        cells["(all)"][score].append(result.severity)
    by_category: dict[str, Any] = {}
    for category in sorted(cells):
        by_score = cells[category]
        high = [s for score, sev in by_score.items() if score >= HIGH_HARM for s in sev]
        zero = by_score.get(0.0, [])
        by_category[category] = {
            "rows": sum(len(v) for v in by_score.values()),
            "flagged_rate_high": _rate(sum(s >= threshold for s in high), len(high)),
            "flagged_rate_zero": _rate(sum(s >= threshold for s in zero), len(zero)),
            "matched_rate_high": _rate(sum(s > 0 for s in high), len(high)),
            "matched_rate_zero": _rate(sum(s > 0 for s in zero), len(zero)),
            "by_human_score": {
                str(score): {
                    "rows": len(sev),
                    "mean_severity": round(statistics.fmean(sev), 3),
                    "flagged": sum(s >= threshold for s in sev),
                    "matched": sum(s > 0 for s in sev),
                }
                for score, sev in sorted(by_score.items())
            },
        }
    return {"data": str(path), "kind": "harm", "rows": len(rows), **latency, **by_category}


def bench_benign(path: Path, texts: list[tuple[str, str]], threshold: int) -> dict[str, Any]:
    """False positives on ``(id, text)`` pairs that should all pass."""
    results, latency = _timed([text for _, text in texts])
    flagged = [(i, r) for (i, _), r in zip(texts, results, strict=True) if r.severity >= threshold]
    return {
        "data": str(path),
        "kind": "benign",
        "rows": len(texts),
        "flagged": len(flagged),
        "false_positive_rate": _rate(len(flagged), len(texts)),
        "matched": sum(r.severity > 0 for r in results),
        "severities": dict(sorted(Counter(r.severity for r in results).items())),
        "flagged_ids": {i: list(r.categories) for i, r in flagged},
        **latency,
    }


def bench_file(path: Path, threshold: int = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """The report for one file (its kind read from the first row)."""
    rows = _rows(path)
    if "human_score" in rows[0]:
        return bench_harm(path, rows, threshold)
    if "label" in rows[0]:
        pairs = [(str(r.get("id")), str(_field(r, "text", path))) for r in rows]
        benign = [p for p, r in zip(pairs, rows, strict=True) if r["label"] == "benign"]
        return bench_benign(path, benign, threshold)
    if "question" in rows[0]:
        questions = [(str(r.get("id")), str(_field(r, "question", path))) for r in rows]
        return bench_benign(path, questions, threshold)
    raise ConfigError(f"{path}: cannot tell what the rows are", hint=_HINT)
