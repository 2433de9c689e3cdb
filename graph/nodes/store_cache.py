"""Cache store node: keep grounded, cited answers for reuse by similar questions."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State, cache_scope


def cacheable(state: State) -> bool:
    """Only fresh answers from knowledge that cite at least one source are worth caching."""
    return (
        state.intent == "question"
        and not state.cache_hit
        and state.tool_output is None
        and bool(state.citations)
    )


async def store_cache(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Store the answer under the redacted question; a cache failure never fails the turn."""
    ctx = runtime.context
    if ctx.cache is None or not cacheable(state):
        return {}
    with ctx.tracer.span("cache.store", "CLIENT", {"db.system.name": "redis"}):
        await ctx.cache.astore(
            state.query,
            state.answer,
            state.citations,
            scope=cache_scope(state, ctx.settings.knowledge_scope),
        )
    return {}
