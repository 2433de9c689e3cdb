"""Input guard node: reject unusable messages, redact PII before anything else sees the text."""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State, turn_policy
from guards.input_guard import check_input as guard_input


async def check_input(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Run the input guard and reset every per-turn field of the state."""
    ctx = runtime.context
    policy = turn_policy(state, ctx.settings.guards)
    with ctx.tracer.span("guard.input", attributes={"app.guard.stage": "input"}) as span:
        verdict = await guard_input(
            state.question, max_chars=ctx.settings.max_input_chars, policy=policy
        )
        span.update(
            {
                "app.guard.passed": verdict.allowed,
                "app.guard.reason": verdict.reason,
                "app.guard.pii_kinds": list(verdict.pii_kinds),
                "app.guard.findings": [str(f) for f in verdict.findings],
                "app.guard.checks": sorted({f.check for f in verdict.findings}),
                "app.guard.actions": sorted({f.action for f in verdict.findings}),
            }
        )
    clean = verdict.text if verdict.allowed else ""
    return {
        "question": clean,  # the raw text must not stay in the persisted state
        "clean_question": clean,
        "query": clean,
        "blocked_reason": None if verdict.allowed else verdict.reason,
        "pii_kinds": list(verdict.pii_kinds),
        "guard_findings": [str(f) for f in verdict.findings],
        "guard_notices": list(verdict.notices),
        "cache_hit": False,
        "cache_age_s": None,
        "cache_match": "",
        "started_at": time.time(),
        "history": [],
        "user_facts": [],
        "intent": None,
        "intent_confidence": 0.0,
        "intent_method": "",
        "planning": False,
        "docs": [],
        "tool_name": None,
        "tool_output": None,
        "approval": None,
        "tool_steps": [],
        "answer": "",
        "shown": "",
        "verbatim": False,
        "grounded": False,
        "citations": [],
        "guard_problems": [],
        "grounding_attempts": 0,
        "regenerate": False,
        "usage": {},
    }
