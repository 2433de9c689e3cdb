"""Planning node: a capable chat model picks and calls the turn's allowed tools (``graph.planner``).

While someone watches the turn, the plan is written to the graph's ``custom`` stream: a
``{"plan_update": {"title"}}`` before the first step, then ``{"task_update": task}`` as each step
starts and ends, so a chat surface can show the plan as it runs. If the model fails while
planning, the turn falls back to the embedded routing (``call_tool``): a dead model still gets
the intent's tool (only when no tool had run yet: nothing runs twice).
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.nodes.call_tool import (
    TOOL_NOT_ALLOWED,
    ask_approval,
    call_tool,
    load_thread,
    turn_deps,
)
from graph.planner import LoopGuard, Task, plan_and_run
from graph.prompts import PLAN_TITLE
from graph.state import State
from observe.errors import ModelCallError


async def plan_tools(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Let the chat model call tools for the turn; its answer (or approval request) is the
    tool output ``generate`` passes on."""
    ctx = runtime.context
    settings = ctx.settings
    tools = ctx.tools.allowed(state.tools_allowed)
    if not tools:
        return {"tool_name": None, "tool_output": TOOL_NOT_ALLOWED}
    writer = runtime.stream_writer

    announced: list[bool] = []

    def on_task(task: Task) -> None:
        if not ctx.stream_answers:
            return
        if not announced:  # the plan's heading, once a first tool is called
            announced.append(True)
            writer({"plan_update": {"title": PLAN_TITLE}})
        writer({"task_update": task})

    thread = await load_thread(ctx) if state.intent == "summarize" else []
    attributes = {"app.plan.tools_offered": len(tools), "gen_ai.request.model": settings.chat_model}
    with ctx.tracer.span("plan_tools", attributes=attributes) as span:
        try:
            plan = await plan_and_run(
                llm=ctx.llm,
                registry=ctx.tools,
                tools=tools,
                question=state.query,
                history=list(state.history),
                deps=turn_deps(ctx, state, thread),
                guard=LoopGuard(settings.tools, settings.chat_model, settings.traces.cost_usd),
                ask_approval=lambda tool, args: ask_approval(ctx, state, tool, args),
                timeout_s=settings.model_timeout_s,
                on_task=on_task,
            )
        except (ModelCallError, TimeoutError, NotImplementedError) as exc:
            span.fail(exc)
            span.set("app.plan.fallback", "routing")
            return await call_tool(state, runtime)
        span.update(
            {
                "app.plan.steps": len(plan.steps),
                "app.plan.stopped": plan.stopped or "answered",
                "gen_ai.usage.input_tokens": plan.usage["input_tokens"],
                "gen_ai.usage.output_tokens": plan.usage["output_tokens"],
                "app.cost_usd": plan.cost_usd,
            }
        )
    return {
        "tool_name": plan.tool_name,
        "tool_output": plan.answer or "I couldn't work that out with the tools I have.",
        "tool_steps": plan.steps,
        "approval": plan.approval,
        "usage": plan.usage,
    }
