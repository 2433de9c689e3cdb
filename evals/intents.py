"""Benchmark the intent classifier: accuracy, macro-F1, per-intent scores, confusion matrix.

``load_rows`` reads a JSONL file of ``{"text": ..., "intent": ...}`` rows and rejects a bad row with
its line number. ``evaluate`` runs the classifier (``predict_many``, so the fallback policy applies)
and returns an ``IntentReport``: ``to_dict()`` is the ``--json`` output, ``render_table`` the
human one.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from rich.table import Table

from graph.intents import IntentPrediction
from graph.settings import INTENTS
from observe.errors import InputRejected


class SupportsPredictMany(Protocol):
    """Anything that classifies a batch of texts (the ``IntentClassifier``)."""

    def predict_many(self, texts: Sequence[str]) -> list[IntentPrediction]: ...


@dataclass(frozen=True, slots=True)
class IntentScore:
    """Precision, recall and F1 of one intent, over ``support`` true rows."""

    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True, slots=True)
class Mistake:
    """One misclassified row."""

    text: str
    expected: str
    predicted: str
    confidence: float
    method: str


@dataclass(frozen=True, slots=True)
class IntentReport:
    """Scores of one run; ``confusion[true][predicted]`` counts rows."""

    n: int
    accuracy: float
    macro_f1: float
    per_intent: dict[str, IntentScore]
    confusion: dict[str, dict[str, int]]
    methods: dict[str, int]
    seconds: float
    mistakes: list[Mistake] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict of every field."""
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "macro_f1": round(self.macro_f1, 4),
            "per_intent": {
                intent: {
                    "precision": round(s.precision, 4),
                    "recall": round(s.recall, 4),
                    "f1": round(s.f1, 4),
                    "support": s.support,
                }
                for intent, s in self.per_intent.items()
            },
            "confusion": self.confusion,
            "methods": self.methods,
            "seconds": round(self.seconds, 3),
            "mistakes": [
                {
                    "text": m.text,
                    "expected": m.expected,
                    "predicted": m.predicted,
                    "confidence": round(m.confidence, 4),
                    "method": m.method,
                }
                for m in self.mistakes
            ],
        }


def load_rows(path: Path) -> list[dict[str, str]]:
    """Read labelled JSONL rows; raises ``InputRejected`` naming the line of the first bad row."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): U+2028
    except OSError as exc:
        raise InputRejected(
            f"cannot read intent data {str(path)!r}: {exc.strerror or exc}",
            hint='pass a JSONL file of {"text": ..., "intent": ...} rows',
        ) from exc
    rows: list[dict[str, str]] = []
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputRejected(
                f"{where}: not valid JSON ({exc.msg})", hint="one JSON object per line"
            ) from None
        if not isinstance(row, dict):
            raise InputRejected(f"{where}: expected a JSON object", hint="one object per line")
        text, intent = row.get("text"), row.get("intent")
        if not isinstance(text, str) or not text.strip():
            raise InputRejected(f"{where}: 'text' must be a non-empty string")
        if intent not in INTENTS:
            raise InputRejected(
                f"{where}: unknown intent {intent!r}", hint=f"valid intents: {list(INTENTS)}"
            )
        rows.append({"text": text, "intent": str(intent)})
    if not rows:
        raise InputRejected(f"{path}: no rows", hint="the file holds no labelled examples")
    return rows


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def evaluate(classifier: SupportsPredictMany, rows: Sequence[Mapping[str, str]]) -> IntentReport:
    """Classify every row's text in one batch and score the predictions against its intent."""
    if not rows:
        raise InputRejected("no rows to evaluate", hint="pass at least one labelled row")
    texts = [row["text"] for row in rows]
    expected = [row["intent"] for row in rows]
    start = time.perf_counter()
    predictions = classifier.predict_many(texts)
    seconds = time.perf_counter() - start
    seen = {str(p.intent) for p in predictions} | set(expected)
    labels = list(INTENTS) + sorted(seen - set(INTENTS))
    confusion = {true: dict.fromkeys(labels, 0) for true in labels}
    mistakes: list[Mistake] = []
    for text, true, pred in zip(texts, expected, predictions, strict=True):
        confusion[true][pred.intent] += 1
        if pred.intent != true:
            mistakes.append(Mistake(text, true, pred.intent, pred.confidence, pred.method))
    per_intent: dict[str, IntentScore] = {}
    for label in labels:
        tp = confusion[label][label]
        predicted = sum(confusion[t][label] for t in labels)
        support = sum(confusion[label].values())
        precision, recall = _ratio(tp, predicted), _ratio(tp, support)
        f1 = _ratio(2 * tp, predicted + support)
        per_intent[label] = IntentScore(precision, recall, f1, support)
    scored = [s for s in per_intent.values() if s.support]
    correct = sum(confusion[label][label] for label in labels)
    return IntentReport(
        n=len(rows),
        accuracy=correct / len(rows),
        macro_f1=sum(s.f1 for s in scored) / len(scored),
        per_intent=per_intent,
        confusion=confusion,
        methods=dict(Counter(p.method for p in predictions)),
        seconds=seconds,
        mistakes=mistakes,
    )


def render_table(report: IntentReport) -> Table:
    """Per-intent scores plus the confusion matrix (rows: true intent, columns: predicted)."""
    labels = list(report.confusion)
    table = Table(
        title=f"Intent classification on {report.n} rows",
        caption=(
            f"accuracy {report.accuracy:.3f} · macro-F1 {report.macro_f1:.3f} · "
            f"{report.seconds * 1000 / max(report.n, 1):.1f} ms/row · "
            + ", ".join(f"{m}: {c}" for m, c in sorted(report.methods.items()))
        ),
    )
    table.add_column("intent", style="bold")
    for header in ("precision", "recall", "F1", "support"):
        table.add_column(header, justify="right")
    for label in labels:
        table.add_column(f"→{label[:8]}", justify="right", style="dim")
    for label in labels:
        score = report.per_intent[label]
        cells = [
            f"[bold]{n}[/bold]" if other == label else (str(n) if n else "·")
            for other, n in report.confusion[label].items()
        ]
        table.add_row(
            label,
            f"{score.precision:.3f}",
            f"{score.recall:.3f}",
            f"{score.f1:.3f}",
            str(score.support),
            *cells,
        )
    return table
