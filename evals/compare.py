"""``assistant eval dataset --compare A --compare B``: two configurations on the same golden
set, side by side, with paired confidence intervals.

A configuration is a comma-separated list of settings, ``key=value`` (values read as YAML:
``chat_model=local:/models/qwen.gguf,top_k=3``). Both answer every row; per row the metrics
(gold source cited, gold words, "couldn't find", total seconds) are paired, and the mean of the
differences B − A gets a percentile bootstrap 95 % interval (the rows resampled together, so
what both configurations find hard does not widen it). An interval that excludes 0 is a real
difference on this set.

With a pairwise judge, each row's two answers are also shown to the judge in both orders;
a verdict that follows the position instead of the answer is counted as position
disagreement and decides nothing.
"""

from __future__ import annotations

import asyncio
import random
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from graph.settings import Settings
from observe.errors import ConfigError

METRICS = {
    "cites_gold": lambda row: float(row["cites_gold"]),
    "gold_words": lambda row: row["gold_words"],
    "couldnt_find": lambda row: float(row["replaced"] or row["no_sources"]),
    "total_s": lambda row: row["timings_ms"]["total"] / 1000,
}
"""Per-row metrics that are paired between the configurations (``None``: not measurable)."""
RESAMPLES = 2000


def parse_config(text: str) -> dict[str, Any]:
    """``key=value,key=value`` as settings overrides (values parsed as YAML scalars)."""
    overrides: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(
                f"bad configuration {text!r}: {part!r} is not key=value",
                hint="e.g. --compare chat_model=local --compare chat_model=local:/m/qwen.gguf",
            )
        key = key.strip()
        if key not in Settings.model_fields:
            raise ConfigError(
                f"bad configuration {text!r}: no setting {key!r}",
                hint="settings are the ASSISTANT_* names in lower case (docs/configuration.md)",
            )
        overrides[key] = yaml.safe_load(value) if value.strip() else ""
    if not overrides:
        raise ConfigError("an empty configuration", hint="give at least one key=value")
    return overrides


@dataclass(frozen=True)
class PairedDiff:
    """Mean of B − A over the rows where both are measured, with a bootstrap 95 % interval."""

    n: int
    mean: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float | int]:
        return {
            "n": self.n,
            "mean": round(self.mean, 4),
            "low": round(self.low, 4),
            "high": round(self.high, 4),
        }


def paired_diff(a: list[float | None], b: list[float | None], seed: int = 7) -> PairedDiff | None:
    """The paired difference of two per-row metric lists (same rows, same order)."""
    diffs = [y - x for x, y in zip(a, b, strict=True) if x is not None and y is not None]
    if not diffs:
        return None
    rng = random.Random(seed)
    n = len(diffs)
    means = sorted(statistics.fmean(rng.choices(diffs, k=n)) for _ in range(RESAMPLES))
    return PairedDiff(
        n, statistics.fmean(diffs), means[int(0.025 * RESAMPLES)], means[int(0.975 * RESAMPLES) - 1]
    )


def paired_rows(
    a_rows: list[dict[str, Any]], b_rows: list[dict[str, Any]]
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Both runs answered the same rows in the same order: pair them by position."""
    if [r["id"] for r in a_rows] != [r["id"] for r in b_rows]:
        raise ValueError("the two runs did not answer the same rows in the same order")
    return list(zip(a_rows, b_rows, strict=True))


def differences(a_rows: list[dict[str, Any]], b_rows: list[dict[str, Any]]) -> dict[str, Any]:
    """``paired_diff`` of every metric (rows paired by position)."""
    pairs = paired_rows(a_rows, b_rows)
    result = {}
    for name, metric in METRICS.items():
        diff = paired_diff([metric(x) for x, _ in pairs], [metric(y) for _, y in pairs])
        result[name] = diff.to_dict() if diff else None
    return result


PAIRWISE_VERSION = "pairwise/1"
PAIRWISE_SYSTEM = (
    "You compare two answers to the same question. Reply with A or B on the first line (the "
    "better answer: correct, on topic, supported), then one short sentence of reason."
)
PAIRWISE_GRAMMAR = r"""
root ::= choice "\n" reason
choice ::= "A" | "B"
reason ::= [^\n]+
"""
_CHOICE = re.compile(r"\b([AB])\b")


def pairwise_messages(question: str, first: str, second: str) -> list[SystemMessage | HumanMessage]:
    body = f"QUESTION:\n{question}\n\nANSWER A:\n{first}\n\nANSWER B:\n{second}\n\nBetter (A or B):"
    return [SystemMessage(PAIRWISE_SYSTEM), HumanMessage(body)]


async def _choose(model: BaseChatModel, question: str, first: str, second: str) -> str | None:
    try:
        async with asyncio.timeout(60):
            reply = await model.ainvoke(pairwise_messages(question, first, second))
    except Exception:  # noqa: BLE001 (a failed call decides nothing; it is counted)
        return None
    match = _CHOICE.search(str(reply.content))
    return match.group(1) if match else None


async def pairwise(
    model: BaseChatModel,
    a_rows: list[dict[str, Any]],
    b_rows: list[dict[str, Any]],
    progress: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Judge each row's two answers in both orders: wins of A and B where both orders agree,
    position disagreement where they do not, and rows the judge could not decide."""
    counts = {
        "a_wins": 0,
        "b_wins": 0,
        "position_disagreement": 0,
        "undecided": 0,
        "same_answer": 0,
    }
    for row, other in paired_rows(a_rows, b_rows):
        if row["answer"].strip() == other["answer"].strip():
            counts["same_answer"] += 1
        else:
            forward = await _choose(model, row["question"], row["answer"], other["answer"])
            backward = await _choose(model, row["question"], other["answer"], row["answer"])
            if forward is None or backward is None:
                counts["undecided"] += 1
            elif forward == "A" and backward == "B":
                counts["a_wins"] += 1
            elif forward == "B" and backward == "A":
                counts["b_wins"] += 1
            else:
                counts["position_disagreement"] += 1
        if progress is not None:
            progress()
    judged = counts["a_wins"] + counts["b_wins"] + counts["position_disagreement"]
    return {
        "prompt_version": PAIRWISE_VERSION,
        **counts,
        "position_disagreement_rate": round(counts["position_disagreement"] / judged, 4)
        if judged
        else None,
    }
