"""Memory node: append the finished turn to the conversation the checkpointer persists, and
fold what no longer fits the budget into the conversation's summary."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.memory_summary import fold, started, tokens
from graph.state import State


async def save_memory(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Record the redacted question and the answer; the answer carries its trace id.

    The oldest messages are dropped (folded into ``summary``) until the conversation holds at
    most ``memory_max_messages`` and ``memory_max_tokens``; the newest turn always stays.
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
    settings = runtime.context.settings
    turn = [HumanMessage(state.clean_question), answer]
    kept = [*state.messages, *turn]
    drop = 0
    while len(kept) - drop > 2 and (
        len(kept) - drop > settings.memory_max_messages
        or tokens(kept[drop:]) > settings.memory_max_tokens
    ):
        drop += 1
    stale = state.messages[:drop]
    summary = fold(started(state.summary, state.query, state.intent), stale)
    with runtime.context.tracer.span("memory.save") as span:
        span.update(
            {
                "app.memory.messages": len(kept) - drop,
                "app.memory.dropped": drop,
                "app.memory.folded": summary.get("folded", 0),
            }
        )
    removals = [RemoveMessage(id=m.id) for m in stale if m.id]
    return {"messages": [*removals, *turn], "summary": summary}
