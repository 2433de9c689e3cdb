"""Calibrate ``guards.groundedness`` on the Python FAQ; prints one JSON report.

``assistant bench grounded --data python-faq.jsonl [--no-embed]``

Every factual sentence of each gold answer A is scored three times, as a retrieval would see it:

* ``supported``: against A and two answers from other FAQ files (A was retrieved); a second
  positive set, ``supported_cut``, cuts A into 400-character windows (a sentence may straddle);
* ``hard``: against the three answers of A's own FAQ file closest to A in content terms (same
  topic area, not A: the likeliest wrong retrieval);
* ``easy``: against three answers from other FAQ files.

For lexical and semantic support alike, the threshold picked is the lowest on a 0.05 grid whose
false-positive rate on ``hard`` is at most ``TARGET_FPR`` (the lowest keeps the most room for a
paraphrase); the semantic bar is picked with the lexical one in force (a sentence passes on
either), and the bars for a cited passage allow ``CITED_TARGET_FPR``. The report has those
picks, precision and recall of "supported" at the module's constants (lexical only, and with
MiniLM embeddings), the score distributions, and answer-level pass rates for ``Grounded``.
Caveat: the positives are the gold text itself, not paraphrases, so recall here says little
about reworded answers; the thresholds are set by the negatives.

Measured (175 answers, 1,229 factual sentences per set, all-MiniLM-L6-v2): picks L 0.8, S 0.85,
cited L 0.65, cited S 0.7 (the module's constants). "Supported" at them: lexical only P 0.965 /
R 1.0 (cut 0.922), FPR hard 3.1 %, easy 0.6 %; with embeddings P 0.956 / R 1.0 (cut 0.970), FPR
hard 4.0 %, easy 0.6 %. ``Grounded`` at 0.6 passes every gold answer and 0.6-1.1 % of the
answers scored against wrong (hard) passages.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from guards.groundedness import (
    LEXICAL_SUPPORT,
    SEMANTIC_SUPPORT,
    Embed,
    SentenceSupport,
    content_terms,
    memoized,
    support_scores,
)
from observe.errors import ConfigError
from observe.jsonl import json_rows

TARGET_FPR = 0.05
"""Highest share of ``hard`` negatives a threshold may pass."""
CITED_TARGET_FPR = 0.15
"""The same for the looser bars of a cited passage."""
CUT_CHARS = 400
SEED = 13
GRID = [round(0.3 + 0.05 * i, 2) for i in range(14)]
SETS = ("supported", "supported_cut", "hard", "easy")
_HINT = "rows need 'answer' and 'source' (python-faq.jsonl)"

Scored = dict[str, list[SentenceSupport]]


def _cut(text: str, size: int = CUT_CHARS) -> list[str]:
    """``text`` in windows of about ``size`` characters, cut at a blank."""
    pieces, start = [], 0
    while start < len(text):
        end = len(text) if len(text) - start <= size else text.rfind(" ", start, start + size)
        end = start + size if end <= start else end
        pieces.append(text[start:end])
        start = end
    return pieces


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def passage_sets(rows: Sequence[dict[str, Any]]) -> list[dict[str, list[str]]]:
    """For each row, the passages of each set in ``SETS`` (see the module doc)."""
    rng = random.Random(SEED)
    terms = [set(content_terms(r["answer"])) for r in rows]
    by_file: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_file[row["source"]].append(i)
    sets = []
    for i, row in enumerate(rows):
        same = sorted(
            (j for j in by_file[row["source"]] if j != i),
            key=lambda j: -_jaccard(terms[i], terms[j]),
        )
        others = [j for j in range(len(rows)) if rows[j]["source"] != row["source"]]
        far = rng.sample(others, min(5, len(others)))
        answer = row["answer"]
        sets.append(
            {
                "supported": [answer] + [rows[j]["answer"] for j in far[:2]],
                "supported_cut": _cut(answer) + [rows[j]["answer"] for j in far[:2]],
                "hard": [rows[j]["answer"] for j in same[:3]],
                "easy": [rows[j]["answer"] for j in far[2:]],
            }
        )
    return sets


def _flat(text: str) -> str:
    return " ".join(text.split())


def score_rows(
    rows: Sequence[dict[str, Any]], embed: Embed | None = None
) -> tuple[Scored, dict[str, list[float]]]:
    """Every factual sentence of every answer, scored against each set's passages; and per set,
    each answer's groundedness score (share of its factual sentences supported).

    A negative whose sentence appears word for word in its passages (the FAQ repeats itself)
    is really supported: it is left out of the negatives, into ``duplicates``.
    """
    scored: Scored = {name: [] for name in (*SETS, "duplicates")}
    answers: dict[str, list[float]] = {name: [] for name in SETS}
    embed = memoized(embed) if embed is not None else None
    for row, sets in zip(rows, passage_sets(rows), strict=True):
        for name in SETS:
            flat = [_flat(p) for p in sets[name]]
            results = support_scores(row["answer"], sets[name], embed)
            share = sum(s.supported for s in results) / len(results) if results else 1.0
            answers[name].append(share)
            for s in results:
                copied = name in ("hard", "easy") and any(_flat(s.sentence) in p for p in flat)
                scored["duplicates" if copied else name].append(s)
    return scored, answers


Rule = Callable[[SentenceSupport], bool]


def _rate(items: list[SentenceSupport], rule: Rule) -> float:
    return round(sum(map(rule, items)) / len(items), 4) if items else 0.0


def _lexical(threshold: float) -> Rule:
    return lambda s: not s.unsupported_numbers and s.lexical >= threshold


def _semantic(threshold: float) -> Rule:
    return lambda s: not s.unsupported_numbers and (s.semantic or 0.0) >= threshold


def _either(first: Rule, second: Rule) -> Rule:
    return lambda s: first(s) or second(s)


def _beside(lexical: float) -> Callable[[float], Rule]:
    """Semantic rules at a threshold, each with the lexical bar ``lexical`` in force too."""
    return lambda t: _either(_lexical(lexical), _semantic(t))


def pick(scored: Scored, make: Callable[[float], Rule], target: float) -> float | None:
    """The lowest grid threshold passing at most ``target`` of the hard negatives."""
    return next((t for t in GRID if _rate(scored["hard"], make(t)) <= target), None)


def quality(scored: Scored, rule: Rule) -> dict[str, float]:
    """Precision and recall of ``rule`` (positives: ``supported``; negatives: hard and easy)."""
    tp = sum(map(rule, scored["supported"]))
    fp = sum(map(rule, scored["hard"] + scored["easy"]))
    return {
        "precision": round(tp / (tp + fp), 4) if tp + fp else 0.0,
        "recall": _rate(scored["supported"], rule),
        "recall_cut": _rate(scored["supported_cut"], rule),
        "fpr_hard": _rate(scored["hard"], rule),
        "fpr_easy": _rate(scored["easy"], rule),
    }


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {}
    at = {"p10": 0.1, "p50": 0.5, "p90": 0.9, "p95": 0.95}
    return {k: round(ordered[int(q * (len(ordered) - 1))], 3) for k, q in at.items()}


def answer_pass_rates(answers: dict[str, list[float]]) -> dict[str, Any]:
    """Per set, the share of answers ``Grounded`` passes at ``min_supported`` 0.4 … 0.8."""
    return {
        f"min_supported_{m}": {k: _rate_values(v, m) for k, v in answers.items()}
        for m in (0.4, 0.5, 0.6, 0.7, 0.8)
    }


def _rate_values(values: list[float], minimum: float) -> float:
    return round(sum(v >= minimum for v in values) / len(values), 4) if values else 0.0


def measure(rows: Sequence[dict[str, Any]], embed: Embed | None = None) -> dict[str, Any]:
    """The calibration report for ``rows`` (``{answer, source}``), with ``embed`` if given."""
    scored, answers = score_rows(rows, embed)
    current = (LEXICAL_SUPPORT, SEMANTIC_SUPPORT)
    report: dict[str, Any] = {
        "answers": len(rows),
        "sentences": {k: len(v) for k, v in scored.items()},
        "lexical": {k: _quantiles([s.lexical for s in v]) for k, v in scored.items()},
        "picked": {
            "lexical": pick(scored, _lexical, TARGET_FPR),
            "cited_lexical": pick(scored, _lexical, CITED_TARGET_FPR),
        },
        "constants": {"lexical": current[0], "semantic": current[1]},
        "lexical_only": quality(scored, _lexical(current[0])),
        "lexical_grid": {t: quality(scored, _lexical(t)) for t in GRID},
        "final": quality(scored, lambda s: s.supported),
        "answer_pass_rates": answer_pass_rates(answers),
    }
    if embed is not None:
        report["semantic"] = {
            k: _quantiles([s.semantic or 0.0 for s in v]) for k, v in scored.items()
        }
        picked = report["picked"]
        for key, target in (("", TARGET_FPR), ("cited_", CITED_TARGET_FPR)):
            bar = picked[f"{key}lexical"]
            picked[f"{key}semantic"] = pick(scored, _beside(bar or 1.0), target)
        report["semantic_only"] = quality(scored, _semantic(current[1]))
        report["semantic_grid"] = {t: quality(scored, _semantic(t)) for t in GRID}
    return report


def load_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``{answer, source}`` JSON-lines file; a bad file raises ``ConfigError``."""
    rows = [row for _, row in json_rows(path, _HINT)]
    if not rows or not all(isinstance(r.get("answer"), str) and "source" in r for r in rows):
        raise ConfigError(f"{path}: no rows, or rows without 'answer' and 'source'", hint=_HINT)
    return rows
