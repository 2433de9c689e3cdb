"""Memory node: append the finished turn to the conversation the checkpointer persists."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State


async def save_memory(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Record the redacted question and the answer; the answer carries its trace id.

    The oldest messages are dropped so a conversation keeps at most ``memory_max_messages``.
    """
    answer = AIMessage(
        content=state.answer,
        response_metadata={
            "trace_id": state.trace_id,
            "query": state.query,
            "intent": state.intent,
            "sources": [c["source"] for c in state.citations],
        },
    )
    keep = runtime.context.settings.memory_max_messages - 2
    stale = state.messages[: max(len(state.messages) - keep, 0)]
    removals = [RemoveMessage(id=m.id) for m in stale if m.id]
    with runtime.context.tracer.span("memory.save") as span:
        span.update(
            {
                "app.memory.messages": len(state.messages) - len(removals) + 2,
                "app.memory.dropped": len(removals),
            }
        )
    return {
        "messages": [*removals, HumanMessage(state.clean_question), answer],
    }
