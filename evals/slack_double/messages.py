"""The Slack double's message store: posted, streamed and test-seeded messages per channel."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

StreamState = Literal["streaming", "stopped", "expired"]


@dataclass
class Stream:
    """Streaming state of one message started with ``chat.startStream``."""

    state: StreamState = "streaming"
    appends: int = 0
    chunks: list[dict[str, Any]] = field(default_factory=list)
    """Every chunk received (start, appends, stop), markdown or not, in order."""


def ts_micros(ts: str) -> int:
    """``"1700000000.000100"`` -> microseconds since the epoch (the sort key of messages)."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds) * 1_000_000 + int((fraction or "0").ljust(6, "0")[:6])


class MessageStore:
    """Messages keyed by channel and ts, plus the streaming state of streamed ones.

    Stored messages have the shape Slack's API returns (``type``, ``user``, ``text``, ``ts``,
    optional ``thread_ts``, ``blocks``, ``bot_id`` ...). Generated ts values are unique and always
    later than every ts seen so far, seeded ones included, so replies sort after their parent.
    """

    def __init__(self, ts_base: int = 1_700_000_000) -> None:
        self._last_micros = ts_base * 1_000_000
        self._messages: dict[str, dict[str, dict[str, Any]]] = {}
        self._streams: dict[tuple[str, str], Stream] = {}
        self.expire_after_appends: int | None = None
        """When set, a stream expires once its ``chat.appendStream`` count reaches this."""

    def next_ts(self) -> str:
        """A fresh Slack-format ts, later than any seen before (steps of 100 µs)."""
        self._last_micros += 100
        seconds, micros = divmod(self._last_micros, 1_000_000)
        return f"{seconds}.{micros:06d}"

    def add(self, channel: str, message: dict[str, Any]) -> dict[str, Any]:
        """Store ``message`` (which has a ``ts``) in ``channel``; returns the stored dict."""
        ts = str(message["ts"])
        self._last_micros = max(self._last_micros, ts_micros(ts))
        self._messages.setdefault(channel, {})[ts] = message
        return message

    def get(self, channel: str, ts: str) -> dict[str, Any] | None:
        """The stored (live) message, or None."""
        return self._messages.get(channel, {}).get(ts)

    def delete(self, channel: str, ts: str) -> bool:
        """Remove a message; False when there was none."""
        self._streams.pop((channel, ts), None)
        return self._messages.get(channel, {}).pop(ts, None) is not None

    def has_channel(self, channel: str) -> bool:
        """Whether any message was ever stored in ``channel``."""
        return channel in self._messages

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Copies of the parent (if stored) and its replies, oldest first."""
        found = [
            m
            for ts, m in self._messages.get(channel, {}).items()
            if ts == thread_ts or m.get("thread_ts") == thread_ts
        ]
        return [copy.deepcopy(m) for m in sorted(found, key=lambda m: ts_micros(m["ts"]))]

    def start_stream(self, channel: str, message: dict[str, Any]) -> Stream:
        """Store a streamed message and begin tracking its stream state."""
        self.add(channel, message)
        stream = Stream()
        self._streams[(channel, message["ts"])] = stream
        if self.expire_after_appends == 0:
            stream.state = "expired"
        return stream

    def stream(self, channel: str, ts: str) -> Stream | None:
        """Stream state of a streamed message, or None for an ordinary one."""
        return self._streams.get((channel, ts))

    def count_append(self, stream: Stream) -> None:
        """Count one successful append; expire the stream when the threshold is reached."""
        stream.appends += 1
        limit = self.expire_after_appends
        if limit is not None and stream.appends >= limit:
            stream.state = "expired"

    def expire(self, channel: str, ts: str) -> None:
        """Mark a stream expired (a stream not started yet is created expired)."""
        self._streams.setdefault((channel, ts), Stream()).state = "expired"

    def snapshot(self, channel: str, ts: str) -> dict[str, Any] | None:
        """A copy of the message with ``text``, ``blocks``, ``thread_ts``, ``streaming`` keys.

        Streamed messages also carry ``stream_state`` and ``chunks``.
        """
        message = self.get(channel, ts)
        if message is None:
            return None
        view = copy.deepcopy(message)
        for key in ("text", "blocks", "thread_ts"):
            view.setdefault(key, None)
        stream = self.stream(channel, ts)
        view["streaming"] = stream is not None and stream.state == "streaming"
        if stream is not None:
            view["stream_state"] = stream.state
            view["chunks"] = copy.deepcopy(stream.chunks)
        return view

    def clear(self) -> None:
        """Forget every message and stream (the ts clock keeps running)."""
        self._messages.clear()
        self._streams.clear()
