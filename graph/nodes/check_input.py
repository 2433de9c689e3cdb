"""Input guard node: reject unusable messages, redact PII before anything else sees the text."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State
from guards.input_guard import check_input as guard_input


async def check_input(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Run the input guard and reset every per-turn field of the state."""
    ctx = runtime.context
    with ctx.tracer.span("guard.input", attributes={"app.guard.stage": "input"}) as span:
        verdict = await guard_input(state.question, max_chars=ctx.settings.max_input_chars)
        span.update(
            {
                "app.guard.passed": verdict.allowed,
                "app.guard.reason": verdict.reason,
                "app.guard.pii_kinds": list(verdict.pii_kinds),
            }
        )
    clean = verdict.text if verdict.allowed else ""
    return {
        "question": clean,  # the raw text must not stay in the persisted state
        "clean_question": clean,
        "query": clean,
        "blocked_reason": None if verdict.allowed else verdict.reason,
        "pii_kinds": list(verdict.pii_kinds),
        "cache_hit": False,
        "history": [],
        "intent": None,
        "intent_confidence": 0.0,
        "intent_method": "",
        "docs": [],
        "tool_name": None,
        "tool_output": None,
        "answer": "",
        "citations": [],
        "guard_problems": [],
        "usage": {},
    }
