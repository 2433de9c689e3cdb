"""``assistant eval traces``: judges run over logged turns, results written back to the log.

A turn can be judged when its span kept the question and answer text, which happens only with
content capture on (``ASSISTANT_TRACE_CONTENT=true``; the text is PII-redacted); what each judge
reads is in ``evals.trace_rows``. Each verdict is written as a ``gen_ai.evaluation.result``
record on the span it judges (``gen_ai.evaluation.name`` = the judge, score 1 = the judge's YES,
``app.judge.version`` / ``app.judge.model``), so the dashboard's quality panel shows it.
Resumable: a target that already has a result from the same judge version is skipped.
``sample`` picks that many targets at random (seeded), newest first otherwise.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from evals.agreement import CorrectedRate, corrected_rate
from evals.judges import Judge, Verdict, run_judge
from evals.trace_rows import DOCUMENT_ID, ChunkTexts, Target, select
from observe.tracing import Tracer


@dataclass
class TraceEvalReport:
    judge: str
    version: str
    model: str
    turns_seen: int = 0
    without_content: int = 0
    already_judged: int = 0
    not_applicable: int = 0
    chunks_missing: int = 0
    judged: int = 0
    positive: int = 0
    unparsed: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    corrected: CorrectedRate | None = None
    calibration: dict[str, Any] | None = None

    @property
    def observed_rate(self) -> float | None:
        decided = self.judged - self.unparsed
        return self.positive / decided if decided else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "judge": self.judge,
            "prompt_version": self.version,
            "model": self.model,
            "turns_seen": self.turns_seen,
            "without_content": self.without_content,
            "already_judged": self.already_judged,
            "not_applicable": self.not_applicable,
            "chunks_missing": self.chunks_missing,
            "judged": self.judged,
            "positive": self.positive,
            "unparsed": self.unparsed,
            "observed_rate": self.observed_rate,
            "corrected_rate": self.corrected.to_dict() if self.corrected else None,
            "calibration": self.calibration,
            "errors": self.errors,
        }


async def evaluate_traces(
    judge: Judge,
    model: BaseChatModel,
    model_name: str,
    live: Path,
    tracer: Tracer,
    *,
    since_ns: int = 0,
    sample: int | None = None,
    seed: int = 7,
    concurrency: int = 2,
    budget: int | None = None,
    calibration: dict[str, Any] | None = None,
    texts: ChunkTexts | None = None,
    progress: Callable[[int], None] | None = None,
) -> TraceEvalReport:
    """Judge the logged turns; ``budget`` caps the judge calls of this run; ``texts`` looks
    chunks up for the judges that read passages."""
    chosen = select(judge, live, texts, since_ns)
    targets = sorted(chosen.targets, key=lambda t: -t.started_ns)
    if sample is not None and sample < len(targets):
        targets = random.Random(seed).sample(targets, sample)
    if budget is not None:
        targets = targets[:budget]
    report = TraceEvalReport(
        judge.name,
        judge.version,
        model_name,
        chosen.turns_seen,
        chosen.without_content,
        chosen.already_judged,
        chosen.not_applicable,
        chosen.chunks_missing,
    )
    gate = asyncio.Semaphore(concurrency)
    if progress is not None:
        progress(len(targets))

    async def one(target: Target) -> None:
        async with gate:
            verdict = await run_judge(judge, model, target.row)
        _record(tracer, judge, model_name, target, verdict)
        report.judged += 1
        report.positive += verdict.positive is True
        report.unparsed += verdict.positive is None
        if verdict.error:
            report.errors[verdict.error] = report.errors.get(verdict.error, 0) + 1
        if progress is not None:
            progress(-1)

    await asyncio.gather(*(one(target) for target in targets))
    tracer.flush()
    report.calibration = calibration
    rate = report.observed_rate
    if calibration and rate is not None and calibration.get("prompt_version") == judge.version:
        report.corrected = corrected_rate(
            rate,
            report.judged - report.unparsed,
            float(calibration["tpr"]),
            float(calibration["tnr"]),
            int(calibration["n_pos"]),
            int(calibration["n_neg"]),
        )
    return report


def _record(tracer: Tracer, judge: Judge, model: str, target: Target, v: Verdict) -> None:
    if v.positive is None:
        label, score = ("error" if v.error else "unparsed"), None
    else:
        label, score = (judge.positive, 1.0) if v.positive else (judge.negative, 0.0)
    tracer.evaluation(
        trace_id=target.trace_id,
        span_id=target.span_id,
        name=judge.name,
        score_value=score,
        score_label=label,
        explanation=None,
        attributes={
            k: value
            for k, value in {
                "app.judge.version": judge.version,
                "app.judge.model": model,
                DOCUMENT_ID: target.document_id,
                "app.content.judge_reason": v.reason or None,  # may quote the turn: content
                "error.type": v.error,
            }.items()
            if value is not None
        },
    )


def load_calibration(path: Path, judge: Judge) -> dict[str, Any] | None:
    """The stored calibration of ``judge`` (``None`` when missing or for another version)."""
    try:
        saved = json.loads(path.read_text(encoding="utf-8")).get(judge.name)
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(saved, dict) or saved.get("prompt_version") != judge.version:
        return None
    return saved
