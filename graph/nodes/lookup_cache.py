"""Semantic cache lookup: a verified hit answers the turn without retrieval or the model."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State


async def lookup_cache(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Look the question up in the semantic cache (scoped by knowledge scope and model)."""
    ctx = runtime.context
    if ctx.cache is None:
        return {}
    with ctx.tracer.span("cache.lookup", "CLIENT", {"db.system.name": "redis"}) as span:
        hit = await ctx.cache.alookup(state.clean_question)
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
