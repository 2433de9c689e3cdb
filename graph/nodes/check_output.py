"""Output guard node: citations must point at retrieved sources; map them to those sources."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State
from guards.output_guard import check_output as guard_output


def citations_for(numbers: tuple[int, ...] | list[int], docs: list[dict[str, Any]]) -> list[dict]:
    """``{"n", "id", "source", "heading", "text", "score", "updated_at", "url"}`` for each marker
    that names a doc."""
    return [
        {
            "n": n,
            "id": docs[n - 1]["id"],
            "source": docs[n - 1]["source"],
            "heading": docs[n - 1]["heading"],
            "text": docs[n - 1]["text"],
            "score": docs[n - 1].get("score"),
            "updated_at": docs[n - 1].get("updated_at"),
            "url": docs[n - 1].get("url") or "",
        }
        for n in numbers
        if 1 <= n <= len(docs)
    ]


async def check_output(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Validate the answer; answers from knowledge must cite the sources they were given."""
    ctx = runtime.context
    grounded = state.intent == "question" and bool(state.docs) and state.tool_output is None
    with ctx.tracer.span("guard.output", attributes={"app.guard.stage": "output"}) as span:
        verdict = await guard_output(
            state.answer, source_count=len(state.docs), require_citations=grounded
        )
        span.update(
            {
                "app.guard.passed": not verdict.problems,
                "app.guard.fixes": list(verdict.problems),
                "app.citations": list(verdict.citations),
            }
        )
    return {
        "answer": verdict.text,
        "citations": citations_for(verdict.citations, state.docs),
        "guard_problems": list(verdict.problems),
    }
