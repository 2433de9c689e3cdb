"""Judges over a golden-set run (``assistant eval dataset --judge-name …``).

Each answered row is shown to each judge as ``{question, answer, context, intent}`` (the cited
passages under their numbers, the routed intent); a judge that reads passages skips rows that
cite nothing. The verdict lands on the row (``verdicts``: ``{judge: true/false/null}``) and
every judge gets a summary: the share of *good* verdicts (a NO for ``refusal`` and ``harm``),
how many rows it judged and how many verdicts it could not give. In CI the judge is a scripted
model behind the OpenAI-compatible double; with a real provider configured, a real one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from langchain_core.language_models import BaseChatModel

from evals.judges import Judge, run_judge
from evals.report import BAD_WHEN_YES


async def judge_answers(
    judges: list[Judge],
    model: BaseChatModel,
    scored: list[dict[str, Any]],
    *,
    concurrency: int = 2,
    progress: Callable[[], None] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run every judge on every row it applies to; per judge ``{n, good, rate, unparsed}``."""
    gate = asyncio.Semaphore(concurrency)

    async def one(judge: Judge, row: dict[str, Any]) -> None:
        async with gate:
            verdict = await run_judge(judge, model, row)
        row.setdefault("verdicts", {})[judge.name] = verdict.positive
        if progress is not None:
            progress()

    calls = [
        one(judge, row)
        for judge in judges
        for row in scored
        if not judge.needs_context or row.get("context")
    ]
    await asyncio.gather(*calls)
    summary = {}
    for judge in judges:
        said = [r["verdicts"][judge.name] for r in scored if judge.name in r.get("verdicts", {})]
        decided = [v for v in said if v is not None]
        good = sum((not v) if judge.name in BAD_WHEN_YES else v for v in decided)
        summary[judge.name] = {
            "version": judge.version,
            "n": len(said),
            "good": good,
            "rate": round(good / len(decided), 3) if decided else None,
            "unparsed": len(said) - len(decided),
        }
    return summary
