"""Stream an answer into a Slack thread, and always finish the message.

``AnswerStream.feed`` takes the answer's text as the output guard releases it (synchronously,
from the turn's ``on_text`` callback: checked sentences, never raw model tokens), and
``feed_task`` a planning model's tool steps (sent as ``task_update`` chunks); a background
task appends it with ``chat.startStream``/``appendStream`` (slack-sdk's
``AsyncChatStream`` buffers them). ``finish`` writes the final, guarded text:

- while the stream is healthy, the missing tail and the closing blocks go out with
  ``chat.stopStream``;
- when the stream broke (an API error such as ``message_not_in_streaming_state``), got older than
  ``max_age_s`` (Slack expires streams after about five minutes), or the guarded text differs from
  what was streamed, the message is completed with ``chat.update`` on the stream's ts;
- if nothing was ever started, the answer is posted with ``chat.postMessage``.

Text beyond one message's limit goes out as further replies in the thread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_chat_stream import AsyncChatStream
from slack_sdk.web.async_client import AsyncWebClient

from bot.views.text import split_message

log = structlog.get_logger(__name__)

MESSAGE_LIMIT = 11_000
"""Characters kept in the first message (markdown blocks take 12,000)."""
_SlackFailure = (
    SlackApiError,
    SlackRequestError,
    OSError,
    asyncio.TimeoutError,
    aiohttp.ClientError,
)


class AnswerStream:
    """One streamed reply in a thread (see the module docstring for the contract)."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        thread_ts: str,
        team_id: str | None,
        user_id: str | None,
        max_age_s: float = 270.0,
        buffer_size: int = 64,
    ) -> None:
        self.client = client
        self.channel = channel
        self.thread_ts = thread_ts
        self.max_age_s = max_age_s
        self._stream: AsyncChatStream | None = None
        self._stream_args: dict[str, Any] = {
            "channel": channel,
            "thread_ts": thread_ts,
            "recipient_team_id": team_id,
            "recipient_user_id": user_id,
            "buffer_size": buffer_size,
        }
        self._queue: asyncio.Queue[str | dict[str, Any] | None] = asyncio.Queue()
        self._streamed = ""
        self._started_at: float | None = None
        self.broken: str | None = None
        """Why streaming stopped early (``None`` while healthy)."""
        self.first_text_at: float | None = None
        self._pump = asyncio.create_task(self._run(), name=f"stream {channel}/{thread_ts}")

    @property
    def ts(self) -> str | None:
        """The reply's message ts, once Slack created it."""
        return self._stream.ts if self._stream is not None else None

    def feed(self, token: str) -> None:
        """Queue released text for streaming (safe to call from the turn's ``on_text``
        callback)."""
        if token:
            self._queue.put_nowait(token)

    def feed_task(self, chunk: dict[str, Any]) -> None:
        """Queue a planning model's ``plan_update`` or ``task_update`` chunk (``{"type", ...}``):
        the plan shows above the answer while it runs."""
        self._queue.put_nowait(dict(chunk))

    async def _take(self) -> tuple[list[str | dict[str, Any]], bool]:
        """Everything queued so far, in order, with neighbouring text joined (tokens that piled
        up while a Slack call was waiting go out together), and whether the end marker was
        reached."""
        parts = [await self._queue.get()]
        while not self._queue.empty():
            parts.append(self._queue.get_nowait())
        ended = None in parts
        if ended:
            parts = parts[: parts.index(None)]
        items: list[str | dict[str, Any]] = []
        for part in parts:
            if isinstance(part, str) and items and isinstance(items[-1], str):
                items[-1] += part
            elif part:
                items.append(part)
        return items, ended

    async def _run(self) -> None:
        ended = False
        while not ended:
            items, ended = await self._take()
            for item in items:
                if isinstance(item, dict):
                    await self._send_chunk(item)
                else:
                    await self._send_text(item)

    async def _send_chunk(self, chunk: dict[str, Any]) -> None:
        if self.broken is not None:
            return
        try:
            if self._stream is None:
                self._stream = await self.client.chat_stream(**self._stream_args)
            await self._stream.append(chunks=[chunk])
        except _SlackFailure as exc:
            self._mark_broken(exc)
            return
        if self._started_at is None:
            self._started_at = time.monotonic()

    async def _send_text(self, token: str) -> None:
        if not token or self.broken is not None:
            return
        if self._started_at and time.monotonic() - self._started_at > self.max_age_s:
            self.broken = "stream_too_old"
            return
        if len(self._streamed) + len(token) > MESSAGE_LIMIT:
            self.broken = "message_limit"
            return
        try:
            first = self._stream is None
            if self._stream is None:
                self._stream = await self.client.chat_stream(**self._stream_args)
            # The first piece starts the message at once; later ones are buffered.
            response = await self._stream.append(markdown_text=token, chunks=[] if first else None)
        except _SlackFailure as exc:
            self._mark_broken(exc)
            return
        self._streamed += token
        if response is not None and self._started_at is None:
            self._started_at = time.monotonic()
            self.first_text_at = time.time()

    def _mark_broken(self, exc: BaseException) -> None:
        error = exc.response.get("error") if isinstance(exc, SlackApiError) else None
        self.broken = str(error or type(exc).__name__)
        log.warning("answer stream broke; will finish with chat.update", reason=self.broken)

    async def finish(self, text: str, closing_blocks: Sequence[dict[str, Any]]) -> str:
        """Write the final ``text`` and the ``closing_blocks`` (sources, feedback) under it;
        return the ts of the reply's first message."""
        self._queue.put_nowait(None)
        await self._pump
        first, *rest = split_message(text, MESSAGE_LIMIT) or [""]
        ts = await self._finish_first(first, [] if rest else list(closing_blocks))
        for n, part in enumerate(rest, start=1):
            closing = list(closing_blocks) if n == len(rest) else []
            await self.client.chat_postMessage(
                channel=self.channel,
                thread_ts=self.thread_ts,
                text=part,
                blocks=message_blocks(part, closing),
            )
        return ts

    async def _finish_first(self, text: str, closing: list[dict[str, Any]]) -> str:
        in_time = self._started_at is None or time.monotonic() - self._started_at <= self.max_age_s
        if self.broken is None and in_time and text.startswith(self._streamed):
            try:
                if self._stream is None:
                    self._stream = await self.client.chat_stream(**self._stream_args)
                await self._stream.stop(
                    markdown_text=text[len(self._streamed) :], blocks=closing or None
                )
                if self.first_text_at is None:
                    self.first_text_at = time.time()
                return str(self._stream.ts)
            except _SlackFailure as exc:
                self._mark_broken(exc)
        elif self.broken is None:
            self.broken = "stream_too_old" if not in_time else "text_changed_by_guard"
        return await self._fallback(text, closing)

    async def _fallback(self, text: str, closing: list[dict[str, Any]]) -> str:
        blocks = message_blocks(text, closing)
        if self._stream is not None and self.ts is not None:
            await _quietly(self._stream.stop())  # may already be expired; that is fine
            await self.client.chat_update(
                channel=self.channel, ts=self.ts, text=text, blocks=blocks
            )
            return self.ts
        response = await self.client.chat_postMessage(
            channel=self.channel, thread_ts=self.thread_ts, text=text, blocks=blocks
        )
        if self.first_text_at is None:
            self.first_text_at = time.time()
        return str(response["ts"])

    async def fail(self, text: str) -> None:
        """The turn failed: stop streaming and replace whatever was streamed (a checked but
        partial answer) with ``text``, or post ``text`` if nothing was."""
        self._queue.put_nowait(None)
        await _quietly(self._pump)
        await self._fallback(text, [])


def message_blocks(text: str, closing: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A complete answer message: the text as a markdown block, then the closing blocks."""
    return [{"type": "markdown", "text": text or " "}, *closing]


async def _quietly(awaitable: Any) -> None:
    try:
        await awaitable
    except _SlackFailure as exc:
        log.info("ignored Slack error while closing a stream", error=str(exc))
