"""The Slack double, driven by the real slack_sdk clients, and the request-signing helpers."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from evals.slack_double import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    SlackDouble,
    event_body,
    event_payload,
    interaction_body,
    sign_headers,
    signed,
    slash_command_body,
    url_verification_body,
)

SECRET = "test-signing-secret"


@pytest.fixture
async def double() -> AsyncIterator[SlackDouble]:
    async with SlackDouble() as running:
        yield running


@pytest.fixture
def client(double: SlackDouble) -> AsyncWebClient:
    return AsyncWebClient(token="xoxb-test", base_url=double.base_url)


async def test_auth_test_answers_with_the_bot_identity(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    response = await client.auth_test()

    assert response["ok"] is True
    assert (response["team_id"], response["user_id"], response["bot_id"]) == (
        TEAM_ID,
        BOT_USER_ID,
        BOT_ID,
    )
    assert response["is_enterprise_install"] is False
    [call] = double.calls_to("auth.test")
    assert call.token == "xoxb-test"


async def test_post_message_in_thread_shows_up_in_conversations_replies(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    parent = double.add_message("C1", "U1", "How do I reset the VPN?")

    posted = await client.chat_postMessage(
        channel="C1", thread_ts=parent, text="Open vpn.example.com", blocks=[{"type": "divider"}]
    )
    replies = await client.conversations_replies(channel="C1", ts=parent)

    assert float(posted["ts"]) > float(parent)
    assert posted["message"]["thread_ts"] == parent
    assert posted["message"]["bot_id"] == BOT_ID
    texts = [m["text"] for m in replies["messages"]]
    assert texts == ["How do I reset the VPN?", "Open vpn.example.com"]
    assert replies["messages"][0]["reply_count"] == 1
    assert replies["has_more"] is False
    [call] = double.calls_to("chat.postMessage")
    assert call.args["blocks"] == [{"type": "divider"}]
    assert call.token == "xoxb-test"
    with pytest.raises(SlackApiError) as unknown_thread:
        await client.conversations_replies(channel="C1", ts="1.000001")
    assert unknown_thread.value.response["error"] == "thread_not_found"
    with pytest.raises(SlackApiError) as unknown_channel:
        await client.conversations_replies(channel="C404", ts=parent)
    assert unknown_channel.value.response["error"] == "channel_not_found"


async def test_chat_stream_assembles_the_streamed_text(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    parent = double.add_message("C1", "U1", "question")
    stream = await client.chat_stream(
        channel="C1",
        thread_ts=parent,
        recipient_team_id=TEAM_ID,
        recipient_user_id="U1",
        buffer_size=5,
    )

    await stream.append(markdown_text="Hello ")  # over the buffer: starts the stream
    await stream.append(markdown_text="wor")  # buffered
    await stream.append(markdown_text="ld! ")  # flushed with an append
    feedback = [{"type": "context_actions", "elements": []}]
    stopped = await stream.stop(markdown_text="Bye.", blocks=feedback)

    assert stream.ts is not None
    assert stopped["message"]["text"] == "Hello world! Bye."
    message = double.message("C1", stream.ts)
    assert message is not None
    assert message["text"] == "Hello world! Bye."
    assert message["blocks"] == feedback
    assert message["thread_ts"] == parent
    assert message["streaming"] is False
    assert [m["text"] for m in double.thread("C1", parent)] == ["question", "Hello world! Bye."]
    [start] = double.calls_to("chat.startStream")
    assert start.args["recipient_user_id"] == "U1"
    assert start.args["chunks"] == [{"type": "markdown_text", "text": "Hello "}]
    assert len(double.calls_to("chat.appendStream")) == 1
    assert len(double.calls_to("chat.stopStream")) == 1


async def test_expired_stream_rejects_appends_and_chat_update_completes_it(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    parent = double.add_message("D1", "U1", "question")
    started = await client.chat_startStream(channel="D1", thread_ts=parent, markdown_text="Part")
    ts = started["ts"]
    assert (double.message("D1", ts) or {})["streaming"] is True

    double.expire_stream("D1", ts)
    with pytest.raises(SlackApiError) as expired:
        await client.chat_appendStream(channel="D1", ts=ts, markdown_text=" two")
    assert expired.value.response["error"] == "message_not_in_streaming_state"
    with pytest.raises(SlackApiError):
        await client.chat_stopStream(channel="D1", ts=ts)

    await client.chat_update(channel="D1", ts=ts, text="Part two, complete")

    message = double.message("D1", ts)
    assert message is not None
    assert message["text"] == "Part two, complete"
    assert message["streaming"] is False
    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel="D1", ts="1.000001", text="x")
    assert missing.value.response["error"] == "message_not_found"


async def test_streams_expire_after_n_appends(double: SlackDouble, client: AsyncWebClient) -> None:
    double.expire_streams_after_appends(1)
    started = await client.chat_startStream(channel="D1", thread_ts="1.000100", markdown_text="a")

    await client.chat_appendStream(channel="D1", ts=started["ts"], markdown_text="b")
    with pytest.raises(SlackApiError) as expired:
        await client.chat_appendStream(channel="D1", ts=started["ts"], markdown_text="c")

    assert expired.value.response["error"] == "message_not_in_streaming_state"
    assert (double.message("D1", started["ts"]) or {})["text"] == "ab"


async def test_rate_limit_is_retried_by_the_rate_limit_handler(double: SlackDouble) -> None:
    retrying = AsyncWebClient(
        token="xoxb-test",
        base_url=double.base_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)],
    )
    double.rate_limit("chat.postMessage", retry_after=0)

    response = await retrying.chat_postMessage(channel="C1", text="hi")

    assert response["ok"] is True
    first, second = double.calls_to("chat.postMessage")
    assert (first.rate_limited, first.status) == (True, 429)
    assert (second.rate_limited, second.status) == (False, 200)
    assert first.args == second.args == {"channel": "C1", "text": "hi"}


async def test_rate_limit_without_a_handler_raises_with_retry_after(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    double.rate_limit("chat.update", retry_after=7)

    with pytest.raises(SlackApiError) as limited:
        await client.chat_update(channel="C1", ts="1.000100", text="x")

    assert limited.value.response.status_code == 429
    assert limited.value.response["error"] == "ratelimited"
    assert limited.value.response.headers["Retry-After"] == "7"


async def test_fail_injects_errors_then_recovers(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    double.admins.add("U1")
    double.fail("users.info", error="fatal_error")

    with pytest.raises(SlackApiError) as failed:
        await client.users_info(user="U1")
    admin = await client.users_info(user="U1")
    other = await client.users_info(user="U2")

    assert failed.value.response["error"] == "fatal_error"
    assert admin["user"]["is_admin"] is True
    assert other["user"]["is_admin"] is False
    assert other["user"]["tz"]
    assert [c.args["user"] for c in double.calls_to("users.info")] == ["U1", "U1", "U2"]


async def test_unknown_method_is_an_error_and_still_recorded(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError) as unknown:
        await client.api_call("nothing.here", params={"x": "1"})

    assert unknown.value.response["error"] == "unknown_method"
    [call] = double.calls_to("nothing.here")
    assert call.args == {"x": "1"}


async def test_views_assistant_and_reactions_answer_ok(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    ts = double.add_message("C1", "U1", "hi")
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Feedback"}, "blocks": []}

    opened = await client.views_open(trigger_id="123.456", view=modal)
    updated = await client.views_update(view_id=opened["view"]["id"], view=modal)
    home = await client.views_publish(user_id="U1", view={"type": "home", "blocks": []})
    await client.assistant_threads_setStatus(channel_id="D1", thread_ts=ts, status="thinking…")
    await client.reactions_add(channel="C1", timestamp=ts, name="eyes")
    with pytest.raises(SlackApiError) as twice:
        await client.reactions_add(channel="C1", timestamp=ts, name="eyes")
    info = await client.conversations_info(channel="C1")

    assert opened["view"]["title"]["text"] == "Feedback"
    assert updated["view"]["id"] == opened["view"]["id"]
    assert home["view"]["type"] == "home"
    assert twice.value.response["error"] == "already_reacted"
    assert (double.message("C1", ts) or {})["reactions"][0]["name"] == "eyes"
    assert info["channel"]["id"] == "C1"
    [status] = double.calls_to("assistant.threads.setStatus")
    assert status.args["status"] == "thinking…"


async def test_form_encoded_json_fields_are_decoded(double: SlackDouble) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    async with aiohttp.ClientSession() as http:
        form = {"token": "xoxb-form", "channel": "C9", "text": "hi", "blocks": json.dumps(blocks)}
        async with http.post(f"{double.base_url}chat.postMessage", data=form) as response:
            body = await response.json()

    assert body["ok"] is True
    [call] = double.calls_to("chat.postMessage")
    assert call.token == "xoxb-form"
    assert call.args == {"channel": "C9", "text": "hi", "blocks": blocks}


async def test_missing_token_is_not_authed(double: SlackDouble) -> None:
    anonymous = AsyncWebClient(base_url=double.base_url)

    with pytest.raises(SlackApiError) as unauthenticated:
        await anonymous.auth_test()

    assert unauthenticated.value.response["error"] == "not_authed"


async def test_response_url_posts_are_recorded(double: SlackDouble) -> None:
    url = double.response_url("r1")

    async with aiohttp.ClientSession() as http:
        async with http.post(url, json={"text": "done", "replace_original": True}) as response:
            assert response.status == 200

    [call] = await double.wait_for("response_url", timeout=1)
    assert call.args == {"text": "done", "replace_original": True, "response_url_id": "r1"}


async def test_oauth_v2_access_with_basic_auth(double: SlackDouble) -> None:
    anonymous = AsyncWebClient(base_url=double.base_url)

    installed = await anonymous.oauth_v2_access(client_id="111.222", client_secret="s3", code="ok")
    with pytest.raises(SlackApiError) as bad:
        await anonymous.oauth_v2_access(client_id="111.222", client_secret="s3", code="bad")

    assert installed["access_token"].startswith("xoxb-installed-")
    assert installed["token_type"] == "bot"
    assert installed["team"] == {"id": TEAM_ID, "name": "Test Team"}
    assert installed["enterprise"] is None
    assert installed["authed_user"]["id"]
    assert installed["app_id"] == APP_ID
    assert "chat:write" in installed["scope"].split(",")
    assert bad.value.response["error"] == "invalid_code"
    call = double.calls_to("oauth.v2.access")[0]
    assert (call.args["client_id"], call.args["client_secret"]) == ("111.222", "s3")
    assert call.token is None


async def test_wait_for_times_out_with_what_was_recorded(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    await client.auth_test()

    with pytest.raises(TimeoutError, match=r"chat\.postMessage.*auth\.test"):
        await double.wait_for("chat.postMessage", timeout=0.05)


async def test_wait_for_wakes_up_on_a_later_call(
    double: SlackDouble, client: AsyncWebClient
) -> None:
    waiter = asyncio.create_task(
        double.wait_for("chat.postMessage", predicate=lambda c: c.args.get("text") == "second")
    )
    await client.chat_postMessage(channel="C1", text="first")
    assert not waiter.done()
    await client.chat_postMessage(channel="C1", text="second")

    [call] = await asyncio.wait_for(waiter, 2)
    assert call.args["text"] == "second"


async def test_socket_mode_client_receives_an_envelope_and_acks_it(double: SlackDouble) -> None:
    received: list[SocketModeRequest] = []
    messages: list[dict[str, Any]] = []

    async def on_request(socket: Any, request: SocketModeRequest) -> None:
        received.append(request)
        await socket.send_socket_mode_response(
            SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "ack"})
        )

    async def on_message(socket: Any, message: dict[str, Any], raw: str | None) -> None:
        messages.append(message)

    socket_client = SocketModeClient(
        app_token="xapp-test", web_client=AsyncWebClient(base_url=double.base_url)
    )
    socket_client.socket_mode_request_listeners.append(on_request)
    socket_client.message_listeners.append(on_message)
    try:
        await socket_client.connect()
        await double.wait_socket_connected(timeout=5)
        event = {"type": "app_mention", "user": "U1", "text": "<@U0BOT> hi", "channel": "C1"}
        envelope_id = await double.socket_send(event_payload(event, event_id="Ev1"))

        ack = await double.wait_socket_ack(envelope_id, timeout=5)
    finally:
        await socket_client.close()

    assert ack == {"envelope_id": envelope_id, "payload": {"text": "ack"}}
    [request] = received
    assert request.type == "events_api"
    assert request.payload["event"] == event
    assert request.payload["event_id"] == "Ev1"
    assert messages[0]["type"] == "hello"
    assert messages[0]["connection_info"] == {"app_id": APP_ID}
    [opened] = double.calls_to("apps.connections.open")
    assert opened.token == "xapp-test"


async def test_socket_send_without_a_client_raises(double: SlackDouble) -> None:
    with pytest.raises(RuntimeError, match="no Socket Mode client"):
        await double.socket_send({"event": {}})


# --- signing ------------------------------------------------------------------------------------


def test_signed_body_verifies_and_a_tampered_one_does_not() -> None:
    body = event_body({"type": "app_mention", "text": "hi"})
    headers = sign_headers(body, SECRET)
    verifier = SignatureVerifier(SECRET)

    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body.replace(b"hi", b"ho"), headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    stale = sign_headers(body, SECRET, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, stale)


def test_event_body_is_an_event_callback_envelope() -> None:
    event = {"type": "message", "channel_type": "im", "text": "hi"}

    envelope = json.loads(event_body(event, event_time=1_700_000_000))

    assert envelope["type"] == "event_callback"
    assert envelope["event"] == event
    assert envelope["event_id"].startswith("Ev")
    assert envelope["event_time"] == 1_700_000_000
    assert (envelope["team_id"], envelope["api_app_id"]) == (TEAM_ID, APP_ID)
    assert envelope["authorizations"][0]["user_id"] == BOT_USER_ID
    assert envelope["authorizations"][0]["is_bot"] is True
    assert json.loads(event_body(event))["event_id"] != envelope["event_id"]


def test_form_bodies_and_content_types() -> None:
    command = signed(slash_command_body("/ask", "reset vpn?", user_id="U7"), SECRET)
    interaction = signed(interaction_body({"type": "block_actions", "actions": []}), SECRET)
    challenge = signed(url_verification_body("abc"), SECRET, retry_num=1)

    fields = {k: v[0] for k, v in parse_qs(command.body.decode()).items()}
    assert fields["command"] == "/ask"
    assert fields["text"] == "reset vpn?"
    assert fields["user_id"] == "U7"
    assert {"team_id", "channel_id", "response_url", "trigger_id", "api_app_id"} <= fields.keys()
    assert command.headers["Content-Type"] == "application/x-www-form-urlencoded"
    payload = json.loads(parse_qs(interaction.body.decode())["payload"][0])
    assert payload == {"type": "block_actions", "actions": []}
    assert interaction.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert json.loads(challenge.body)["challenge"] == "abc"
    assert challenge.headers["Content-Type"] == "application/json"
    assert challenge.headers["X-Slack-Retry-Num"] == "1"
    verifier = SignatureVerifier(SECRET)
    for request in (command, interaction, challenge):
        assert verifier.is_valid_request(request.body, request.headers)
