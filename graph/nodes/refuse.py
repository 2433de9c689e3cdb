"""Refusal node: a polite one-line answer for a message the input guard rejected."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.prompts import REFUSAL
from graph.state import State


async def refuse(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Answer with the guard's reason; nothing else runs for this turn."""
    with runtime.context.tracer.span("refuse") as span:
        span.set("app.guard.reason", state.blocked_reason)
    return {
        "answer": REFUSAL.format(reason=state.blocked_reason or "it was rejected"),
    }
