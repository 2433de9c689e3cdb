"""Conversation memory: LangGraph's shallow Redis checkpointer, keyed by conversation id.

A conversation id names one thread of talk: a terminal session now, a Slack thread later. The
shallow saver keeps only the latest checkpoint of each conversation, so storage grows with the
(trimmed) conversation, not with every step of every turn, and the raw input a turn starts with
is overwritten once the input guard has replaced it by the redacted text.
"""

from __future__ import annotations

from langgraph.checkpoint.redis.ashallow import AsyncShallowRedisSaver


async def open_memory(redis_url: str, ttl_minutes: int) -> AsyncShallowRedisSaver:
    """A ready checkpointer; conversations expire ``ttl_minutes`` after their last use."""
    saver = AsyncShallowRedisSaver(
        redis_url=redis_url,
        ttl={"default_ttl": ttl_minutes, "refresh_on_read": True},
    )
    await saver.asetup()
    return saver


async def close_memory(saver: AsyncShallowRedisSaver) -> None:
    """Close the checkpointer's connections."""
    await saver.__aexit__(None, None, None)
