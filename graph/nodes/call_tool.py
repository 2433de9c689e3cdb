"""Tool node (embedded routing): the intent picks the tool, the turn fills its arguments.

A configured tool may take over an intent (``tools.http.<name>.intent``); its arguments marked
``fill`` come from the turn. A tool with side effects does not run here: the node files an
approval request (``graph.tools.approval``) and the answer asks for it. Tool output is scanned
as untrusted text by the registry (flagged output is shown marked, as data).
"""

from __future__ import annotations

import time
from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.memory_summary import render
from graph.prompts import APPROVAL_ASK, APPROVAL_UNAVAILABLE
from graph.settings import Settings
from graph.state import State, turn_spaces
from graph.tools.approval import PendingCall, approval_problem
from graph.tools.builtin import period_of
from graph.tools.registry import Tool, ToolDeps, describe_args, is_allowed

TOOL_FOR_INTENT = {
    "summarize": "summarize_conversation",
    "escalate": "escalate",
    "ops_stats": "ops_stats",
    "feedback": "record_feedback",
}

TOOL_NOT_ALLOWED = "That isn't available here: this channel's settings don't allow it."


def tool_for(intent: str, settings: Settings) -> str | None:
    """The tool the embedded routing runs for ``intent``: a configured tool that claims it, else
    the built-in one (``None``: the intent is not a tool's)."""
    claimed = [name for name, spec in settings.tools.http.items() if spec.intent == intent]
    return claimed[0] if claimed else TOOL_FOR_INTENT.get(intent)


def tool_arguments(
    state: State, tool: str | None = None, settings: Settings | None = None
) -> dict[str, Any]:
    """The arguments the turn gives ``tool`` (a configured tool's ``fill`` arguments) or, for
    a built-in one, its intent's tool."""
    spec = settings.tools.http.get(tool) if settings is not None and tool else None
    if spec is not None:
        filled = {"question": state.clean_question, "user": state.user_id}
        return {
            name: filled[arg.fill][: arg.max_length or None]
            for name, arg in spec.args.items()
            if arg.fill is not None
        }
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


def turn_deps(ctx: BotContext, state: State, thread: list[dict[str, str]]) -> ToolDeps:
    """What the turn's tools may use."""
    return ToolDeps(
        settings=ctx.settings,
        tracer=ctx.tracer,
        trace_id=state.trace_id,
        user_id=state.user_id,
        history=list(state.messages),
        summary=render(state.summary),
        previous_trace_id=state.previous_trace_id,
        thread=thread,
        experts=list(state.experts),
        retriever=ctx.retriever,
        spaces=turn_spaces(state, ctx.settings.knowledge_scope),
        scan=ctx.scan,
    )


async def ask_approval(
    ctx: BotContext, state: State, tool: Tool, args: dict[str, Any]
) -> dict[str, Any]:
    """File an approval request for ``tool(args)``; the answer asks the asker for it. Arguments
    that would fail the tool, or too long to show whole, are refused before anyone is asked:
    the person approving sees every argument the call will run with."""
    if ctx.approvals is None:
        return {"tool_name": tool.name, "tool_output": APPROVAL_UNAVAILABLE.format(tool=tool.name)}
    problem = approval_problem(tool, args)
    if problem:
        return {"tool_name": tool.name, "tool_output": problem}
    settings = ctx.settings.tools
    pending = await ctx.approvals.request(
        PendingCall(
            tool=tool.name,
            args=args,
            user_id=state.user_id,
            trace_id=state.trace_id,
            expires_at=time.time() + settings.approval_ttl_s,
            approvers=list(settings.approvers),
            spaces=turn_spaces(state, ctx.settings.knowledge_scope),
        )
    )
    shown = describe_args(args, limit=None)
    minutes = max(1, round(pending.expires_in_s() / 60))
    with ctx.tracer.span(
        "tool.approval_requested", attributes={"gen_ai.tool.name": tool.name}
    ) as s:
        s.update({"app.approval.id": pending.id, "app.approval.ttl_s": pending.expires_in_s()})
    return {
        "tool_name": tool.name,
        "tool_output": APPROVAL_ASK.format(
            tool=tool.name, args=shown or "no arguments", minutes=minutes
        ),
        "approval": {
            "id": pending.id,
            "tool": tool.name,
            "args": shown,
            "expires_in_s": pending.expires_in_s(),
        },
    }


async def call_tool(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Run the tool for the turn's intent (or ask to); its output becomes the answer."""
    ctx = runtime.context
    name = tool_for(str(state.intent), ctx.settings) or ""
    if name not in ctx.tools or not is_allowed(name, state.tools_allowed):
        return {"tool_name": name, "tool_output": TOOL_NOT_ALLOWED}
    tool = ctx.tools.get(name)
    args = tool_arguments(state, name, ctx.settings)
    step = {"tool": name, "args": describe_args(args)}
    if tool.side_effect:
        asked = await ask_approval(ctx, state, tool, args)
        return {**asked, "tool_steps": [{**step, "ok": False, "note": "awaiting approval"}]}
    thread = await load_thread(ctx) if name == "summarize_conversation" else []
    result = await ctx.tools.run(name, args, turn_deps(ctx, state, thread))
    note = "flagged" if result.flagged else ("" if result.ok else str(result.error_type))
    return {
        "tool_name": name,
        "tool_output": result.output,
        "tool_steps": [{**step, "ok": result.ok, "note": note}],
    }
