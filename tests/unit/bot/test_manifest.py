"""deploy/slack-manifest.yaml keeps every scope, event, command and setting the bot relies on.

A later edit that drops one of them fails here instead of in a workspace.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings

MANIFEST_PATH = Path(__file__).resolve().parents[3] / "deploy" / "slack-manifest.yaml"

BOT_SCOPES = {
    "app_mentions:read",
    "assistant:write",
    "chat:write",
    "commands",
    "im:history",
    "im:read",
    "im:write",
    "channels:history",
    "groups:history",
    "reactions:write",
    "users:read",
    # conversations.info on public / private channels
    "channels:read",
    "groups:read",
}
BOT_EVENTS = {
    "app_mention",
    "message.im",
    "message.channels",
    "message.groups",
    "app_home_opened",
    "app_context_changed",
    "app_uninstalled",
    "tokens_revoked",
}
EVENTS_URL = "https://YOUR-HOST/slack/events"
REDIRECT_URL = "https://YOUR-HOST/slack/oauth_redirect"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_metadata_and_identity(manifest: dict[str, Any]) -> None:
    assert manifest["_metadata"]["major_version"] == 2
    info = manifest["display_information"]
    assert info["name"] == "Assistant"
    assert 0 < len(info["description"]) <= 140
    assert manifest["features"]["bot_user"]["display_name"] == "Assistant"


def test_bot_scopes(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes)), "duplicate scope"
    assert BOT_SCOPES <= set(scopes), f"missing: {sorted(BOT_SCOPES - set(scopes))}"


def test_the_oauth_flow_asks_for_exactly_the_manifest_scopes(manifest: dict[str, Any]) -> None:
    from bot.app import BOT_SCOPES as REQUESTED

    assert set(REQUESTED) == set(manifest["oauth_config"]["scopes"]["bot"])


def test_bot_events(manifest: dict[str, Any]) -> None:
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert len(events) == len(set(events)), "duplicate event"
    assert BOT_EVENTS <= set(events), f"missing: {sorted(BOT_EVENTS - set(events))}"


def test_every_message_event_has_its_history_scope(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    needs = {
        "app_mention": "app_mentions:read",
        "message.im": "im:history",
        "message.channels": "channels:history",
        "message.groups": "groups:history",
    }
    for event in manifest["settings"]["event_subscriptions"]["bot_events"]:
        if event in needs:
            assert needs[event] in scopes, f"{event} needs {needs[event]}"


def test_slash_commands(manifest: dict[str, Any]) -> None:
    commands = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    assert set(commands) >= {"/ask", "/assistant"}
    ask = commands["/ask"]
    assert ask["description"] == "Ask the assistant; only you see the answer"
    assert ask["usage_hint"] == "[question]"
    assert commands["/assistant"]["usage_hint"] == "help | feedback <text> | stats"
    for command in commands.values():
        assert len(command["command"]) <= 32
        assert command.get("url", EVENTS_URL) == EVENTS_URL
        assert command["description"]
    assert "commands" in manifest["oauth_config"]["scopes"]["bot"]


def test_message_shortcut(manifest: dict[str, Any]) -> None:
    shortcuts = {s["callback_id"]: s for s in manifest["features"]["shortcuts"]}
    shortcut = shortcuts["ask_about_message"]
    assert shortcut["type"] == "message"
    assert shortcut["name"] == "Ask about this message"
    assert 0 < len(shortcut["description"]) <= 150


def test_interactivity_and_transport(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True
    # The HTTP placeholders point at the one endpoint bolt serves and at its OAuth callback.
    assert settings["event_subscriptions"]["request_url"] == EVENTS_URL
    assert settings["interactivity"]["request_url"] == EVENTS_URL
    assert manifest["oauth_config"]["redirect_urls"] == [REDIRECT_URL]
    bolt_redirect_path = (
        inspect.signature(AsyncOAuthSettings).parameters["redirect_uri_path"].default
    )
    assert urlsplit(REDIRECT_URL).path == bolt_redirect_path


def test_app_home_and_agent_view(manifest: dict[str, Any]) -> None:
    features = manifest["features"]
    home = features["app_home"]
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False
    agent = features["agent_view"]
    assert 0 < len(agent["agent_description"]) <= 300
    prompts = agent.get("suggested_prompts", [])
    assert len(prompts) <= 4
    for prompt in prompts:
        assert set(prompt) == {"title", "message"} and prompt["title"] and prompt["message"]
    assert "assistant:write" in manifest["oauth_config"]["scopes"]["bot"]


def test_header_explains_switching_to_http() -> None:
    header = []
    for line in MANIFEST_PATH.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        header.append(line)
    text = "\n".join(header)
    assert "socket_mode_enabled: false" in text
    assert "YOUR-HOST" in text
