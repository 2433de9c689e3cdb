"""Semantic cache lookup: a verified hit answers the turn without retrieval or the model.

A hit is only served while every chunk it cites is still in the index (chunk ids are content
hashes, so re-ingesting a changed or deleted document invalidates the answers built on it), and
only when the output guard finds nothing to fix in it for *this* asker: a cached answer holding
personal data or a secret they did not write is never served, whatever the scope says.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.prompts import ANSWER_SYSTEM
from graph.state import State, cache_scope
from guards.output_guard import check_output


async def lookup_cache(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Look the question up in the semantic cache (scoped by spaces, guard policy and model)."""
    ctx = runtime.context
    if ctx.cache is None:
        return {}
    scope = cache_scope(state, ctx.settings.knowledge_scope, ctx.settings.guards)
    with ctx.tracer.span("cache.lookup", "CLIENT", {"db.system.name": "redis"}) as span:
        hit = await ctx.cache.alookup(state.query, scope=scope)
        if hit is not None:
            ids = [c["id"] for c in hit.citations if "id" in c]
            if len(ids) < len(hit.citations) or await ctx.index.amissing(ids):
                span.set("app.cache.stale", True)
                hit = None
        if hit is not None:
            verdict = await check_output(
                hit.answer,
                source_count=max((int(c.get("n", 0)) for c in hit.citations), default=0),
                require_citations=True,
                question=state.clean_question,
                system_prompt=ANSWER_SYSTEM,
                passages=[str(c.get("text", "")) for c in hit.citations],
            )
            if verdict.problems:
                span.set("app.cache.rejected", list(verdict.problems))
                hit = None
        span.set("app.cache_hit", hit is not None)
        if hit is None:
            return {}
        span.update({"app.cache.distance": hit.distance, "app.cache.age_s": hit.age_s})
    return {
        "cache_hit": True,
        "intent": "question",
        "intent_method": "default",
        "intent_confidence": 1.0,
        "answer": hit.answer,
        "citations": hit.citations,
    }
