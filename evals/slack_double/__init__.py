"""Test doubles for Slack: a local Web API / Socket Mode server and signed-request helpers.

``SlackDouble`` answers ``AsyncWebClient(base_url=double.base_url)`` like Slack and records every
call; ``signed(event_body(...), secret)`` builds requests for the app's real HTTP adapter.
"""

from evals.slack_double.double_app import RecordedCall, SlackDouble
from evals.slack_double.ids import APP_ID, BOT_ID, BOT_USER_ID, CHANNEL_ID, TEAM_ID, USER_ID
from evals.slack_double.signing import (
    SignedRequest,
    event_body,
    event_payload,
    interaction_body,
    sign_headers,
    signed,
    slash_command_body,
    slash_command_payload,
    url_verification_body,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_USER_ID",
    "CHANNEL_ID",
    "TEAM_ID",
    "USER_ID",
    "RecordedCall",
    "SignedRequest",
    "SlackDouble",
    "event_body",
    "event_payload",
    "interaction_body",
    "sign_headers",
    "signed",
    "slash_command_body",
    "slash_command_payload",
    "url_verification_body",
]
