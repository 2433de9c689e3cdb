"""Slack delivery rules in one place: dedupe, per-thread order, a bounded pool, rate limits.

Contracts (all state in Redis, so any number of replicas can share the work):

- ``claim_event(event_id)``: ``SET slack:evt:{id} 1 NX EX 3600`` before any work. The first
  delivery that arrives wins, whichever attempt it is; later copies are dropped.
- ``submit(request)``: the request is appended to its thread's queue
  (``slack:turnq:{team}:{channel}:{thread}``) and a drain task is started. A drain task takes a
  slot of the worker pool, then the thread's lock (``slack:turnlock:…``, token-checked, kept alive
  while a turn runs); the lock holder answers queued requests one at a time, oldest first, until
  the queue is empty. A drain task that does not get the lock exits: the holder (in this process
  or another replica) answers its request. Every request is popped exactly once (``LPOP``), so a
  message sent while a turn runs waits, is not lost and is not answered twice.
- Overload: when ``max_pending`` drain tasks are already alive, ``submit`` returns ``False`` and
  the caller replies "busy" at once.
- ``rate_limit``: fixed one-minute windows per user and per channel (``INCR`` + ``EXPIRE``).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

import structlog
from redis.asyncio import Redis
from redis.exceptions import LockError, RedisError

log = structlog.get_logger(__name__)

DEDUPE_TTL_S = 3600
QUEUE_TTL_S = 24 * 3600
Delivery = Literal["thread", "ephemeral"]


@dataclass(kw_only=True)
class TurnRequest:
    """One message to answer; JSON-serialisable so any replica can answer it."""

    team_id: str
    channel: str
    user: str
    text: str
    thread_ts: str
    """Where the answer goes (the thread's root ts; a new top-level message's own ts)."""
    message_ts: str = ""
    delivery: Delivery = "thread"
    response_url: str | None = None
    """For ephemeral answers (slash commands, shortcuts)."""
    source: str = "message"
    """What produced it: ``app_mention``, ``message``, ``dm``, ``command``, ``shortcut``."""
    event_id: str | None = None
    received_at: float = field(default_factory=time.time)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def thread_key(self) -> str:
        return f"{self.team_id}:{self.channel}:{self.thread_ts}"

    @property
    def conversation_id(self) -> str:
        """Memory key: one conversation per Slack thread (per user for ephemeral answers)."""
        if self.delivery == "ephemeral":
            return f"slack:{self.team_id}:{self.channel}:{self.user}:ephemeral"
        return f"slack:{self.thread_key}"

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str | bytes) -> TurnRequest:
        return cls(**json.loads(raw))


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    retry_after_s: int = 0
    scope: str = ""
    limit: int = 0


TurnHandler = Callable[[TurnRequest], Awaitable[None]]


class TurnScheduler:
    """Runs ``handler`` for each submitted request under the rules in the module docstring."""

    def __init__(
        self,
        redis: Redis,
        handler: TurnHandler,
        *,
        workers: int = 4,
        max_pending: int = 64,
        lock_ttl_s: float = 60.0,
        prefix: str = "slack",
    ) -> None:
        self.redis = redis
        self.handler = handler
        self.max_pending = max_pending
        self.lock_ttl_s = lock_ttl_s
        self.prefix = prefix
        self._slots = asyncio.Semaphore(workers)
        self._tasks: set[asyncio.Task[None]] = set()
        self.turns_run = 0

    @property
    def pending(self) -> int:
        """Drain tasks alive in this process (waiting for a slot, or answering)."""
        return len(self._tasks)

    async def claim_event(self, event_id: str) -> bool:
        """True for the first delivery of ``event_id``; False for every later copy."""
        key = f"{self.prefix}:evt:{event_id}"
        return bool(await self.redis.set(key, "1", nx=True, ex=DEDUPE_TTL_S))

    async def release_event(self, event_id: str) -> None:
        """Forget a claim whose work could not be queued, so Slack's retry is answered."""
        await self.redis.delete(f"{self.prefix}:evt:{event_id}")

    async def rate_limit(self, scope: str, ident: str, per_minute: int) -> RateDecision:
        """Count one request against ``scope``/``ident``; refuse above ``per_minute``."""
        window = int(time.time() // 60)
        key = f"{self.prefix}:rate:{scope}:{ident}:{window}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        if int(count) <= per_minute:
            return RateDecision(True, scope=scope, limit=per_minute)
        retry_after = max(1, 60 - int(time.time()) % 60)
        return RateDecision(False, retry_after, scope, per_minute)

    async def submit(self, request: TurnRequest) -> bool:
        """Queue ``request`` for its thread; False (nothing queued) when this process is full."""
        if self.pending >= self.max_pending:
            return False
        queue = f"{self.prefix}:turnq:{request.thread_key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(queue, request.to_json())
            pipe.expire(queue, QUEUE_TTL_S)
            await pipe.execute()
        task = asyncio.create_task(self._drain(request.thread_key), name=f"turns {queue}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _drain(self, thread_key: str) -> None:
        queue = f"{self.prefix}:turnq:{thread_key}"
        lock = self.redis.lock(
            f"{self.prefix}:turnlock:{thread_key}", timeout=self.lock_ttl_s, blocking=False
        )
        try:
            async with self._slots:
                while await lock.acquire():
                    try:
                        while (raw := await self.redis.lpop(queue)) is not None:
                            await self._run_one(lock, cast("str | bytes", raw))
                    finally:
                        await _release(lock)
                    if not await self.redis.llen(queue):
                        return  # anything pushed after this is drained by its own task
        except RedisError as exc:
            log.error("turn queue failed", error=str(exc), thread=thread_key)

    async def _run_one(self, lock: Any, raw: str | bytes) -> None:
        try:
            request = TurnRequest.from_json(raw)
        except (ValueError, TypeError) as exc:
            log.error("dropping unreadable queued turn", error=str(exc))
            return
        keep_alive = asyncio.create_task(self._keep_lock(lock))
        try:
            await self.handler(request)
        except Exception:
            log.exception("turn handler failed", request_id=request.request_id)
        finally:
            keep_alive.cancel()
            self.turns_run += 1

    async def _keep_lock(self, lock: Any) -> None:
        """Extend the thread lock while a (possibly long) turn runs."""
        while True:
            await asyncio.sleep(self.lock_ttl_s / 3)
            try:
                await lock.reacquire()
            except (LockError, RedisError) as exc:
                log.warning("could not extend thread lock", error=str(exc))
                return

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every turn accepted by this process has finished."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    async def aclose(self, timeout: float = 30.0) -> None:
        """Let running turns finish (up to ``timeout``), then cancel the rest."""
        await self.drain(timeout)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def _release(lock: Any) -> None:
    try:
        await lock.release()
    except LockError:
        log.warning("thread lock had expired before release")
