"""Signed Slack requests: exact bodies plus ``X-Slack-Signature`` headers, as Slack sends them.

Build a body, then sign the very bytes you will send::

    request = signed(event_body({"type": "app_mention", ...}), SIGNING_SECRET)
    await http.post(url, data=request.body, headers=request.headers)
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from evals.slack_double.ids import (
    APP_ID,
    BOT_USER_ID,
    CHANNEL_ID,
    TEAM_DOMAIN,
    TEAM_ID,
    USER_ID,
    VERIFICATION_TOKEN,
)

JSON_CONTENT_TYPE = "application/json"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class SignedRequest:
    """A body and the headers (content type, timestamp, signature) to send it with."""

    body: bytes
    headers: dict[str, str]


def _raw(body: bytes | str) -> bytes:
    return body if isinstance(body, bytes) else body.encode("utf-8")


def _compact_json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def sign_headers(
    body: bytes | str,
    secret: str,
    timestamp: int | None = None,
    content_type: str = JSON_CONTENT_TYPE,
) -> dict[str, str]:
    """``Content-Type``, ``X-Slack-Request-Timestamp`` and the v0 ``X-Slack-Signature``.

    The signature is HMAC-SHA256 of ``v0:{timestamp}:{body}``; ``timestamp`` defaults to now.
    """
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=_raw(body))
    assert signature is not None  # only None when timestamp is None
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


def signed(
    body: bytes | str,
    secret: str,
    *,
    timestamp: int | None = None,
    content_type: str | None = None,
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
) -> SignedRequest:
    """Sign ``body``; the content type defaults to JSON for ``{...}`` bodies, else form.

    ``retry_num`` adds ``X-Slack-Retry-Num``/``X-Slack-Retry-Reason`` like a redelivery.
    """
    raw = _raw(body)
    if content_type is None:
        content_type = JSON_CONTENT_TYPE if raw.lstrip()[:1] == b"{" else FORM_CONTENT_TYPE
    headers = sign_headers(raw, secret, timestamp, content_type)
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason
    return SignedRequest(raw, headers)


def new_event_id() -> str:
    """A random Slack-style event id (``"Ev"`` + 10 characters)."""
    return "Ev" + secrets.token_hex(5).upper()


def mention_event(
    text: str,
    *,
    user: str = USER_ID,
    channel: str = CHANNEL_ID,
    team: str = TEAM_ID,
    ts: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An ``app_mention`` event: ``user`` writes ``@bot text`` in ``channel`` (``ts``: now)."""
    return {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts or f"{time.time():.6f}",
        "channel": channel,
        "team": team,
        **extra,
    }


def event_payload(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_time: int | None = None,
    authorizations: list[dict[str, Any]] | None = None,
    enterprise_id: str | None = None,
) -> dict[str, Any]:
    """The ``event_callback`` envelope Slack wraps ``event`` in (HTTP body or socket payload);
    ``enterprise_id`` for a workspace of an Enterprise Grid org."""
    if authorizations is None:
        authorizations = [
            {
                "enterprise_id": enterprise_id,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ]
    grid = {"enterprise_id": enterprise_id} if enterprise_id else {}
    return {
        "token": VERIFICATION_TOKEN,
        **grid,
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": enterprise_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": authorizations,
        "is_ext_shared_channel": False,
    }


def event_body(
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_time: int | None = None,
    authorizations: list[dict[str, Any]] | None = None,
    enterprise_id: str | None = None,
) -> bytes:
    """Compact JSON bytes of :func:`event_payload` (send as ``application/json``)."""
    return _compact_json(
        event_payload(
            event,
            event_id=event_id,
            team_id=team_id,
            api_app_id=api_app_id,
            event_time=event_time,
            authorizations=authorizations,
            enterprise_id=enterprise_id,
        )
    )


def url_verification_body(challenge: str) -> bytes:
    """The ``url_verification`` request Slack sends when the events URL is saved."""
    return _compact_json(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    )


def slash_command_payload(
    command: str,
    text: str = "",
    *,
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    team_id: str = TEAM_ID,
    response_url: str = "https://hooks.slack.com/commands/T0TEST/1/response",
    trigger_id: str | None = None,
) -> dict[str, str]:
    """Slash command fields as Slack sends them (the Socket Mode payload, too)."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": "directmessage" if channel_id.startswith("D") else "general",
        "user_id": user_id,
        "user_name": f"user-{user_id.lower()}",
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or f"{secrets.randbelow(10**10)}.{secrets.token_hex(8)}",
    }


def slash_command_body(
    command: str,
    text: str = "",
    *,
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    team_id: str = TEAM_ID,
    response_url: str = "https://hooks.slack.com/commands/T0TEST/1/response",
    trigger_id: str | None = None,
) -> bytes:
    """Form-encoded slash command body (send as ``application/x-www-form-urlencoded``)."""
    fields = slash_command_payload(
        command,
        text,
        user_id=user_id,
        channel_id=channel_id,
        team_id=team_id,
        response_url=response_url,
        trigger_id=trigger_id,
    )
    return urlencode(fields).encode("ascii")


def interaction_body(payload: dict[str, Any]) -> bytes:
    """``payload=<url-encoded JSON>``, the form body of interactivity requests."""
    return urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode("ascii")
