"""User-memory node: carry out "remember that …", "what do you remember about me?" and
"forget …" (``graph.user_memory``); any other message goes on untouched. A memory turn ends
here: it is not kept in the conversation's memory (its text is about the asker)."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State
from graph.user_memory import carry_out, memory_command


async def user_memory(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Answer a memory command (intent ``memory``); ``{}`` for every other message."""
    ctx = runtime.context
    command = memory_command(state.clean_question) if ctx.user_memory is not None else None
    if command is None or ctx.user_memory is None:
        return {}
    with ctx.tracer.span("memory.user", attributes={"app.memory.action": command.action}):
        answer = await carry_out(ctx.user_memory, state.user_id, command, private=state.private)
    return {
        "query": state.clean_question,
        "intent": "memory",
        "intent_method": "rule",
        "intent_confidence": 1.0,
        "tool_name": "user_memory",
        "answer": answer,
    }
