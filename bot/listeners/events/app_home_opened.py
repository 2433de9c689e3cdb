"""``app_home_opened``: publish the Home tab, or suggest prompts in the Messages tab."""

from __future__ import annotations

from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import SlackServices, services_of
from bot.views.home_builder import home_view, suggested_prompts


async def handle_app_home_opened(
    event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
) -> None:
    services = services_of(context)
    user = str(event.get("user", ""))
    if event.get("tab") == "messages":
        services.spawn(
            client.assistant_threads_setSuggestedPrompts(
                channel_id=str(event["channel"]), prompts=suggested_prompts()
            ),
            "suggested prompts",
        )
        return
    services.spawn(publish_home(services, client, user, context.bot_user_id or ""), "app home")


async def publish_home(
    services: SlackServices, client: AsyncWebClient, user: str, bot_user_id: str
) -> None:
    """Publish the Home tab (admins also see the admin commands)."""
    is_admin = await services.is_admin(client, user)
    await client.views_publish(
        user_id=user, view=home_view(bot_user_id=bot_user_id, is_admin=is_admin)
    )
