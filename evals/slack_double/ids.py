"""Fixed ids of the fake workspace the Slack double pretends to be."""

from __future__ import annotations

TEAM_ID = "T0TEST"
TEAM_NAME = "Test Team"
TEAM_DOMAIN = "test-team"
BOT_USER_ID = "U0BOT"
BOT_USER_NAME = "assistant"
BOT_ID = "B0BOT"
APP_ID = "A0TEST"
INSTALLER_USER_ID = "U0INSTALLER"
"""The user who "installs" the app in ``oauth.v2.access``."""

BOT_SCOPES = (
    "app_mentions:read,assistant:write,chat:write,commands,im:history,im:read,im:write,"
    "channels:history,groups:history,reactions:write,users:read"
)
"""Comma-separated, as ``oauth.v2.access`` returns them (the manifest's bot scopes)."""

USER_ID = "U0USER"
"""Default human user of signed test requests."""
CHANNEL_ID = "C0TEST"
"""Default channel of signed test requests."""
VERIFICATION_TOKEN = "verification-token"
"""The legacy ``token`` field Slack still puts in request bodies."""
