"""Tool planning with a capable chat model: native tool calling in a bounded loop.

``plan_and_run`` offers the model the turn's allowed tools (their JSON schemas), runs the calls
it asks for and feeds the results back, until it answers in words. It stops early, with an answer
that says why, when a loop guard trips:

* ``max_steps`` tool calls in one turn;
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

from graph.prompts import PLAN_BUDGET_SPENT, PLAN_REPEATED, PLAN_STEPS_USED, PLANNER_SYSTEM
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
    """``""`` (the model answered), ``max_steps``, ``repeated``, ``cost`` or ``approval``."""
    approval: dict[str, Any] | None = None
    tool_name: str | None = None
    outputs: list[str] = field(default_factory=list)
    """What each tool that ran returned (shown when a guard stops the plan)."""


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
    while True:
        try:
            async with asyncio.timeout(timeout_s):
                reply = await model.ainvoke(messages)
        except (TimeoutError, ModelCallError):
            raise
        except Exception as exc:  # a provider error: the caller reports it like any model failure
            raise ModelCallError(f"the model failed while planning: {type(exc).__name__}") from exc
        usage = _usage(reply)
        plan.usage = {k: plan.usage[k] + usage[k] for k in plan.usage}
        calls = reply.tool_calls if isinstance(reply, AIMessage) else []
        if not calls:
            plan.answer = str(reply.content).strip()
            return plan
        if not guard.spend(usage):
            return _stop(plan, "cost", PLAN_BUDGET_SPENT)
        messages.append(reply)
        for call in calls:
            name, args = call["name"], dict(call.get("args") or {})
            step_id = f"step-{len(plan.steps) + 1}"
            if name not in offered:
                messages.append(
                    tool_message(str(call["id"]), name, f"There is no tool called {name!r} here.")
                )
                continue
            stop = guard.admit(name, args)
            if stop:
                return _stop(plan, stop, PLAN_STEPS_USED if stop == "max_steps" else PLAN_REPEATED)
            title = f"{name}({describe_args(args, 120)})"
            tool = offered[name]
            if tool.side_effect:
                asked = await ask_approval(tool, args)
                plan.steps.append(
                    {
                        "tool": name,
                        "args": describe_args(args),
                        "ok": False,
                        "note": "awaiting approval",
                    }
                )
                on_task(
                    {
                        "id": step_id,
                        "title": title,
                        "status": "pending",
                        "details": "waiting for approval",
                    }
                )
                plan.answer, plan.approval = str(asked["tool_output"]), asked.get("approval")
                plan.stopped, plan.tool_name = "approval", name
                return plan
            on_task({"id": step_id, "title": title, "status": "in_progress"})
            result = await registry.run(name, args, deps)
            plan.tool_name = name
            note = "flagged" if result.flagged else ("" if result.ok else str(result.error_type))
            plan.steps.append(
                {"tool": name, "args": describe_args(args), "ok": result.ok, "note": note}
            )
            on_task({"id": step_id, "title": title, "status": "complete" if result.ok else "error"})
            plan.outputs.append(f"{name}: {result.output}")
            messages.append(tool_message(str(call["id"]), name, result.output))


OUTPUT_SHOWN = 500
"""Characters of each tool's output shown when a loop guard stops the plan."""


def _stop(plan: Plan, reason: str, message: str) -> Plan:
    """End the plan early: why, then what the tools returned so far."""
    shown = [out if len(out) <= OUTPUT_SHOWN else out[:OUTPUT_SHOWN] + "…" for out in plan.outputs]
    plan.stopped = reason
    plan.answer = "\n\n".join([message, *shown])
    return plan
