"""Retrieval node: the top chunks from the knowledge base for the question."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State, turn_spaces


async def retrieve(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Search the knowledge spaces; keep only passages whose best chunk reaches the relevance
    floor (cosine similarity; a purely lexical search has none and keeps everything)."""
    ctx = runtime.context
    settings = ctx.settings
    spaces = turn_spaces(state, settings.knowledge_scope)
    attributes = {
        "gen_ai.operation.name": "retrieval",
        "gen_ai.data_source.id": f"{settings.collection}/{','.join(spaces)}",
        "gen_ai.request.top_k": settings.top_k,
    }
    attributes["app.retrieval.mode"] = ctx.retriever.config.mode
    with ctx.tracer.span(f"retrieval {settings.collection}", "CLIENT", attributes) as span:
        hits = await ctx.retriever.asearch(state.query, k=settings.top_k, spaces=spaces)
        kept = [h for h in hits if h.similarity is None or h.similarity >= settings.min_relevance]
        span.set(
            "gen_ai.retrieval.documents",
            [{"id": h.id, "score": round(h.score, 4)} for h in hits],
        )
        span.set("app.retrieval.kept", len(kept))
    docs = [
        {
            "id": h.id,
            "source": h.source,
            "heading": h.heading,
            "text": h.text,
            "chunk_text": h.chunk_text or h.text,
            "score": h.score,
            "similarity": h.similarity,
            "updated_at": h.updated_at,
            "url": h.url,
        }
        for h in kept
    ]
    return {"docs": docs}
