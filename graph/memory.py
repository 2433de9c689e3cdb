"""Conversation memory: LangGraph's ``AsyncRedisSaver`` checkpointer, keyed by conversation id.

A conversation id names one thread of talk: a terminal session now, a Slack thread later. The saver
parses ``:`` inside keys, so ids are built from parts joined by ``/`` and any ``:`` is replaced.
"""

from __future__ import annotations

from langgraph.checkpoint.redis.aio import AsyncRedisSaver


def conversation_id(*parts: str) -> str:
    """A checkpointer-safe id from its parts, e.g. ``("T1", "C2", "1712.5")`` → ``T1/C2/1712.5``."""
    cleaned = [p.strip().replace(":", "_") for p in parts if p and p.strip()]
    if not cleaned:
        raise ValueError("a conversation id needs at least one non-empty part")
    return "/".join(cleaned)


async def open_memory(redis_url: str, ttl_minutes: int) -> AsyncRedisSaver:
    """A ready checkpointer; conversations expire ``ttl_minutes`` after their last use."""
    saver = AsyncRedisSaver(
        redis_url=redis_url,
        ttl={"default_ttl": ttl_minutes, "refresh_on_read": True},
    )
    await saver.asetup()
    return saver


async def close_memory(saver: AsyncRedisSaver) -> None:
    """Close the checkpointer's connections."""
    await saver.__aexit__(None, None, None)
