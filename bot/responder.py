"""Answer one queued Slack turn: status, the graph, streaming or ephemeral delivery, records.

``SlackResponder`` is the scheduler's handler. It never raises for a turn's own failure: the user
gets a short apology with the trace id and the traceback goes to the log.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.config import SlackSettings
from bot.records import SlackRecords
from bot.streaming import AnswerStream
from bot.turns import TurnRequest
from bot.views.answer_builder import answer_blocks, ephemeral_answer_blocks
from bot.views.text import LOADING_MESSAGES, THINKING_STATUS, sorry
from bot.views.why_builder import explanation
from graph.assistant import Assistant, TurnResult
from guards.redaction import redact_pii
from observe.tracing import Span, new_trace_id, user_hash

log = structlog.get_logger(__name__)
SLACK_HOOKS = "https://hooks.slack.com/"

ClientFor = Callable[[TurnRequest], Any]


def make_client(settings: SlackSettings, token: str | None) -> AsyncWebClient:
    """A Web API client for ``token`` that honours 429 ``Retry-After`` and retries resets."""
    return AsyncWebClient(
        token=token,
        base_url=settings.api_url,
        retry_handlers=[
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


class ChannelPacer:
    """Spaces new messages in one channel at least ``interval_s`` apart (Slack allows about one
    message per second per channel), across every replica: each message claims the channel's
    next slot in Redis (``slack:pace:<channel>``, ``SET NX PX``). Without Redis, or if it fails,
    the spacing is this process's own; a slot is never waited for more than ``max_wait_s``."""

    def __init__(self, redis: Redis | None = None, interval_s: float = 1.0) -> None:
        self.redis = redis
        self.interval_s = interval_s
        self.max_wait_s = 30.0
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._last: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        if self.redis is None:
            return await self._wait_here(channel)
        key, slot_ms = f"slack:pace:{channel}", max(1, int(self.interval_s * 1000))
        deadline = time.monotonic() + self.max_wait_s
        async with self._locks[channel]:  # this process's turns queue here, not on Redis
            while time.monotonic() < deadline:
                try:
                    if await self.redis.set(key, 1, nx=True, px=slot_ms):
                        return None
                    left_ms = await self.redis.pttl(key)
                except RedisError:
                    break
                await asyncio.sleep(max(left_ms, 5) / 1000)
        return await self._wait_here(channel)

    async def _wait_here(self, channel: str) -> None:
        async with self._locks[channel]:
            wait = self._last.get(channel, 0.0) + self.interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last[channel] = time.monotonic()


def slack_thread_loader(client: AsyncWebClient, request: TurnRequest) -> Any:
    """A loader for the graph's summarize tool: the thread's human messages, oldest first,
    without the request itself."""

    async def load() -> list[dict[str, str]]:
        response = await client.conversations_replies(
            channel=request.channel, ts=request.thread_ts, limit=200
        )
        return [
            {"user": f"<@{m.get('user', '')}>", "text": str(m.get("text", ""))}
            for m in response.get("messages") or []
            if not m.get("bot_id") and m.get("ts") != request.message_ts
        ]

    return load


THREAD_CHARS = 1000
"""How much of each earlier message a regression case keeps."""


def regression_seed(result: TurnResult) -> dict[str, Any]:
    """What a 👎 on this answer turns into a regression case: redacted question and answer,
    the thread before it and the standalone question retrieval used, the cited and the
    retrieved sources (chunk ids, no chunk text)."""
    return {
        "question": redact_pii(result.question),
        "standalone_question": redact_pii(result.standalone_question),
        "thread": [  # redacted whole, then cut (a cut address would escape redaction)
            {"role": m["role"], "text": redact_pii(m["text"])[:THREAD_CHARS]} for m in result.thread
        ],
        "bad_answer": redact_pii(result.answer),
        "cited": [
            {"n": c["n"], "source": c["source"], "heading": c["heading"]} for c in result.citations
        ],
        "retrieved": [
            {"id": d.get("id"), "source": d["source"], "heading": d["heading"]}
            for d in result.retrieved
        ],
        "intent": result.intent,
    }


class SlackResponder:
    """Runs one ``TurnRequest`` end to end."""

    def __init__(
        self,
        assistant: Assistant,
        settings: SlackSettings,
        records: SlackRecords,
        client_for: Callable[[TurnRequest], Any],
    ) -> None:
        self.assistant = assistant
        self.settings = settings
        self.records = records
        self.client_for = client_for
        self.pacer = ChannelPacer(assistant.redis)

    async def __call__(self, request: TurnRequest) -> None:
        trace_id = new_trace_id()
        attributes = {
            "app.slack.channel": request.channel,
            "app.slack.source": request.source,
            "app.slack.delivery": request.delivery,
            "app.slack.queue_ms": round((time.time() - request.received_at) * 1000, 3),
            "user.hash": user_hash(request.user),
        }
        tracer = self.assistant.context.tracer
        received_ns = int(request.received_at * 1e9)
        # The reply's span starts when Slack's event arrived; the graph's turn is its child.
        with tracer.span(
            "slack.reply", "SERVER", attributes, trace_id=trace_id, start_ns=received_ns
        ) as span:
            await self._reply(request, trace_id, span)

    async def _reply(self, request: TurnRequest, trace_id: str, span: Span) -> None:
        policy = self.settings.policy(request.channel)
        log_ = log.bind(trace_id=trace_id, user_hash=user_hash(request.user), via=request.source)
        client: AsyncWebClient | None = None
        stream: AnswerStream | None = None
        try:
            client = await self.client_for(request)
            if request.delivery == "thread":
                await self._set_status(client, request, THINKING_STATUS)
                await self.pacer.wait(request.channel)
                stream = AnswerStream(
                    client,
                    channel=request.channel,
                    thread_ts=request.thread_ts,
                    team_id=request.team_id,
                    user_id=request.user,
                    max_age_s=self.settings.stream_max_age_s,
                )
            result = await self.assistant.ask(
                request.text,
                conversation_id=request.conversation_id,
                user_id=request.user,
                on_text=stream.feed if stream is not None else None,
                on_task=stream.feed_task if stream is not None else None,
                spaces=policy.spaces,
                thread_loader=slack_thread_loader(client, request),
                experts=policy.mentions(),
                tools_allowed=policy.tools,
                trace_id=trace_id,
                guard_policy=policy.guard_overrides(),
                fresh=request.fresh,
                private=request.delivery == "ephemeral" or request.channel.startswith("D"),
            )
            now = time.time()
            await self._save_fresh(request, result)  # before the button it serves is shown
            if stream is not None:
                await stream.finish(result.answer, answer_blocks(result, now=now))
                lag = (stream.first_text_at or now) - request.received_at
            else:
                blocks = ephemeral_answer_blocks(result, question=result.question, now=now)
                await self._respond(client, request, text=result.answer, blocks=blocks)
                lag = now - request.received_at
        except Exception as exc:
            log_.exception("turn failed", error_type=type(exc).__name__)
            span.fail(exc)
            await self._apologise(client, request, trace_id, stream)
            return
        finally:
            if stream is not None and client is not None:
                await self._set_status(client, request, "")
        await self._remember(request, result)
        total_s = time.time() - request.received_at
        span.update(
            {
                "app.slack.first_text_ms": round(lag * 1000, 3),
                "app.slack.final_ms": round(total_s * 1000, 3),
                "app.slack.stream_fallback": stream.broken if stream is not None else None,
                "app.intent": result.intent,
                "app.cache_hit": result.cached,
            }
        )
        log_.info(
            "slack turn answered",
            intent=result.intent,
            cache_hit=result.cached,
            first_text_s=round(lag, 3),
            total_s=round(total_s, 3),
            stream_fallback=stream.broken if stream is not None else None,
        )

    async def _save_fresh(self, request: TurnRequest, result: TurnResult) -> None:
        """What "Fresh answer" under a cached answer asks again: the standalone question (as
        the input guard passed it on, a follow-up already rewritten), never raw text."""
        if not (result.cached and request.delivery == "thread"):
            return
        again = replace(request, text=result.standalone_question or result.question, fresh=True)
        try:
            await self.records.save_fresh(result.trace_id, again.to_json())
        except RedisError as exc:
            log.warning("fresh-answer record not saved", error=str(exc))

    async def _remember(self, request: TurnRequest, result: TurnResult) -> None:
        """Records behind the buttons (why, share, feedback target); best effort."""
        try:
            await self._save_records(request, result)
        except RedisError as exc:
            log.warning("answer records not saved", error=str(exc))

    async def _save_records(self, request: TurnRequest, result: TurnResult) -> None:
        await self.records.join_thread(request.thread_key, request.user)
        await self.records.save_explanation(result.trace_id, explanation(result))
        await self.records.set_last_trace(request.team_id, request.user, result.trace_id)
        if result.intent != "memory":  # what users keep about themselves is no test case
            await self.records.save_case(result.trace_id, regression_seed(result))
        if request.delivery == "ephemeral":
            # Posted for everyone on "Share": only redacted text, whatever the channel's policy
            # let the asker (and the model) see.
            share = {
                "answer": redact_pii(result.answer),
                "citations": result.citations,
                "question": redact_pii(result.question),
                "user": request.user,
                "channel": request.channel,
            }
            await self.records.save_share(result.trace_id, share)

    async def _set_status(self, client: AsyncWebClient, request: TurnRequest, status: str) -> None:
        """Show (or clear) the "thinking" status; best effort, never fails the turn."""
        try:
            await client.assistant_threads_setStatus(
                channel_id=request.channel,
                thread_ts=request.thread_ts,
                status=status,
                loading_messages=random.sample(LOADING_MESSAGES, k=min(3, len(LOADING_MESSAGES)))
                if status
                else None,
            )
        except SlackApiError as exc:
            log.debug("status not shown", error=exc.response.get("error"))
        except (OSError, aiohttp.ClientError, TimeoutError) as exc:
            log.debug("status not shown", error=type(exc).__name__)

    async def _respond(
        self, client: AsyncWebClient, request: TurnRequest, *, text: str, blocks: list[Any]
    ) -> None:
        """An answer only the asker sees: replace the command's "working on it" message through
        its response_url, or (channels set to ephemeral answers) ``chat.postEphemeral``."""
        if request.response_url is not None:
            await send_private_response(request.response_url, self.settings, text, blocks)
            return
        await client.chat_postEphemeral(
            channel=request.channel,
            user=request.user,
            text=text,
            blocks=blocks or None,
            thread_ts=request.thread_ts if request.in_thread else None,
        )

    async def _apologise(
        self,
        client: AsyncWebClient | None,
        request: TurnRequest,
        trace_id: str,
        stream: AnswerStream | None,
    ) -> None:
        """Replace a half-streamed answer (or post) a short apology with the trace reference.

        Without a client (the workspace's token could not be found) only a command's
        ``response_url`` can still reach the asker; otherwise the failure is logged only.
        """
        try:
            if stream is not None:
                await stream.fail(sorry(trace_id))
            elif request.response_url is not None:
                await send_private_response(request.response_url, self.settings, sorry(trace_id))
            elif client is None:
                log.error("no way to tell the asker: the workspace has no usable token")
            elif request.delivery == "ephemeral":
                await self._respond(client, request, text=sorry(trace_id), blocks=[])
            else:
                await client.chat_postMessage(
                    channel=request.channel, thread_ts=request.thread_ts, text=sorry(trace_id)
                )
        except Exception:
            log.exception("could not even post the apology")


async def send_private_response(
    url: str, settings: SlackSettings, text: str, blocks: list[Any] | None = None
) -> None:
    """Replace the asker's "working on it" message through a trusted ``response_url``."""
    if not trusted_response_url(url, settings):
        log.warning("untrusted response_url; nothing sent")
        return
    await AsyncWebhookClient(url).send(
        text=text, blocks=blocks, response_type="ephemeral", replace_original=True
    )


def trusted_response_url(url: str, settings: SlackSettings) -> bool:
    """Only Slack's own hooks (or the configured Web API host, e.g. a local test double) may
    receive answers: a forged command must not send a channel's answers elsewhere."""
    if url.startswith(SLACK_HOOKS):
        return True
    api = urlsplit(settings.api_url)
    return api.netloc != "slack.com" and urlsplit(url).netloc == api.netloc
