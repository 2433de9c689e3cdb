"""Deciding a tool call that waits for approval, and running it when approved.

``resolve(ctx, call_id, user_id, approve)`` is what every surface calls (Slack's Approve /
Reject buttons, the terminal's prompt). Each decision is a ``tool.approval`` span on the trace of
the turn that asked, with the tool's ``execute_tool`` span under it when it runs; the message
says what happened in words the person who clicked can act on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from graph.context import BotContext
from graph.tools.approval import DecisionStatus
from graph.tools.registry import ToolDeps, describe_args
from guards.output_guard import check_output
from observe.tracing import user_hash


@dataclass(frozen=True)
class ApprovalOutcome:
    """What a decision did: ``message`` is for the person who decided."""

    status: DecisionStatus | None
    message: str
    """What happened, as mrkdwn of our own (it may mention people)."""
    tool: str | None = None
    ran: bool = False
    ok: bool = False
    output: str = ""
    """The tool's output after the output guard (secrets, personal data): untrusted text a
    surface shows escaped."""


async def resolve(ctx: BotContext, call_id: str, user_id: str, approve: bool) -> ApprovalOutcome:
    """Approve (and run) or reject the pending call ``call_id`` as ``user_id``."""
    if ctx.approvals is None:
        return ApprovalOutcome(None, "Approvals aren't available here; nothing was run.")
    decision = await ctx.approvals.decide(call_id, user_id, approve)
    call = decision.call
    if decision.status == "expired":
        return ApprovalOutcome(
            "expired",
            "This request has expired, so nothing was run. Ask again if you still need it.",
        )
    if decision.status == "decided":
        return ApprovalOutcome("decided", f"This request was already {decision.decided_by}.")
    assert call is not None
    if decision.status == "not_allowed":
        return ApprovalOutcome(
            "not_allowed",
            f"Only <@{call.user_id}> (who asked) or an approver can decide on this request.",
            call.tool,
        )
    attributes = {
        "gen_ai.tool.name": call.tool,
        "app.approval.id": call.id,
        "app.approval.decision": decision.status,
        "app.approval.wait_s": round(max(0.0, time.time() - call.created_at), 1),
        "user.hash": user_hash(user_id),
        "app.approval.by_asker": user_id == call.user_id,
    }
    with ctx.tracer.span("tool.approval", "SERVER", attributes, trace_id=call.trace_id) as span:
        if decision.status == "rejected":
            return ApprovalOutcome(
                "rejected", f"Rejected by <@{user_id}>: *{call.tool}* was not run.", call.tool
            )
        if call.tool not in ctx.tools:
            span.fail("UnknownTool")
            return ApprovalOutcome(
                "approved", f"*{call.tool}* is no longer configured; nothing was run.", call.tool
            )
        deps = ToolDeps(
            settings=ctx.settings,
            tracer=ctx.tracer,
            trace_id=call.trace_id,
            user_id=call.user_id,
            retriever=ctx.retriever,
            spaces=list(call.spaces),
            scan=ctx.scan,
        )
        result = await ctx.tools.run(call.tool, call.args, deps)
        span.set("app.tool.ok", result.ok)
        verdict = await check_output(result.output, source_count=0, require_citations=False)
        span.set("app.guard.problems", len(verdict.problems))
    shown = describe_args(call.args, limit=None) or "no arguments"
    head = f"Approved by <@{user_id}>: ran *{call.tool}* ({shown})."
    return ApprovalOutcome("approved", head, call.tool, ran=True, ok=result.ok, output=verdict.text)
