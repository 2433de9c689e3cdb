"""The Slack bot over real HTTP: signed requests into the running app, a Web API double recording
what the bot sends back, real Redis and Chroma, a scripted streaming chat model (the real local
model runs in ``test_slack_serve.py``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from evals.slack_double import CHANNEL_ID, TEAM_ID
from evals.slack_double.signing import interaction_body, mention_event, slash_command_body
from integration.slack_harness import (
    ALL_CHANNEL,
    EXPERTS_CHANNEL,
    LOCKED_CHANNEL,
    PRIVATE_CHANNEL,
    QUIET_CHANNEL,
    SlackEnv,
    new_ts,
    start_env,
    stop_env,
)
from observe.schema import validate_record

USER = "U0ASKER"
OTHER = "U0OTHER"


@pytest.fixture(scope="module")
async def env(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> AsyncIterator[SlackEnv]:
    started = await start_env(tmp_path_factory.mktemp("slack"), redis_url)
    try:
        yield started
    finally:
        await stop_env(started)


@pytest.fixture(autouse=True)
def fresh_double(env: SlackEnv) -> None:
    env.double.reset(messages=False)
    env.model.reply = "Roll back with the deploy tool's rollback command [1]."
    env.model.delay_s = 0.0
    env.model.fail_after = None
    env.model.next_replies = []


def mention(text: str, *, channel: str = CHANNEL_ID, user: str = USER, **extra: Any) -> dict:
    return mention_event(text, channel=channel, user=user, **extra)


def message(text: str, *, channel: str = CHANNEL_ID, user: str = USER, **extra: Any) -> dict:
    return {
        "type": "message",
        "user": user,
        "text": text,
        "ts": extra.pop("ts", new_ts()),
        "channel": channel,
        "channel_type": extra.pop("channel_type", "channel"),
        "team": TEAM_ID,
        **extra,
    }


def replies_in(env: SlackEnv, channel: str) -> list[Any]:
    """Bot messages started in ``channel`` (streams and plain posts)."""
    return [
        c
        for c in env.double.calls_to("chat.startStream", "chat.postMessage")
        if c.args.get("channel") == channel
    ]


def block_types(blocks: list[dict]) -> list[str]:
    return [b["type"] for b in blocks]


def action_ids(blocks: list[dict]) -> set[str]:
    found: set[str] = set()
    for block in blocks:
        for element in block.get("elements", []) + (
            [block["accessory"]] if "accessory" in block else []
        ):
            if isinstance(element, dict) and "action_id" in element:
                found.add(element["action_id"])
    return found


async def ask_in_thread(env: SlackEnv, text: str, **kwargs: Any) -> tuple[dict, Any]:
    event = mention(text, **kwargs)
    status, _ = await env.event(event)
    assert status == 200
    await env.settle()
    stop = await env.double.wait_for("chat.stopStream")
    return event, stop[-1]


async def test_mention_streams_a_threaded_answer_with_sources_and_feedback(env: SlackEnv) -> None:
    env.model.reply = " ".join(["Roll back with the deploy tool's rollback command [1]."] * 6)
    env.model.delay_s = 0.02  # a model writes at a pace; checked sentences go out as they pass
    event, stop = await ask_in_thread(env, "How do I roll back a bad release?")
    start = env.double.calls_to("chat.startStream")[-1]
    assert start.args["thread_ts"] == event["ts"]
    assert start.args["recipient_user_id"] == USER
    assert start.args["recipient_team_id"] == TEAM_ID
    assert env.double.calls_to("chat.appendStream"), "long answers stream in several appends"
    posted = env.double.message(CHANNEL_ID, stop.args["ts"])
    assert posted is not None and "rollback command [1]" in posted["text"]
    blocks = stop.args["blocks"]
    assert "context_actions" in block_types(blocks)
    assert {"answer_feedback", "why_this_answer"} <= action_ids(blocks)
    assert "deploys.rst" in json.dumps(blocks), "the sources block names the cited document"
    assert "updated today" in json.dumps(blocks), "and how old it is"
    status = env.double.calls_to("assistant.threads.setStatus")
    assert status and status[0].args["status"], "a loading status is shown while working"


async def test_a_dm_is_answered_in_its_thread(env: SlackEnv) -> None:
    dm = "D0DIRECT"
    event = message("How do I roll back a bad release?", channel=dm, channel_type="im")
    assert (await env.event(event))[0] == 200
    await env.settle()
    start = (await env.double.wait_for("chat.startStream"))[-1]
    assert start.args["channel"] == dm and start.args["thread_ts"] == event["ts"]


async def test_follow_up_in_the_thread_needs_no_mention_but_others_chatting_get_silence(
    env: SlackEnv,
) -> None:
    root, _ = await ask_in_thread(env, "How do I roll back a bad release?")
    thread = root["ts"]
    env.double.reset(messages=False)
    follow_up = message("And how long does that take?", thread_ts=thread)
    await env.event(follow_up)
    await env.settle()
    assert len(replies_in(env, CHANNEL_ID)) == 1, "the asker's follow-up is answered"

    env.double.reset(messages=False)
    await env.event(message("I think it takes ages", user=OTHER, thread_ts=thread))
    await env.event(message(f"<@{OTHER}> did you try it last week?", thread_ts=thread))
    await env.event(message("Lunch anyone?"))  # top level, channel policy is `thread`
    await env.settle()
    assert replies_in(env, CHANNEL_ID) == [], "people talking to each other get no answer"


async def test_trigger_policies_mention_only_and_all(env: SlackEnv) -> None:
    root, _ = await ask_in_thread(env, "How do I roll back a bad release?", channel=QUIET_CHANNEL)
    env.double.reset(messages=False)
    await env.event(message("and then?", channel=QUIET_CHANNEL, thread_ts=root["ts"]))
    await env.event(message("How do I roll back a bad release?", channel=ALL_CHANNEL))
    await env.settle()
    assert replies_in(env, QUIET_CHANNEL) == []
    assert len(replies_in(env, ALL_CHANNEL)) == 1


async def test_duplicate_deliveries_and_retries_get_one_answer(env: SlackEnv) -> None:
    event = mention("How do I roll back a bad release?")
    statuses = [(await env.event(event, event_id="EvDUPLICATE1"))[0]]
    for retry in (1, 2):
        statuses.append((await env.event(event, event_id="EvDUPLICATE1", retry_num=retry))[0])
    await env.settle()
    assert statuses == [200, 200, 200]
    assert len(replies_in(env, CHANNEL_ID)) == 1


async def test_a_retry_whose_first_delivery_was_lost_is_answered(env: SlackEnv) -> None:
    event = mention("How do I roll back a bad release?")
    assert (await env.event(event, event_id="EvLOSTFIRST1", retry_num=1))[0] == 200
    await env.settle()
    assert len(replies_in(env, CHANNEL_ID)) == 1


@pytest.mark.parametrize(
    "tamper",
    ["forged signature", "stale timestamp", "body changed after signing"],
)
async def test_unverified_requests_get_401_and_nothing_runs(env: SlackEnv, tamper: str) -> None:
    from evals.slack_double.signing import event_body, signed

    body = event_body(mention("How do I roll back a bad release?"))
    if tamper == "forged signature":
        status, _ = await env.post(body, secret="not-the-secret")
    elif tamper == "stale timestamp":
        status, _ = await env.post(body, timestamp=int(time.time()) - 600)
    else:
        headers = signed(body, "test-signing-secret").headers
        status, _ = await env.post(body.replace(b"roll back", b"delete prod"), headers=headers)
    await env.settle()
    assert status == 401
    assert [c.method for c in env.double.calls if c.method != "auth.test"] == []


async def test_bad_bodies_are_refused_cleanly_and_the_app_keeps_working(env: SlackEnv) -> None:
    status_bad_json, _ = await env.post(b'{"type": "event_callback", "event": ')
    status_huge, _ = await env.post(b'{"type":"event_callback","pad":"' + b"x" * 1_100_000 + b'"}')
    status_unknown, _ = await env.event({"type": "reaction_added", "user": USER, "item": {}})
    challenge, body = await env.post(b'{"type":"url_verification","challenge":"c-123"}')
    assert 400 <= status_bad_json < 500
    assert status_huge == 413
    assert status_unknown == 200, "an event we do not handle is acknowledged, not retried"
    assert challenge == 200 and "c-123" in body
    await test_a_dm_is_answered_in_its_thread(env)  # still answering


async def test_stream_expiry_is_completed_with_chat_update(env: SlackEnv) -> None:
    env.model.reply = " ".join(["Roll back with the deploy tool's rollback command [1]."] * 8)
    env.model.delay_s = 0.02  # sentence by sentence, as the guard releases them
    env.double.expire_streams_after_appends(1)
    try:
        event = mention("How do I roll back a bad release?")
        await env.event(event)
        await env.settle()
    finally:
        env.double.expire_streams_after_appends(None)
    update = (await env.double.wait_for("chat.update"))[-1]
    final = env.double.message(CHANNEL_ID, update.args["ts"])
    assert final is not None
    assert final["text"].count("rollback command") == 8, "the whole answer, nothing lost"


async def test_slack_429s_are_waited_out(env: SlackEnv) -> None:
    env.double.rate_limit("chat.startStream", times=1, retry_after=1)
    await env.event(mention("How do I roll back a bad release?"))
    await env.settle()
    starts = env.double.calls_to("chat.startStream")
    assert [c.rate_limited for c in starts] == [True, False]
    assert env.double.calls_to("chat.stopStream")


async def test_slash_ask_answers_privately_and_can_be_shared(env: SlackEnv) -> None:
    body = slash_command_body(
        "/ask",
        "How do I roll back a bad release?",
        user_id=USER,
        channel_id=CHANNEL_ID,
        team_id=TEAM_ID,
        response_url=env.double.response_url("ask1"),
        trigger_id="trig-1",
    )
    status, ack_body = await env.post(body)
    assert status == 200 and "ephemeral" in ack_body
    await env.settle()
    answer = (await env.double.wait_for("response_url"))[-1].args
    assert answer["response_type"] == "ephemeral"
    assert "share_answer" in action_ids(answer["blocks"])
    assert not replies_in(env, CHANNEL_ID), "nothing public yet"
    trace_id = share_value(answer["blocks"])
    click = block_action("share_answer", trace_id, response_url=env.double.response_url("ask1b"))
    for _ in range(2):  # a double click shares once
        assert (await env.post(interaction_body(click)))[0] == 200
    await env.settle()
    await asyncio.sleep(0.2)
    shared = [c for c in env.double.calls_to("chat.postMessage") if c.args["channel"] == CHANNEL_ID]
    assert len(shared) == 1 and "rollback command" in shared[0].args["text"]


async def test_slash_ask_without_a_question_says_how_to_use_it(env: SlackEnv) -> None:
    body = slash_command_body(
        "/ask",
        "",
        user_id=USER,
        channel_id=CHANNEL_ID,
        team_id=TEAM_ID,
        response_url=env.double.response_url("ask2"),
        trigger_id="t",
    )
    status, text = await env.post(body)
    assert status == 200 and "/ask" in text


async def assistant_command(env: SlackEnv, text: str, user: str) -> str:
    """Send ``/assistant <text>``; the reply comes through response_url."""
    url_id = f"cmd-{time.monotonic_ns()}"
    body = slash_command_body(
        "/assistant",
        text,
        user_id=user,
        channel_id=CHANNEL_ID,
        team_id=TEAM_ID,
        response_url=env.double.response_url(url_id),
        trigger_id="t",
    )
    status, _ = await env.post(body)
    assert status == 200
    reply = await env.double.wait_for(
        "response_url", predicate=lambda c: c.args.get("response_url_id") == url_id
    )
    assert reply[-1].args["response_type"] == "ephemeral"
    return str(reply[-1].args["text"])


async def test_assistant_command_help_feedback_and_admin_only_stats(env: SlackEnv) -> None:
    async def run(text: str, user: str) -> str:
        return await assistant_command(env, text, user)

    assert "feedback" in await run("help", USER)
    assert "admin" in (await run("stats", USER)).lower()
    assert "turn" in (await run("stats", "U0ADMIN")).lower()
    _, stop = await ask_in_thread(env, "How do I roll back a bad release?")
    thanks = await run("feedback that was wrong and outdated", USER)
    assert "flagged" in thanks.lower()
    feedback = evaluations(env, trace_id_of(stop))
    assert [e["attributes"]["gen_ai.evaluation.score.label"] for e in feedback] == ["negative"]


async def test_what_a_user_asks_to_be_remembered_is_shown_and_forgotten_on_command(
    env: SlackEnv,
) -> None:
    _, stop = await ask_in_thread(env, "remember that I work on the payments team", user="U0MEM")
    noted = env.double.message(CHANNEL_ID, stop.args["ts"])
    assert noted is not None and noted["text"].startswith("Noted.")
    assert "payments" not in noted["text"], "in a channel the fact is not repeated"
    assert "payments team" in await assistant_command(env, "memory", "U0MEM")
    assert "payments" not in await assistant_command(env, "memory", USER), "theirs alone"
    assert "forgot 1" in await assistant_command(env, "forget", "U0MEM")
    assert "don't keep anything" in await assistant_command(env, "memory", "U0MEM")


def evaluations(env: SlackEnv, trace_id: str) -> list[dict]:
    """The evaluation records written against ``trace_id``."""
    return [
        t
        for t in env.traces()
        if t.get("name") == "gen_ai.evaluation.result" and t.get("trace_id") == trace_id
    ]


def block_action(action_id: str, value: str, **extra: Any) -> dict:
    return {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "test"},
        "user": {"id": USER, "team_id": TEAM_ID},
        "api_app_id": "A0TEST",
        "trigger_id": "trigger-123",
        "channel": {"id": CHANNEL_ID},
        "container": {"type": "message", "channel_id": CHANNEL_ID, "message_ts": "1.1"},
        "actions": [{"action_id": action_id, "value": value, "type": "button", "block_id": "b"}],
        **extra,
    }


def trace_id_of(stop_call: Any) -> str:
    for block in stop_call.args["blocks"]:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id") == "why_this_answer":
                return str(element["value"])
    raise AssertionError("no why_this_answer button")


async def test_thumbs_down_opens_a_modal_and_both_land_in_the_trace_log(env: SlackEnv) -> None:
    first, _ = await ask_in_thread(env, "How do I roll back a bad release?")
    _, stop = await ask_in_thread(env, "and how long does that take?", thread_ts=first["ts"])
    trace_id = trace_id_of(stop)
    click = block_action("answer_feedback", f"bad:{trace_id}", message={"ts": stop.args["ts"]})
    assert (await env.post(interaction_body(click)))[0] == 200
    opened = (await env.double.wait_for("views.open"))[-1]
    view = opened.args["view"]
    assert view["callback_id"] == "feedback_modal"
    submission = {
        "type": "view_submission",
        "team": {"id": TEAM_ID},
        "user": {"id": USER},
        "api_app_id": "A0TEST",
        "view": {
            **view,
            "id": "V1",
            "state": {
                "values": {
                    "reasons": {
                        "reasons": {
                            "type": "checkboxes",
                            "selected_options": [{"value": "outdated"}],
                        }
                    },
                    "comment": {"comment": {"type": "plain_text_input", "value": "old docs"}},
                }
            },
        },
    }
    status, _ = await env.post(interaction_body(submission))
    assert status == 200
    await asyncio.sleep(0.2)
    events = evaluations(env, trace_id)
    labels = [e["attributes"].get("gen_ai.evaluation.score.label") for e in events]
    assert "negative" in labels and any("outdated" in str(label) for label in labels)
    assert "old docs" not in json.dumps(events), "feedback text is content: not logged by default"
    # ... and the answer is queued as a regression case to review (redacted, no gold yet).
    rows = [
        json.loads(r) for r in await env.runtime.services.redis.lrange("eval:regressions", 0, -1)
    ]
    (case,) = [r for r in rows if r["trace_id"] == trace_id]
    assert case["question"] == "and how long does that take?"
    # The thread it followed, as the model saw it, and the retrieved chunks by id.
    assert case["thread"][0] == {"role": "human", "text": "How do I roll back a bad release?"}
    assert case["standalone_question"] and case["retrieved"][0]["id"]
    assert case["bad_answer"] and case["reasons"] == ["outdated"] and case["comment"] == "old docs"
    assert case["reviewed"] is False and case["answer"] == "" and case["cited"]


async def test_why_this_answer_shows_route_scores_and_trace(env: SlackEnv) -> None:
    _, stop = await ask_in_thread(env, "How do I roll back a bad release?")
    trace_id = trace_id_of(stop)
    click = block_action("why_this_answer", trace_id, response_url=env.double.response_url("why"))
    assert (await env.post(interaction_body(click)))[0] == 200
    shown = (await env.double.wait_for("response_url"))[-1].args
    text = json.dumps(shown["blocks"])
    assert shown["response_type"] == "ephemeral"
    assert trace_id in text and "retrieve" in text and "deploys.rst" in text


async def test_message_shortcut_answers_the_message_privately(env: SlackEnv) -> None:
    shortcut = {
        "type": "message_action",
        "callback_id": "ask_about_message",
        "team": {"id": TEAM_ID},
        "user": {"id": USER},
        "channel": {"id": CHANNEL_ID},
        "api_app_id": "A0TEST",
        "trigger_id": "t-9",
        "response_url": env.double.response_url("shortcut"),
        "message": {"type": "message", "user": OTHER, "ts": "1.2", "text": "How do I roll back?"},
        "message_ts": "1.2",
    }
    assert (await env.post(interaction_body(shortcut)))[0] == 200
    await env.settle()
    answer = (await env.double.wait_for("response_url"))[-1].args
    assert answer["response_type"] == "ephemeral" and "rollback" in answer["text"]


async def test_escalation_tags_the_channels_experts_and_summary_reads_the_thread(
    env: SlackEnv,
) -> None:
    root_ts = env.double.add_message(EXPERTS_CHANNEL, OTHER, "Deploys to eu-west are failing.")
    env.double.add_message(EXPERTS_CHANNEL, USER, "Same here since 10:00.", thread_ts=root_ts)
    await env.event(
        mention(
            "Please escalate this to a human expert", channel=EXPERTS_CHANNEL, thread_ts=root_ts
        )
    )
    await env.event(
        mention("Summarize this thread for me", channel=EXPERTS_CHANNEL, thread_ts=root_ts)
    )
    await env.settle()
    texts = [
        (env.double.message(EXPERTS_CHANNEL, c.args["ts"]) or {}).get("text", "")
        for c in env.double.calls_to("chat.stopStream")
    ]
    assert any("<@U0EXPERT>" in t for t in texts), texts
    assert env.double.calls_to("conversations.replies")
    assert any("eu-west" in t for t in texts), texts


async def test_per_user_rate_limit_tells_when_to_retry(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> None:
    limited = await start_env(tmp_path_factory.mktemp("rl"), redis_url, user_rate_per_minute=1)
    try:
        user = f"U0RL{int(time.time())}"
        for _ in range(2):
            await limited.event(mention("How do I roll back a bad release?", user=user))
        await limited.settle()
        notices = limited.double.calls_to("chat.postEphemeral")
        assert len(replies_in(limited, CHANNEL_ID)) == 1
        assert notices and "try again" in notices[-1].args["text"].lower()
    finally:
        await stop_env(limited)


async def test_app_home_tab_and_messages_tab(env: SlackEnv) -> None:
    await env.event({"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home"})
    await env.event(
        {"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "messages"}
    )
    published = (await env.double.wait_for("views.publish"))[-1]
    prompts = (await env.double.wait_for("assistant.threads.setSuggestedPrompts"))[-1]
    assert published.args["view"]["type"] == "home"
    assert prompts.args["prompts"]


async def test_socket_mode_delivers_events_to_the_same_app(env: SlackEnv) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    from evals.slack_double.signing import event_payload

    handler = AsyncSocketModeHandler(
        env.runtime.app, "xapp-test-token", web_client=env.runtime.app.client
    )
    await handler.connect_async()
    try:
        await env.double.wait_socket_connected()
        envelope = await env.double.socket_send(
            event_payload(mention("How do I roll back a bad release?"))
        )
        ack = await env.double.wait_socket_ack(envelope)
        assert ack["envelope_id"] == envelope
        await env.settle()
        assert len(replies_in(env, CHANNEL_ID)) == 1
    finally:
        await handler.close_async()


async def test_a_long_answer_continues_in_further_replies_and_loses_nothing(env: SlackEnv) -> None:
    # Grounded in tests/data/e2e/deploys.rst, so the output guard keeps it as it is.
    sentence = "To roll back a bad release, run the deployctl rollback command [1]."
    env.model.reply = " ".join([sentence] * 250)  # ~17,000 characters
    env.model.delay_s = 0.001
    event = mention("How do I roll back a bad release?")
    await env.event(event)
    await env.settle()
    stop = (await env.double.wait_for("chat.stopStream"))[-1]
    first = env.double.message(CHANNEL_ID, stop.args["ts"])
    rest = [
        c for c in env.double.calls_to("chat.postMessage") if c.args["thread_ts"] == event["ts"]
    ]
    assert first is not None and rest, "the answer is split over several messages"
    texts = [first["text"], *(c.args["text"] for c in rest)]
    assert all(len(t) <= 12_000 for t in texts)
    assert sum(t.count("rollback command") for t in texts) == 250
    assert "answer_feedback" in json.dumps(rest[-1].args["blocks"]), "buttons under the last part"


async def test_a_message_sent_while_a_turn_runs_waits_its_turn(env: SlackEnv) -> None:
    env.model.delay_s = 0.05  # ~0.5 s per answer
    root, _ = await ask_in_thread(env, "How do I roll back a bad release?")
    env.double.reset(messages=False)
    await env.event(message("and how do I roll forward again?", thread_ts=root["ts"]))
    await env.event(message("and who approves it?", thread_ts=root["ts"]))
    await env.settle()
    calls = [
        c.method
        for c in env.double.calls
        if c.method in ("chat.startStream", "chat.stopStream", "chat.update")
    ]
    assert calls.count("chat.startStream") == 2, calls
    first_stop = calls.index("chat.stopStream")
    assert calls.index("chat.startStream", 1) > first_stop, (
        "the second answer starts after the first"
    )


async def test_overload_gets_a_polite_busy_reply_not_silence(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> None:
    busy = await start_env(tmp_path_factory.mktemp("busy"), redis_url, workers=1, max_pending=1)
    busy.model.delay_s = 0.1
    try:
        for n in range(3):
            await busy.event(mention("How do I roll back a bad release?", user=f"U0BUSY{n}"))
        await busy.settle()
        await asyncio.sleep(0.3)
        notices = busy.double.calls_to("chat.postEphemeral")
        answered = busy.double.calls_to("chat.stopStream")
        assert len(answered) + len(notices) == 3, "every message gets an answer or a notice"
        assert notices and all("lot of requests" in n.args["text"] for n in notices)
    finally:
        await stop_env(busy)


async def test_ssl_check_is_answered(env: SlackEnv) -> None:
    status, _ = await env.post(b"ssl_check=1&token=verification-token")
    assert status == 200


async def test_a_channel_reads_only_its_spaces_and_runs_only_its_tools(env: SlackEnv) -> None:
    await env.event(mention("How do I roll back a bad release?", channel=LOCKED_CHANNEL))
    await env.event(mention("Please escalate this to a human expert", channel=LOCKED_CHANNEL))
    await env.settle()
    stops = [
        c for c in env.double.calls_to("chat.stopStream") if c.args["channel"] == LOCKED_CHANNEL
    ]
    texts = [
        (env.double.message(LOCKED_CHANNEL, c.args["ts"]) or {}).get("text", "") for c in stops
    ]
    assert len(texts) == 2
    assert not any("deploys.rst" in json.dumps(c.args.get("blocks")) for c in stops)
    assert any("isn't available here" in t for t in texts), texts


async def test_a_channel_set_to_ephemeral_answers_only_the_asker(env: SlackEnv) -> None:
    event = mention("How do I roll back a bad release?", channel=PRIVATE_CHANNEL)
    await env.event(event)
    await env.settle()
    [private] = await env.double.wait_for("chat.postEphemeral")
    assert private.args["user"] == USER and private.args["thread_ts"] == event["ts"]
    assert "rollback command" in private.args["text"]
    assert "why_this_answer" in json.dumps(private.args["blocks"])
    assert replies_in(env, PRIVATE_CHANNEL) == []


async def test_a_follow_up_sent_while_the_first_answer_runs_is_answered_after_it(
    env: SlackEnv,
) -> None:
    env.model.delay_s = 0.05
    root = mention("How do I roll back a bad release?")
    await env.event(root)
    await env.event(message("and who approves a rollback?", thread_ts=root["ts"]))
    await env.settle()
    stops = [c for c in env.double.calls_to("chat.stopStream") if c.args["channel"] == CHANNEL_ID]
    assert len(stops) == 2


async def test_a_model_dying_mid_answer_leaves_an_apology_not_half_an_answer(
    env: SlackEnv,
) -> None:
    env.model.reply = " ".join(["Roll back with the deploy tool's rollback command [1]."] * 6)
    env.model.fail_after = 20
    env.model.delay_s = 0.01  # slow enough that checked sentences stream before it dies
    await env.event(mention("How do I roll back a bad release?"))
    await env.settle()
    update = (await env.double.wait_for("chat.update"))[-1]
    final = env.double.message(CHANNEL_ID, update.args["ts"])
    assert final is not None and "Sorry" in final["text"]
    assert "rollback command" not in final["text"], "the partial answer is replaced"
    status = env.double.calls_to("assistant.threads.setStatus")
    assert status[-1].args["status"] == "", "the thinking status is cleared"


async def test_a_dm_with_a_file_is_answered_and_other_bots_are_not(env: SlackEnv) -> None:
    dm = message(
        "How do I roll back a bad release?",
        channel="D0FILES",
        channel_type="im",
        subtype="file_share",
    )
    await env.event(dm)
    await env.event(mention("How do I roll back a bad release?", bot_id="B0OTHER"))
    await env.settle()
    assert len(replies_in(env, "D0FILES")) == 1
    assert replies_in(env, CHANNEL_ID) == []


async def test_share_still_works_where_the_bot_is_not_a_member(env: SlackEnv) -> None:
    trace_id = await ask_privately(
        env, "How do I roll back a bad release?", "nm", channel="C0NOTMEMBER"
    )
    env.double.fail("chat.postMessage", error="not_in_channel")
    click = block_action("share_answer", trace_id, response_url=env.double.response_url("nm2"))
    assert (await env.post(interaction_body(click)))[0] == 200
    await asyncio.sleep(0.5)
    shared = [
        c.args
        for c in env.double.calls_to("response_url")
        if c.args.get("response_url_id") == "nm2"
    ]
    assert any(a.get("response_type") == "in_channel" for a in shared), shared


async def test_a_forged_command_cannot_send_answers_to_another_host(env: SlackEnv) -> None:
    body = slash_command_body(
        "/ask",
        "How do I roll back a bad release?",
        user_id=USER,
        channel_id=CHANNEL_ID,
        team_id=TEAM_ID,
        response_url="https://collector.example/steal",
        trigger_id="t",
    )
    assert (await env.post(body))[0] == 200
    await env.settle()
    assert env.double.calls_to("response_url") == []  # and nothing went anywhere else


async def test_without_a_signing_secret_http_events_are_off(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> None:
    socket_only = await start_env(
        tmp_path_factory.mktemp("nosecret"), redis_url, signing_secret=None, app_token="xapp-x"
    )
    try:
        from evals.slack_double.signing import event_body

        status, _ = await socket_only.post(event_body(mention("How do I roll back?")))
        await socket_only.settle()
        assert status == 404
        assert [c.method for c in socket_only.double.calls] == []
    finally:
        await stop_env(socket_only)


async def test_a_turn_whose_token_lookup_fails_still_tells_the_asker(
    env: SlackEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every failure on a turn ends in a message: without a client (the workspace's token could
    not be looked up), the command's response_url still reaches the asker."""
    responder = env.runtime.services.scheduler.handler

    async def broken_lookup(_request: Any) -> Any:
        raise ConnectionError("installation store unreachable")

    monkeypatch.setattr(responder, "client_for", broken_lookup)
    body = slash_command_body(
        "/ask",
        "How do I roll back a bad release?",
        user_id=USER,
        channel_id=CHANNEL_ID,
        team_id=TEAM_ID,
        response_url=env.double.response_url("lookup-fails"),
    )
    assert (await env.post(body))[0] == 200
    await env.settle()
    [reply] = await env.double.wait_for("response_url")
    assert "Sorry" in reply.args["text"] and reply.args["response_type"] == "ephemeral"


def share_value(blocks: list[dict]) -> str:
    """The trace id the Share button of an ephemeral answer carries."""
    return next(
        e["value"]
        for b in blocks
        for e in b.get("elements", [])
        if isinstance(e, dict) and e.get("action_id") == "share_answer"
    )


async def ask_privately(
    env: SlackEnv, question: str, response_id: str, channel: str = CHANNEL_ID
) -> str:
    """``/ask`` answered ephemerally; returns the trace id its Share button carries."""
    body = slash_command_body(
        "/ask",
        question,
        user_id=USER,
        channel_id=channel,
        team_id=TEAM_ID,
        response_url=env.double.response_url(response_id),
        trigger_id="t",
    )
    assert (await env.post(body))[0] == 200
    await env.settle()
    answer = (await env.double.wait_for("response_url"))[-1].args
    return share_value(answer["blocks"])


async def test_share_posts_only_the_redacted_question(env: SlackEnv) -> None:
    trace_id = await ask_privately(
        env, "I'm jane.doe@example.com, card 4111 1111 1111 1111: how do I roll back?", "red"
    )
    click = block_action("share_answer", trace_id, response_url=env.double.response_url("red2"))
    assert (await env.post(interaction_body(click)))[0] == 200
    [shared] = await env.double.wait_for("chat.postMessage")
    posted = json.dumps(shared.args)
    assert "rollback command" in posted, "the answer is shared"
    assert "jane.doe@example.com" not in posted and "4111" not in posted
    assert "&lt;EMAIL&gt;" in posted or "<EMAIL>" in posted, "the question is shown redacted"


async def test_a_share_that_fails_on_the_network_is_kept_for_another_click(
    env: SlackEnv,
) -> None:
    trace_id = await ask_privately(env, "How do I roll back a bad release?", "net")
    env.double.drop_connection("chat.postMessage", times=3)  # outlasts the client's retries
    click = block_action("share_answer", trace_id, response_url=env.double.response_url("net2"))
    assert (await env.post(interaction_body(click)))[0] == 200
    notice = await env.double.wait_for(
        "response_url", predicate=lambda c: c.args.get("response_url_id") == "net2"
    )
    assert "couldn't share" in notice[-1].args["text"], "the asker hears it did not work"
    assert not [c for c in env.double.calls_to("chat.postMessage") if c.status == 200]

    click = block_action("share_answer", trace_id, response_url=env.double.response_url("net3"))
    assert (await env.post(interaction_body(click)))[0] == 200
    shared = await env.double.wait_for(
        "chat.postMessage", predicate=lambda c: c.status == 200 and c.args["channel"] == CHANNEL_ID
    )
    assert "rollback command" in shared[-1].args["text"], "the second click shares it"


async def test_in_quote_mode_the_passage_streams_at_once_and_stays(env: SlackEnv) -> None:
    settings = env.runtime.assistant.context.settings
    settings.answer_mode = "quote"
    env.model.reply = "THE MODEL MUST NOT WRITE THIS"
    try:
        event, stop = await ask_in_thread(env, "How do I roll back a bad release?")
    finally:
        settings.answer_mode = "generate"
    [start] = [
        c for c in env.double.calls_to("chat.startStream") if c.args["thread_ts"] == event["ts"]
    ]
    streamed = json.dumps(start.args) + json.dumps(
        [c.args for c in env.double.calls_to("chat.appendStream", "chat.stopStream")]
    )
    assert "deployctl rollback --to previous" in streamed and "MODEL" not in streamed
    assert not env.double.calls_to("chat.update"), "nothing shown is replaced"
    final = env.double.message(CHANNEL_ID, stop.args["ts"])
    assert final is not None and final["text"].startswith("From the docs [1]:")
    assert "deploys.rst" in json.dumps(stop.args["blocks"])


async def test_a_slack_turn_is_one_trace_from_event_to_final_message(env: SlackEnv) -> None:
    """The reply's span starts at the event, holds the graph's turn, and every record of the
    trace follows the schema."""
    env.model.reply = "Roll back with the deploy tool's rollback command [1]."
    _, stop = await ask_in_thread(env, "How do I roll back a bad release?")
    trace_id = trace_id_of(stop)
    mine = [r for r in env.traces() if r["trace_id"] == trace_id]
    for record in mine:
        validate_record(record)
    by_name = {r["name"]: r for r in mine}
    reply, turn = by_name["slack.reply"], by_name["turn"]
    assert reply["parent_span_id"] is None and reply["kind"] == "SERVER"
    assert turn["parent_span_id"] == reply["span_id"]
    assert reply["start_time_unix_nano"] <= turn["start_time_unix_nano"]
    attrs = reply["attributes"]
    assert attrs["app.slack.channel"] == CHANNEL_ID and attrs["app.intent"] == "question"
    assert 0 < attrs["app.slack.first_text_ms"] <= attrs["app.slack.final_ms"]
    assert USER not in json.dumps(mine), "users appear only as user.hash"
    chat = next(r for r in mine if r["name"].startswith("chat "))
    assert chat["parent_span_id"] == turn["span_id"]
    assert chat["attributes"]["gen_ai.response.time_to_first_chunk"] > 0
