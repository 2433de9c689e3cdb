"""``/assistant help | feedback <text> | memory | forget [text] | stats`` (stats for admins
only)."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import SlackServices, services_of
from bot.views.home_builder import help_text, stats_text
from bot.views.text import ADMIN_ONLY
from graph.tools.registry import ToolDeps
from graph.user_memory import MemoryCommand, carry_out
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


async def user_memory_reply(services: SlackServices, user: str, verb: str, rest: str) -> str:
    """``/assistant memory`` lists what the assistant keeps about ``user``; ``/assistant forget
    [text]`` deletes the facts holding ``text`` (all of them without)."""
    memory = services.assistant.context.user_memory
    if memory is None:
        return "User memory is turned off here: I keep nothing about you."
    command = MemoryCommand("recall") if verb == "memory" else MemoryCommand("forget", rest)
    return await carry_out(memory, user, command)


async def handle_assistant_command(
    ack: AsyncAck,
    command: dict[str, Any],
    context: AsyncBoltContext,
    client: AsyncWebClient,
    respond: AsyncRespond,
) -> None:
    await ack()  # the reply follows through response_url, so the ack never waits on Slack
    services = services_of(context)
    team = str(context.team_id or command.get("team_id", ""))
    user, text = str(command["user_id"]), str(command.get("text", ""))

    async def answer() -> None:
        text_out = await reply(services, client, team, user, text)
        await respond(text=text_out, response_type="ephemeral")

    services.spawn(answer(), "assistant command")


async def reply(
    services: SlackServices, client: AsyncWebClient, team: str, user: str, text: str
) -> str:
    """The text ``/assistant <text>`` answers with."""
    verb, _, rest = " ".join(text.split()).partition(" ")
    verb = verb.lower()
    if verb == "feedback":
        if not rest:
            return "Usage: `/assistant feedback <what was good or bad>`"
        return await record_feedback(services, team, user, rest)
    if verb in {"memory", "forget"}:
        return await user_memory_reply(services, user, verb, rest)
    if verb == "stats":
        if not await services.is_admin(client, user):
            return ADMIN_ONLY
        stats = await asyncio.to_thread(turn_stats, services.assistant.settings.traces_path)
        return stats_text(stats)
    return help_text(is_admin=await services.is_admin(client, user))
