"""``assistant eval calibrate``: a judge against human labels, and the stored result.

Rows are ``{question, answer, label, context?}``; ``label`` is the judge's ``positive`` or
``negative`` name (``refusal`` / ``not_refusal`` for the refusal judge). Rows scored by people
on a scale instead (``human_score`` from 0 to 1, as in ``harm-labels.jsonl``) are positive when
the score reaches ``positive_at`` (0.5 by default: "somewhat harmful" or worse on a 5-step
scale). A verdict the judge
could not give (no YES/NO, or the model failed) counts against it: it is scored as the wrong
answer and reported as ``unparsed``, so a judge cannot look better by staying silent.
The measured TPR and TNR are stored in ``<data dir>/evals/judges.json`` under the judge's name,
model and prompt version; reports use them to correct pass rates.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from evals.agreement import Agreement, agreement
from evals.judges import Judge, Verdict, run_judge
from observe.errors import ConfigError
from observe.jsonl import json_rows

HINT = 'rows are {"question", "answer", "label"} or {"question", "answer", "human_score"}'


@dataclass
class Calibration:
    judge: Judge
    model: str
    agreement: Agreement
    unparsed: int
    errors: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.agreement.to_dict(),
            "judge": self.judge.name,
            "prompt_version": self.judge.version,
            "model": self.model,
            "positive_label": self.judge.positive,
            "unparsed": self.unparsed,
            "errors": self.errors,
        }


def load_labels(path: Path, judge: Judge, positive_at: float = 0.5) -> list[dict[str, Any]]:
    """The labelled rows, each label checked against the judge's two names (a row with a
    ``human_score`` and no label gets one: positive when the score is at least ``positive_at``).
    """
    rows = []
    for where, row in json_rows(path, HINT):
        score = row.get("human_score")
        if "label" not in row and isinstance(score, int | float):
            row = {**row, "label": judge.positive if score >= positive_at else judge.negative}
        label = row.get("label")
        if label not in {judge.positive, judge.negative}:
            raise ConfigError(
                f"{where}: label {label!r} is neither {judge.positive!r} nor {judge.negative!r}",
                hint=f"the {judge.name} judge reads those two labels",
            )
        if not isinstance(row.get("answer"), str):
            raise ConfigError(f"{where}: no answer text", hint=HINT)
        rows.append(row)
    if not rows:
        raise ConfigError(f"{path} has no rows", hint=HINT)
    return rows


async def calibrate(
    judge: Judge,
    model: BaseChatModel,
    model_name: str,
    rows: list[dict[str, Any]],
    *,
    concurrency: int = 2,
    timeout_s: float = 60.0,
    progress: Callable[[], None] | None = None,
) -> Calibration:
    """Run ``judge`` on every row (at most ``concurrency`` at once) and score it."""
    gate = asyncio.Semaphore(concurrency)

    async def one(row: dict[str, Any]) -> Verdict:
        async with gate:
            verdict = await run_judge(judge, model, row, timeout_s=timeout_s)
        if progress is not None:
            progress()
        return verdict

    verdicts = await asyncio.gather(*(one(row) for row in rows))
    truth = [row["label"] == judge.positive for row in rows]
    # No verdict scores as the wrong one: a silent judge must not look accurate.
    said = [
        v.positive if v.positive is not None else not t
        for v, t in zip(verdicts, truth, strict=True)
    ]
    errors: dict[str, int] = {}
    for verdict in verdicts:
        if verdict.error:
            errors[verdict.error] = errors.get(verdict.error, 0) + 1
    return Calibration(
        judge,
        model_name,
        agreement(truth, said),
        unparsed=sum(v.positive is None for v in verdicts),
        errors=errors,
    )


def store(path: Path, calibration: Calibration, labels: Path) -> None:
    """Record the calibration under its judge (replacing that judge's previous one)."""
    saved: dict[str, Any] = {}
    if path.exists():
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            saved = {}
    a = calibration.agreement
    saved[calibration.judge.name] = {
        "prompt_version": calibration.judge.version,
        "model": calibration.model,
        "tpr": a.tpr,
        "tnr": a.tnr,
        "n_pos": a.tp + a.fn,
        "n_neg": a.tn + a.fp,
        "kappa": a.kappa,
        "accuracy": a.accuracy,
        "labels": str(labels),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(saved, indent=2) + "\n", encoding="utf-8")
