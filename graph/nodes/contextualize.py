"""Follow-up node: make the message a standalone question when it leans on the thread."""

from __future__ import annotations

import asyncio
from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.followups import is_follow_up, joined, previous_question, rewrite_with_model
from graph.state import State


async def contextualize(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Set ``query``: the message itself, or the follow-up rewritten (``graph.followups``)."""
    settings = runtime.context.settings
    previous = previous_question(state.messages, state.summary)
    mode = settings.rewrite_follow_ups
    if state.fresh:  # asked again from "Fresh answer": already the standalone question
        return {"query": state.clean_question}
    if mode == "off" or not previous or not is_follow_up(state.clean_question):
        return {"query": state.clean_question}
    if mode == "auto":
        mode = "join" if settings.local_model else "model"
    attributes = {"app.rewrite.method": mode}
    with runtime.context.tracer.span("rewrite follow-up", attributes=attributes) as span:
        query = joined(previous, state.clean_question)
        if mode == "model":
            try:
                async with asyncio.timeout(settings.model_timeout_s):
                    query = await rewrite_with_model(
                        runtime.context.llm, previous, state.clean_question
                    )
            except Exception as exc:  # a failed or hung rewrite must not fail the turn
                span.set("app.rewrite.fallback", type(exc).__name__)
        span.set("app.rewrite.chars", len(query))
    return {"query": query}
