"""Tool planning with a capable chat model: native tool calling in a bounded loop.

``plan_and_run`` offers the model the turn's allowed tools (their JSON schemas), runs the calls
it asks for and feeds the results back, until it answers in words. It stops early, with an answer
that says why, when a loop guard trips:

* ``max_steps`` tool calls in one turn (calls to unknown tools count; the model is called at
  most ``max_steps + 2`` times);
* the same call (tool and arguments) more than ``max_repeats`` times;
* the turn's model spend past ``max_cost_usd`` (priced models only).

A tool with side effects is never run by the loop: the first such call ends the plan with an
approval request (``graph.tools.approval``). Tool results reach the model inside
``<tool_output>`` blocks, neutralised, and already scanned by the registry (flagged output is
marked): they are data, never instructions. ``on_task`` hears each step as it starts and ends.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.messages.tool import ToolCall

from graph.prompts import (
    PLAN_BUDGET_SPENT,
    PLAN_MODEL_FAILED,
    PLAN_REPEATED,
    PLAN_STEPS_USED,
    PLANNER_SYSTEM,
)
from graph.tools.approval import approval_problem
from graph.tools.registry import Tool, ToolDeps, ToolRegistry, describe_args
from graph.tools.specs import ToolSettings
from graph.untrusted import neutralise
from observe.errors import ModelCallError

Task = dict[str, Any]
"""``{"id", "title", "status", "details"?, "output"?}``: Slack's ``task_update`` chunk fields."""
AskApproval = Callable[[Tool, dict[str, Any]], Awaitable[dict[str, Any]]]


@dataclass
class Plan:
    """What the loop did: the answer, the steps, the usage and why it stopped."""

    answer: str = ""
    steps: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=lambda: {"input_tokens": 0, "output_tokens": 0})
    stopped: str = ""
    """``""`` (the model answered), ``max_steps``, ``repeated``, ``cost``, ``approval`` or
    ``model_error`` (the model failed after tools had run: their outputs are the answer)."""
    approval: dict[str, Any] | None = None
    tool_name: str | None = None
    outputs: list[str] = field(default_factory=list)
    """What each tool that ran returned (shown when a guard stops the plan)."""
    cost_usd: float = 0.0
    """The model's spend on this plan (priced models only)."""


@dataclass
class LoopGuard:
    """The budgets of one planned turn."""

    limits: ToolSettings
    model: str
    prices: Callable[[str, int, int], float]
    calls: Counter[str] = field(default_factory=Counter)
    cost_usd: float = 0.0

    def spend(self, usage: dict[str, int]) -> bool:
        """Add one model call's usage; whether the budget still holds."""
        self.cost_usd += self.prices(self.model, usage["input_tokens"], usage["output_tokens"])
        return self.cost_usd <= self.limits.max_cost_usd

    def admit(self, name: str, args: dict[str, Any]) -> str:
        """``""`` when the call may run, else why not (``max_steps`` or ``repeated``)."""
        if sum(self.calls.values()) >= self.limits.max_steps:
            return "max_steps"
        key = f"{name}:{json.dumps(args, sort_keys=True, default=str)}"
        if self.calls[key] >= self.limits.max_repeats:
            return "repeated"
        self.calls[key] += 1
        return ""


def tool_message(call_id: str, name: str, output: str) -> ToolMessage:
    """A tool result as the model sees it: inside its block, delimiters neutralised."""
    return ToolMessage(
        f'<tool_output tool="{name}">\n{neutralise(output)}\n</tool_output>', tool_call_id=call_id
    )


def _usage(reply: BaseMessage) -> dict[str, int]:
    meta = getattr(reply, "usage_metadata", None) or {}
    return {
        "input_tokens": meta.get("input_tokens", 0),
        "output_tokens": meta.get("output_tokens", 0),
    }


def planner_messages(question: str, history: list[BaseMessage]) -> list[BaseMessage]:
    """The prompt a planning model starts from."""
    return [SystemMessage(PLANNER_SYSTEM), *history, HumanMessage(question)]


async def first_call(
    llm: BaseChatModel, tools: list[Tool], question: str
) -> tuple[str | None, dict[str, Any]]:
    """The tool (and arguments) the model would call first for ``question``, or ``None`` when it
    would answer in words; nothing runs (``assistant bench tools``)."""
    reply = await llm.bind_tools([t.schema() for t in tools]).ainvoke(
        planner_messages(question, [])
    )
    calls = reply.tool_calls if isinstance(reply, AIMessage) else []
    return (calls[0]["name"], dict(calls[0].get("args") or {})) if calls else (None, {})


async def plan_and_run(
    *,
    llm: BaseChatModel,
    registry: ToolRegistry,
    tools: list[Tool],
    question: str,
    history: list[BaseMessage],
    deps: ToolDeps,
    guard: LoopGuard,
    ask_approval: AskApproval,
    timeout_s: float,
    on_task: Callable[[Task], None] = lambda task: None,
) -> Plan:
    """Let the model call ``tools`` for ``question`` under ``guard``; the contract above."""
    model = llm.bind_tools([t.schema() for t in tools])
    offered = {t.name: t for t in tools}
    messages = planner_messages(question, history)
    plan = Plan()
    for _ in range(guard.limits.max_steps + 2):  # every step, an answer, one call to spare
        try:
            async with asyncio.timeout(timeout_s):
                reply = await model.ainvoke(messages)
        except Exception as exc:
            if not plan.steps:  # nothing ran yet: the caller may fall back to the routing
                if isinstance(exc, TimeoutError | ModelCallError):
                    raise
                raise ModelCallError(
                    f"the model failed while planning: {type(exc).__name__}"
                ) from exc
            return _stop(plan, "model_error", PLAN_MODEL_FAILED)
        usage = _usage(reply)
        plan.usage = {k: plan.usage[k] + usage[k] for k in plan.usage}
        within_budget = guard.spend(usage)
        plan.cost_usd = guard.cost_usd
        ai = reply if isinstance(reply, AIMessage) else AIMessage(str(reply.content))
        if not ai.tool_calls and not ai.invalid_tool_calls:
            plan.answer = str(ai.content).strip()
            return plan
        if not within_budget:
            return _stop(plan, "cost", PLAN_BUDGET_SPENT)
        messages.append(ai)
        for bad in ai.invalid_tool_calls:  # every call id needs its answer, or the API refuses
            note = f"That call could not be read ({bad.get('error') or 'malformed arguments'})."
            messages.append(tool_message(str(bad.get("id")), str(bad.get("name")), note))
        for call in ai.tool_calls:
            stopped = await _step(
                call, plan, messages, offered, registry, deps, guard, ask_approval, on_task
            )
            if stopped:
                return plan
    return _stop(plan, "max_steps", PLAN_STEPS_USED)


async def _step(
    call: ToolCall,
    plan: Plan,
    messages: list[BaseMessage],
    offered: dict[str, Tool],
    registry: ToolRegistry,
    deps: ToolDeps,
    guard: LoopGuard,
    ask_approval: AskApproval,
    on_task: Callable[[Task], None],
) -> bool:
    """Run (or refuse, or ask approval for) one tool call; whether the plan ended."""
    name, args, call_id = call["name"], dict(call.get("args") or {}), str(call["id"])
    stop = guard.admit(name, args)  # unknown and refused calls count as steps too
    if stop:
        _stop(plan, stop, PLAN_STEPS_USED if stop == "max_steps" else PLAN_REPEATED)
        return True
    tool = offered.get(name)
    if tool is None:
        messages.append(tool_message(call_id, name, f"There is no tool called {name!r} here."))
        return False
    step_id, title = f"step-{len(plan.steps) + 1}", f"{name}({describe_args(args, 120)})"
    step = {"tool": name, "args": describe_args(args)}
    if tool.side_effect:
        problem = approval_problem(tool, args)
        if problem:  # the model may correct its arguments
            messages.append(tool_message(call_id, name, problem))
            return False
        asked = await ask_approval(tool, args)
        plan.steps.append({**step, "ok": False, "note": "awaiting approval"})
        on_task(
            {"id": step_id, "title": title, "status": "pending", "details": "waiting for approval"}
        )
        plan.answer, plan.approval = str(asked["tool_output"]), asked.get("approval")
        plan.stopped, plan.tool_name = "approval", name
        return True
    on_task({"id": step_id, "title": title, "status": "in_progress"})
    result = await registry.run(name, args, deps)
    plan.tool_name = name
    note = "flagged" if result.flagged else ("" if result.ok else str(result.error_type))
    plan.steps.append({**step, "ok": result.ok, "note": note})
    on_task({"id": step_id, "title": title, "status": "complete" if result.ok else "error"})
    plan.outputs.append(f"{name}: {result.output}")
    messages.append(tool_message(call_id, name, result.output))
    return False


OUTPUT_SHOWN = 500
"""Characters of each tool's output shown when a loop guard stops the plan."""


def _stop(plan: Plan, reason: str, message: str) -> Plan:
    """End the plan early: why, then what the tools returned so far."""
    shown = [out if len(out) <= OUTPUT_SHOWN else out[:OUTPUT_SHOWN] + "…" for out in plan.outputs]
    plan.stopped = reason
    plan.answer = "\n\n".join([message, *shown])
    return plan
