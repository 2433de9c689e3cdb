"""``assistant bench pii``: precision and recall of the PII / secret detector on labelled spans.

Rows are JSON lines ``{"id", "text", "spans": [{"start", "end", "type"}]}`` (``type`` one of
``guards.redaction.KINDS``; ``assistant data pii`` generates such a file). Each row's text goes
through ``find_sensitive``. A predicted span matches a gold span when both have the same type and
their overlap is at least half the length of the longer of the two; within a row each span
matches at most once (pairs with the largest overlap first). Reported per type and overall
(micro-averaged): gold, predicted, true positives, precision, recall and F1; the p50/p95
detector time per row in ms; and the first ``MAX_MISTAKES`` mistakes, as offsets and types only
(never the text: it is personal data or a secret).
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.table import Table

from guards.redaction import KINDS, Span, find_sensitive
from observe.errors import ConfigError
from observe.jsonl import json_rows
from observe.stats import percentile

MAX_MISTAKES = 20
"""How many mistakes the report lists."""
MIN_OVERLAP = 0.5
"""A match needs an overlap of at least this share of the longer span."""

_HINT = 'each line must be {"id", "text", "spans": [{"start", "end", "type"}, ...]}'


@dataclass(frozen=True, slots=True)
class LabelledSpans:
    """One benchmark row: a text and its gold spans."""

    id: str
    text: str
    spans: tuple[Span, ...]


def _span(where: str, raw: Any, text: str) -> Span:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: a span is not an object", hint=_HINT)
    start, end, kind = raw.get("start"), raw.get("end"), raw.get("type")
    if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(text):
        raise ConfigError(f"{where}: span offsets {start!r}..{end!r} are not inside the text")
    if kind not in KINDS:
        raise ConfigError(f"{where}: span type {kind!r} is not one of {KINDS}")
    return Span(start, end, kind)


def load_spans(path: Path) -> list[LabelledSpans]:
    """The rows of ``path``; a bad row is one clear ``ConfigError`` naming its line."""
    rows: list[LabelledSpans] = []
    for where, raw in json_rows(path, _HINT):
        text, spans = raw.get("text"), raw.get("spans")
        if "id" not in raw or not isinstance(text, str) or not isinstance(spans, list):
            raise ConfigError(f'{where}: needs "id", "text" (a string) and "spans" (a list)', _HINT)
        gold = tuple(sorted(_span(where, s, text) for s in spans))
        rows.append(LabelledSpans(str(raw["id"]), text, gold))
    if not rows:
        raise ConfigError(f"{path} has no rows")
    return rows


def _overlap(a: Span, b: Span) -> int:
    return max(0, min(a.end, b.end) - max(a.start, b.start))


def match_spans(gold: tuple[Span, ...], predicted: list[Span]) -> list[tuple[Span, Span]]:
    """The (gold, predicted) pairs that match (see the module docstring)."""
    candidates = [
        (_overlap(g, p), g, p)
        for g in gold
        for p in predicted
        if g.kind == p.kind
        and _overlap(g, p) >= MIN_OVERLAP * max(g.end - g.start, p.end - p.start)
    ]
    pairs: list[tuple[Span, Span]] = []
    used_gold: set[Span] = set()
    used_predicted: set[Span] = set()
    for _, g, p in sorted(candidates, key=lambda c: -c[0]):
        if g not in used_gold and p not in used_predicted:
            pairs.append((g, p))
            used_gold.add(g)
            used_predicted.add(p)
    return pairs


def _scores(gold: int, predicted: int, hits: int) -> dict[str, Any]:
    precision = hits / predicted if predicted else None
    recall = hits / gold if gold else None
    f1 = (
        2 * precision * recall / (precision + recall)
        if precision is not None and recall is not None and precision + recall
        else None
    )
    return {
        "gold": gold,
        "predicted": predicted,
        "tp": hits,
        "precision": None if precision is None else round(precision, 4),
        "recall": None if recall is None else round(recall, 4),
        "f1": None if f1 is None else round(f1, 4),
    }


def _mistake(row_id: str, error: str, span: Span, others: list[Span]) -> dict[str, Any]:
    """A ``missed`` gold or ``spurious`` predicted span: where, and the types it overlaps."""
    mistake: dict[str, Any] = {"id": row_id, "error": error, "type": span.kind}
    mistake |= {"start": span.start, "end": span.end}
    overlapping = sorted({o.kind for o in others if _overlap(span, o)})
    if overlapping:
        mistake["overlaps"] = overlapping
    return mistake


def bench_pii(path: Path) -> dict[str, Any]:
    """Score ``find_sensitive`` on every row of ``path`` (see the module docstring)."""
    rows = load_spans(path)
    counts = {kind: [0, 0, 0] for kind in KINDS}  # gold, predicted, hits
    latencies: list[float] = []
    mistakes: list[dict[str, Any]] = []
    for row in rows:
        started = time.perf_counter()
        predicted = find_sensitive(row.text)
        latencies.append((time.perf_counter() - started) * 1000)
        pairs = match_spans(row.spans, predicted)
        for span in row.spans:
            counts[span.kind][0] += 1
        for span in predicted:
            counts[span.kind][1] += 1
        for g, _ in pairs:
            counts[g.kind][2] += 1
        matched_gold = {g for g, _ in pairs}
        matched_predicted = {p for _, p in pairs}
        mistakes += [
            _mistake(row.id, "missed", g, predicted) for g in row.spans if g not in matched_gold
        ]
        mistakes += [
            _mistake(row.id, "spurious", p, list(row.spans))
            for p in predicted
            if p not in matched_predicted
        ]
    totals = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {
        "data": str(path),
        "rows": len(rows),
        "overall": _scores(*totals),
        "by_type": {k: _scores(*c) for k, c in counts.items() if c[0] or c[1]},
        "p50_ms": round(statistics.median(latencies), 3),
        "p95_ms": round(percentile(latencies, 95) or 0.0, 3),
        "mistakes": mistakes[:MAX_MISTAKES],
        "mistakes_total": len(mistakes),
    }


def render_table(result: dict[str, Any]) -> Table:
    """``bench_pii``'s per-type scores as a table, the overall (micro) row last."""
    table = Table(title=f"{result['rows']} rows of {result['data']}", title_justify="left")
    for column in ("type", "gold", "predicted", "tp", "precision", "recall", "F1"):
        table.add_column(column, justify="left" if column == "type" else "right")
    rows = [*result["by_type"].items(), ("overall", result["overall"])]
    for kind, s in rows:
        scores = ("-" if s[k] is None else f"{s[k]:.3f}" for k in ("precision", "recall", "f1"))
        table.add_row(kind, str(s["gold"]), str(s["predicted"]), str(s["tp"]), *scores)
    return table
