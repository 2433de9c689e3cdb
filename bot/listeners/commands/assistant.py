"""``/assistant help | feedback <text> | stats`` (stats for admins only)."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import SlackServices, services_of
from bot.views.home_builder import help_text, stats_text
from bot.views.text import ADMIN_ONLY
from graph.tools.registry import ToolDeps
from observe.stats import turn_stats
from observe.tracing import new_trace_id


async def record_feedback(services: SlackServices, team: str, user: str, comment: str) -> str:
    """Attach ``comment`` to the user's latest answer (through the graph's feedback tool)."""
    assistant = services.assistant
    deps = ToolDeps(
        settings=assistant.settings,
        tracer=assistant.context.tracer,
        trace_id=new_trace_id(),
        user_id=user,
        previous_trace_id=await services.records.last_trace(team, user),
    )
    result = await assistant.context.tools.run("record_feedback", {"comment": comment}, deps)
    return result.output


async def handle_assistant_command(
    ack: AsyncAck, command: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    services = services_of(context)
    user = str(command["user_id"])
    verb, _, rest = " ".join(str(command.get("text", "")).split()).partition(" ")
    verb = verb.lower()
    if verb == "feedback":
        if not rest:
            await ack(text="Usage: `/assistant feedback <what was good or bad>`")
            return
        team = str(context.team_id or command.get("team_id", ""))
        await ack(text=await record_feedback(services, team, user, rest))
    elif verb == "stats":
        if not await services.is_admin(client, user):
            await ack(text=ADMIN_ONLY)
            return
        stats = await asyncio.to_thread(turn_stats, services.assistant.settings.traces_path)
        await ack(text=stats_text(stats))
    else:
        await ack(text=help_text(is_admin=await services.is_admin(client, user)))
