"""Semantic cache lookup: a verified hit answers the turn without retrieval or the model.

A hit is only served while every chunk it cites is still in the index: chunk ids are content
hashes, so re-ingesting a changed or deleted document invalidates the answers built on it.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State, cache_scope


async def lookup_cache(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Look the question up in the semantic cache (scoped by knowledge scope and model)."""
    ctx = runtime.context
    if ctx.cache is None:
        return {}
    with ctx.tracer.span("cache.lookup", "CLIENT", {"db.system.name": "redis"}) as span:
        hit = await ctx.cache.alookup(
            state.query, scope=cache_scope(state, ctx.settings.knowledge_scope)
        )
        if hit is not None:
            ids = [c["id"] for c in hit.citations if "id" in c]
            if len(ids) < len(hit.citations) or await ctx.index.amissing(ids):
                span.set("app.cache.stale", True)
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
