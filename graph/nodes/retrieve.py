"""Retrieval node: the top chunks from the knowledge base for the question."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State, turn_spaces
from graph.untrusted import screen_passages
from knowledge.records import Hit


def as_doc(hit: Hit) -> dict[str, Any]:
    """A hit as the state stores it (``docs``)."""
    return {
        "id": hit.id,
        "source": hit.source,
        "heading": hit.heading,
        "text": hit.text,
        "chunk_text": hit.chunk_text or hit.text,
        "score": hit.score,
        "similarity": hit.similarity,
        "heading_similarity": hit.heading_similarity,
        "updated_at": hit.updated_at,
        "url": hit.url,
    }


async def retrieve(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Search the knowledge spaces; keep only passages whose best chunk reaches the relevance
    floor (cosine similarity; a purely lexical search has none and keeps everything) and that
    the injection scanner passes (dropped ids go on the span as ``app.guard.indirect_dropped``).
    """
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
        docs, dropped = screen_passages([as_doc(h) for h in kept], ctx.scan)
        span.set("app.retrieval.kept", len(docs))
        similarities = [h.similarity for h in hits if h.similarity is not None]
        span.set(
            "app.retrieval.top_similarity", round(max(similarities), 4) if similarities else None
        )
        span.set("app.guard.indirect_dropped", dropped)
    return {"docs": docs}
