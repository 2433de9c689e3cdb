"""Memory node: pick the recent history the model may see and the previous answer's trace."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State
from graph.user_memory import remembered


async def load_memory(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Window the persisted conversation (loaded by the checkpointer) for this turn."""
    keep = runtime.context.settings.memory_turns
    with runtime.context.tracer.span("memory.load") as span:
        previous = next(
            (m for m in reversed(state.messages) if isinstance(m, AIMessage)),
            None,
        )
        history = list(state.messages[-keep:]) if keep else []
        memory = runtime.context.user_memory
        facts = await remembered(memory, state.user_id) if memory and state.private else []
        span.update(
            {
                "app.memory.messages": len(state.messages),
                "app.memory.shown": len(history),
                "app.memory.user_facts": len(facts),
            }
        )
    return {
        "history": history,
        "user_facts": facts,
        "previous_trace_id": previous.response_metadata.get("trace_id") if previous else None,
    }
