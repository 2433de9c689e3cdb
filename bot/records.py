"""What the Slack surface remembers between requests, in Redis (shared by replicas).

Keys (all with a TTL):
- ``slack:joined:{team}:{channel}:{thread_ts}`` → the user the assistant is talking with in that
  thread (follow-ups from them need no mention);
- ``slack:why:{trace_id}`` → the content-free explanation behind "Why this answer?";
- ``slack:share:{trace_id}`` → an ephemeral answer waiting for "Share in channel" (redacted:
  it is posted for everyone), and ``slack:sharing:{trace_id}`` while one click posts it;
- ``slack:last:{team}:{user}`` → trace id of the user's latest answer (target of
  ``/assistant feedback``);
- ``slack:case:{trace_id}`` → the redacted question, answer and sources of an answer, kept a
  week so a 👎 with a reason can become a regression case;
- ``slack:fresh:{trace_id}`` → the request behind a cached answer (its question as the input
  guard passed it), kept a day so "Fresh answer" can ask it again without the cache;
- ``eval:regressions`` (a list, no TTL, newest 10,000 kept) → those cases, waiting for review
  (``assistant eval regressions --out FILE``).
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis

WEEK_S = 7 * 24 * 3600
DAY_S = 24 * 3600
REGRESSIONS_KEY = "eval:regressions"
MAX_REGRESSIONS = 10_000
SHARE_CLAIM_S = 120
"""How long one click owns a share while posting it (longer than the client's 429 retries)."""


class SlackRecords:
    """Small typed accessors over the keys in the module docstring."""

    def __init__(self, redis: Redis, prefix: str = "slack") -> None:
        self.redis = redis
        self.prefix = prefix

    async def join_thread(self, thread_key: str, user: str) -> None:
        await self.redis.set(f"{self.prefix}:joined:{thread_key}", user, ex=WEEK_S)

    async def thread_partner(self, thread_key: str) -> str | None:
        """The user the assistant talks with in this thread, or ``None`` if it never answered."""
        value = await self.redis.get(f"{self.prefix}:joined:{thread_key}")
        return _text(value)

    async def save_explanation(self, trace_id: str, explanation: dict[str, Any]) -> None:
        await self.redis.set(f"{self.prefix}:why:{trace_id}", json.dumps(explanation), ex=WEEK_S)

    async def explanation(self, trace_id: str) -> dict[str, Any] | None:
        return _json(await self.redis.get(f"{self.prefix}:why:{trace_id}"))

    async def save_share(self, trace_id: str, share: dict[str, Any]) -> None:
        await self.redis.set(f"{self.prefix}:share:{trace_id}", json.dumps(share), ex=DAY_S)

    async def claim_share(self, trace_id: str) -> dict[str, Any] | None:
        """The pending share, claimed for one poster (a double click gets ``None``). It stays
        stored until ``drop_share`` (posted) or is released by ``release_share`` (failed), so a
        failed post never loses it; a claim left by a crash expires after ``SHARE_CLAIM_S``."""
        claimed = await self.redis.set(
            f"{self.prefix}:sharing:{trace_id}", 1, nx=True, ex=SHARE_CLAIM_S
        )
        if not claimed:
            return None
        share = _json(await self.redis.get(f"{self.prefix}:share:{trace_id}"))
        if share is None:
            await self.release_share(trace_id)
        return share

    async def share_pending(self, trace_id: str) -> bool:
        """Whether a share is still stored (for example, claimed by a click now posting it)."""
        return bool(await self.redis.exists(f"{self.prefix}:share:{trace_id}"))

    async def drop_share(self, trace_id: str) -> None:
        """The share was posted: remove it (and its claim)."""
        await self.redis.delete(
            f"{self.prefix}:share:{trace_id}", f"{self.prefix}:sharing:{trace_id}"
        )

    async def release_share(self, trace_id: str) -> None:
        """Posting failed: keep the share and let the next click try again."""
        await self.redis.delete(f"{self.prefix}:sharing:{trace_id}")

    async def save_case(self, trace_id: str, case: dict[str, Any]) -> None:
        await self.redis.set(f"{self.prefix}:case:{trace_id}", json.dumps(case), ex=WEEK_S)

    async def case(self, trace_id: str) -> dict[str, Any] | None:
        return _json(await self.redis.get(f"{self.prefix}:case:{trace_id}"))

    async def save_fresh(self, trace_id: str, request_json: str) -> None:
        await self.redis.set(f"{self.prefix}:fresh:{trace_id}", request_json, ex=DAY_S)

    async def fresh_request(self, trace_id: str) -> str | None:
        """The request (``TurnRequest`` JSON) behind cached answer ``trace_id``, or ``None``
        once it expired."""
        return _text(await self.redis.get(f"{self.prefix}:fresh:{trace_id}"))

    async def add_regression(self, row: dict[str, Any]) -> None:
        """Queue a regression case for review (the newest ``MAX_REGRESSIONS`` are kept)."""
        await self.redis.rpush(REGRESSIONS_KEY, json.dumps(row))
        await self.redis.ltrim(REGRESSIONS_KEY, -MAX_REGRESSIONS, -1)

    async def set_last_trace(self, team: str, user: str, trace_id: str) -> None:
        await self.redis.set(f"{self.prefix}:last:{team}:{user}", trace_id, ex=WEEK_S)

    async def last_trace(self, team: str, user: str) -> str | None:
        return _text(await self.redis.get(f"{self.prefix}:last:{team}:{user}"))


def as_text(value: Any) -> str:
    """A Redis reply (bytes or str) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _text(value: Any) -> str | None:
    return None if value is None else as_text(value)


def _json(value: Any) -> dict[str, Any] | None:
    text = _text(value)
    if text is None:
        return None
    try:
        loaded = json.loads(text)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None
