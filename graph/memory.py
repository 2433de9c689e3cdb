"""Conversation memory: LangGraph's shallow Redis checkpointer, keyed by conversation id.

A conversation id names one thread of talk: a Slack thread, a DM, a terminal session. The
shallow saver keeps only the latest checkpoint of each conversation, so storage grows with the
(trimmed) conversation, not with every step of every turn, and the raw input a turn starts with
is overwritten once the input guard has replaced it by the redacted text. The saver splits its
keys on ``:``, so ``memory_thread`` encodes it away. One turn of a conversation runs at a time,
in any process: ``conversation_lock`` holds a Redis lock while it runs (a second message waits;
in Slack the thread queue already orders them).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import structlog
from langgraph.checkpoint.redis.ashallow import AsyncShallowRedisSaver
from redis.asyncio import Redis
from redis.exceptions import LockError, LockNotOwnedError, RedisError

from observe.errors import ServiceError

log = structlog.get_logger(__name__)

LOCK_TTL_S = 30.0
"""A lock left by a crashed process frees itself after this long; a live turn extends it."""
LOCK_WAIT_S = 600.0
"""How long a turn waits for the conversation's previous turn to finish."""


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


def memory_thread(conversation_id: str) -> str:
    """The checkpointer's thread id of a conversation: ``%`` and ``:`` percent-encoded, so two
    conversation ids never share a thread."""
    return conversation_id.replace("%", "%25").replace(":", "%3A")


@contextlib.asynccontextmanager
async def conversation_lock(redis: Redis, thread: str) -> AsyncIterator[None]:
    """Hold the conversation's lock while the body runs (extended every ``LOCK_TTL_S / 3``);
    a turn that cannot get it within ``LOCK_WAIT_S`` is a ``ServiceError``."""
    lock = redis.lock(
        f"memory:lock:{thread}", timeout=LOCK_TTL_S, blocking_timeout=LOCK_WAIT_S, sleep=0.02
    )
    try:
        acquired = await lock.acquire()
    except RedisError as exc:
        raise ServiceError(
            f"Redis failed while taking the conversation's lock: {exc}",
            hint="run `assistant doctor`",
        ) from None
    if not acquired:
        raise ServiceError(
            "another answer in this conversation is still being written",
            hint="wait for it, then ask again",
        )
    keep_alive = asyncio.create_task(_extend(lock))
    try:
        yield
    finally:
        keep_alive.cancel()
        with contextlib.suppress(LockError, RedisError):
            await lock.release()


async def _extend(lock: object) -> None:
    """Extend the lock until cancelled; a lock found taken by someone else (this process
    stalled past its TTL) is reported once and no longer extended: the turn finishes, and the
    other holder's turn runs beside it."""
    while True:
        await asyncio.sleep(LOCK_TTL_S / 3)
        try:
            await lock.reacquire()  # type: ignore[attr-defined]
        except LockNotOwnedError:
            log.error("conversation lock lost during a turn; another turn may run beside it")
            return
        except (LockError, RedisError) as exc:
            log.warning("could not extend the conversation lock", error=type(exc).__name__)
