"""Tool node: the intent picks the tool; the registry runs it with its timeout.

A tool's output can carry other people's text (a thread to summarise): it is scanned for prompt
injection, and flagged output is shown with a warning line above it (``graph.untrusted``).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.memory_summary import render
from graph.state import State
from graph.tools.builtin import period_of
from graph.tools.registry import ToolDeps
from graph.untrusted import flag_tool_output

TOOL_FOR_INTENT = {
    "summarize": "summarize_conversation",
    "escalate": "escalate",
    "ops_stats": "ops_stats",
    "feedback": "record_feedback",
}

TOOL_NOT_ALLOWED = "That isn't available here: this channel's settings don't allow it."


def tool_arguments(state: State) -> dict[str, Any]:
    """The arguments each intent's tool gets from the turn."""
    if state.intent == "escalate":
        return {"reason": state.clean_question[:500]}
    if state.intent == "feedback":
        return {"comment": state.clean_question}
    if state.intent == "ops_stats":
        return {"period": period_of(state.clean_question)}
    return {}


async def load_thread(ctx: BotContext) -> list[dict[str, str]]:
    """The surface's thread for a summary; empty (summarise memory) when it has none."""
    if ctx.thread_loader is None:
        return []
    with ctx.tracer.span("thread.load", "CLIENT") as span:
        thread = await ctx.thread_loader()
        span.set("app.thread.messages", len(thread))
    return thread


async def call_tool(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Run the tool for the turn's intent; its output (or error message) becomes the answer."""
    ctx = runtime.context
    name = TOOL_FOR_INTENT[str(state.intent)]
    if state.tools_allowed is not None and name not in state.tools_allowed:
        return {"tool_name": name, "tool_output": TOOL_NOT_ALLOWED}
    attributes = {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
    with ctx.tracer.span(f"execute_tool {name}", attributes=attributes) as span:
        deps = ToolDeps(
            settings=ctx.settings,
            tracer=ctx.tracer,
            trace_id=state.trace_id,
            user_id=state.user_id,
            history=list(state.messages),
            summary=render(state.summary),
            previous_trace_id=state.previous_trace_id,
            thread=await load_thread(ctx) if name == "summarize_conversation" else [],
            experts=list(state.experts),
        )
        result = await ctx.tools.run(name, tool_arguments(state), deps)
        output = result.output
        if not result.ok:
            span.fail(result.error_type or "ToolError")
        elif ctx.scan is not None and (reason := ctx.scan(output)) is not None:
            output = flag_tool_output(output)
            span.update({"app.guard.indirect_flagged": True, "app.guard.indirect_reason": reason})
    return {"tool_name": name, "tool_output": output}
