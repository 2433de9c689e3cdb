"""Output guard node: fix citations and leaks; an answer from knowledge must be grounded.

Citations must point at retrieved sources (and are mapped to them); personal data, secrets,
system-prompt text and abuse are fixed by the output guard. An answer the passages do not
support never replaces what the user already saw: when part of it streamed (each streamed
sentence was supported), that part stays and the best passage is quoted under it; otherwise it
is generated once more, then replaced by the best passage quoted, or by the closest sources
named when no passage answers the question."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.answers import closest_sources_answer, passage_answer
from graph.context import BotContext
from graph.nodes.generate import system_prompt
from graph.state import State
from guards.output_guard import GroundingVerdict, OutputVerdict, check_grounding
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


async def instead_of_unsupported(state: State, runtime: Runtime[BotContext]) -> str | None:
    """What replaces an answer the sources do not support: what the user already saw with the
    best passage quoted under it, or the quote alone; ``None`` when there is neither."""
    ctx = runtime.context
    quoted = await passage_answer(state.query, state.docs, ctx.index.embedder.embed, ctx.settings)
    if state.shown:
        return state.shown + (f"\n\n{quoted}" if quoted else "")
    return quoted


def from_knowledge(state: State) -> bool:
    """Whether the turn's answer is built on retrieved passages (so it must cite them)."""
    return state.intent == "question" and bool(state.docs) and state.tool_output is None


async def check_answer(state: State, runtime: Runtime[BotContext], answer: str) -> OutputVerdict:
    """``answer`` through the output guard with this turn's question, prompt and sources."""
    return await guard_output(
        answer,
        source_count=len(state.docs),
        require_citations=from_knowledge(state) and not state.verbatim,
        question=state.clean_question,
        system_prompt=system_prompt(state),
        passages=[str(d["text"]) for d in state.docs],
    )


async def replacement(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """The answer, citations and flags when the model's answer cannot be used as it is; a
    passage quoted alone is the sources' own words (``verbatim``, ``grounded``: it may be
    cached like an answer in quote mode)."""
    instead = await instead_of_unsupported(state, runtime)
    if instead is None:
        return {"answer": closest_sources_answer(state.docs), "citations": []}
    checked = await check_answer(state, runtime, instead)
    quoted_alone = {"verbatim": True, "grounded": True} if not state.shown else {}
    return {
        "answer": checked.text,
        "citations": citations_for(checked.citations, state.docs),
        **quoted_alone,
    }


async def check_output(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Validate and fix the answer; an answer from knowledge must cite its sources and be
    supported by them, and never take back what the user already saw (see the module
    docstring for what happens when it does not)."""
    ctx = runtime.context
    passages = [str(d["text"]) for d in state.docs]
    with ctx.tracer.span("guard.output", attributes={"app.guard.stage": "output"}) as span:
        verdict = await check_answer(state, runtime, state.answer)
        grounding = (
            await check_grounding(verdict.text, passages, embed=ctx.index.embedder.embed)
            if from_knowledge(state) and not state.verbatim  # not the model's words
            else GroundingVerdict(grounded=True)
        )
        keeps_shown = verdict.text.startswith(state.shown)
        retry = not grounding.grounded and state.grounding_attempts == 0 and not state.shown
        problems = list(verdict.problems) + ([grounding.note] if grounding.note else [])
        action: str | None = None
        if retry:
            update: dict[str, Any] = {"regenerate": True, "grounding_attempts": 1}
            action = "regenerate"
        elif grounding.grounded and keeps_shown:
            update = {
                "answer": verdict.text,
                "citations": citations_for(verdict.citations, state.docs),
                "regenerate": False,
                "grounded": True,
            }
        else:  # unsupported, or the fix would take back text already shown
            update = {**await replacement(state, runtime), "regenerate": False}
            action = "keep_shown" if state.shown else "replace"
        span.update(
            {
                "app.guard.passed": not verdict.problems and grounding.grounded,
                "app.guard.fixes": list(verdict.problems),
                "app.citations": list(verdict.citations),
                "app.guard.grounded": grounding.grounded,
                "app.guard.grounding": grounding.note,
                "app.guard.grounding_attempt": state.grounding_attempts + 1,
                "app.guard.action": action,
                "app.stream.shown_kept": keeps_shown if state.shown else None,
            }
        )
    return {**update, "guard_problems": problems}
