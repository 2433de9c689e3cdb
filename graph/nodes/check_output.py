"""Output guard node: fix citations and leaks; an answer from knowledge must be grounded.

Citations must point at retrieved sources (and are mapped to them); personal data, secrets,
system-prompt text and abuse are fixed by the output guard; an answer the passages do not
support is sent back to ``generate`` once, then replaced by an honest "couldn't find it"."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.nodes.generate import system_prompt
from graph.prompts import NOT_GROUNDED_ANSWER, NOT_GROUNDED_SOURCE
from graph.state import State
from guards.output_guard import GroundingVerdict, check_grounding
from guards.output_guard import check_output as guard_output

MAX_CLOSEST = 3
"""How many of the retrieved sources the not-grounded answer names."""


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


def not_grounded_answer(docs: list[dict[str, Any]]) -> str:
    """The honest answer when the sources do not support what the model said: the closest ones."""
    lines = [
        NOT_GROUNDED_SOURCE.format(heading=d["heading"] or d["source"], source=d["source"])
        for d in docs[:MAX_CLOSEST]
    ]
    return NOT_GROUNDED_ANSWER.format(sources="\n".join(lines))


async def check_output(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Validate and fix the answer; an answer from knowledge must cite its sources and be
    supported by them (else it is generated once more, then replaced by an honest one)."""
    ctx = runtime.context
    from_knowledge = state.intent == "question" and bool(state.docs) and state.tool_output is None
    passages = [str(d["text"]) for d in state.docs]
    with ctx.tracer.span("guard.output", attributes={"app.guard.stage": "output"}) as span:
        verdict = await guard_output(
            state.answer,
            source_count=len(state.docs),
            require_citations=from_knowledge,
            question=state.clean_question,
            system_prompt=system_prompt(state),
            passages=passages,
        )
        grounding = (
            await check_grounding(verdict.text, passages, embed=ctx.index.embedder.embed)
            if from_knowledge
            else GroundingVerdict(grounded=True)
        )
        retry = not grounding.grounded and state.grounding_attempts == 0
        problems = list(verdict.problems) + ([grounding.note] if grounding.note else [])
        if retry:
            update: dict[str, Any] = {"regenerate": True, "grounding_attempts": 1}
        elif not grounding.grounded:
            update = {
                "answer": not_grounded_answer(state.docs),
                "citations": [],
                "regenerate": False,
            }
        else:
            update = {
                "answer": verdict.text,
                "citations": citations_for(verdict.citations, state.docs),
                "regenerate": False,
            }
        span.update(
            {
                "app.guard.passed": not verdict.problems and grounding.grounded,
                "app.guard.fixes": list(verdict.problems),
                "app.citations": list(verdict.citations),
                "app.guard.grounded": grounding.grounded,
                "app.guard.grounding": grounding.note,
                "app.guard.grounding_attempt": state.grounding_attempts + 1,
                "app.guard.action": (
                    None if grounding.grounded else "regenerate" if retry else "replace"
                ),
                # False when the final answer does not continue what the user already saw
                "app.stream.shown_kept": (
                    str(update["answer"]).startswith(state.shown)
                    if state.shown and "answer" in update
                    else None
                ),
            }
        )
    return {**update, "guard_problems": problems}
