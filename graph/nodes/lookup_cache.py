"""Semantic cache lookup: a verified hit answers the turn without retrieval or the model.

A hit is only served while every chunk it cites is still in the index (chunk ids are content
hashes, so re-ingesting a changed or deleted document invalidates the answers built on it), and
only when the output guard finds nothing to fix in it for *this* asker: a cached answer holding
personal data or a secret they did not write is never served, whatever the scope says. The
span records the closest candidate's similarity, the verdict on each candidate, and what a hit
saved (the first answer's time and tokens).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.cache import CachedAnswer
from graph.context import BotContext
from graph.prompts import ANSWER_SYSTEM
from graph.state import State, cache_scope
from guards.output_guard import check_output
from observe.tracing import Span


async def lookup_cache(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Look the question up in the semantic cache (scoped by spaces, guard policy and model)."""
    ctx = runtime.context
    if ctx.cache is None:
        return {}
    scope = cache_scope(state, ctx.settings.knowledge_scope, ctx.settings.guards)
    with ctx.tracer.span("cache.lookup", "CLIENT", {"db.system.name": "redis"}) as span:
        if state.fresh:
            span.update({"app.cache_hit": False, "app.cache.skipped": "fresh answer asked"})
            return {}
        found = await ctx.cache.alookup(state.query, scope=scope)
        span.update(
            {
                "app.cache.similarity": found.similarity,
                "app.cache.verdicts": list(found.verdicts),
                "app.cache.failed": found.failed,
            }
        )
        hit = found.hit
        if hit is not None and not await _still_good(hit, state, ctx, span):
            hit = None
        span.set("app.cache_hit", hit is not None)
        if hit is None:
            return {}
        span.update(
            {
                "app.cache.distance": hit.distance,
                "app.cache.age_s": hit.age_s,
                "app.cache.saved_ms": hit.saved_ms,
                "app.cache.saved_tokens": hit.saved_tokens,
            }
        )
    return {
        "cache_hit": True,
        "cache_age_s": hit.age_s,
        "cache_match": found.verdicts[-1],
        "intent": "question",
        "intent_method": "default",
        "intent_confidence": 1.0,
        "answer": hit.answer,
        "citations": hit.citations,
    }


async def _still_good(hit: CachedAnswer, state: State, ctx: BotContext, span: Span) -> bool:
    """Whether the hit's cited chunks all still exist and the output guard passes it for this
    asker; the reason it does not goes on the span."""
    ids = [c["id"] for c in hit.citations if "id" in c]
    if len(ids) < len(hit.citations) or await ctx.index.amissing(ids):
        span.set("app.cache.stale", True)
        return False
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
        return False
    return True
