"""Slack delivery rules in one place: dedupe, per-thread order, a bounded pool, rate limits.

Contracts (all state in Redis, so any number of replicas can share the work):

- ``claim_event(event_id)``: ``SET slack:evt:{id} pending NX`` before any work; once the turn is
  queued, ``confirm_event`` makes it ``done`` for an hour. The first delivery that arrives wins,
  whichever attempt it is; copies of a ``done`` event are dropped, while a copy arriving during
  ``pending`` is refused (so Slack retries later) because the first attempt may still fail.
- ``submit(request)``: the request is appended to its thread's queue
  (``slack:turnq:{team}:{channel}:{thread}``) and a drain task is started. A drain task takes a
  slot of the worker pool, then the thread's lock (``slack:turnlock:…``, token-checked, kept alive
  while a turn runs); while it still owns the lock, the holder moves the oldest request to the
  thread's running list (``slack:turnrun:…``, ``LMOVE``), answers it, and removes it. A drain task
  that does not get the lock exits: the holder (in this process or another replica) answers its
  request. So a message sent while a turn runs waits, and is answered once.
- Crashes: a turn interrupted mid-run stays in the running list and is answered again (first) by
  the next holder of that thread's lock; ``sweep`` (at start and every 30 s) picks up threads with
  queued or interrupted turns and no lock holder. A crash can therefore repeat an answer that was
  already posted, never drop one.
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

from bot.records import as_text

log = structlog.get_logger(__name__)

DEDUPE_TTL_S = 3600
PENDING_TTL_S = 30
"""A claim not confirmed within this (the first delivery died) lets a retry through."""
QUEUE_TTL_S = 24 * 3600
Delivery = Literal["thread", "ephemeral"]
Claim = Literal["new", "pending", "done"]
_PRIVATE_THREAD = "ephemeral-"


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
    enterprise_id: str | None = None
    """The Enterprise Grid org the workspace belongs to (``None`` outside Grid)."""
    enterprise_install: bool = False
    """Installed for the whole org: the installation is looked up by ``enterprise_id`` alone."""
    received_at: float = field(default_factory=time.time)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    fresh: bool = False
    """Answer without the semantic cache (the asker pressed "Fresh answer")."""

    @classmethod
    def private(
        cls,
        *,
        team_id: str,
        channel: str,
        user: str,
        text: str,
        response_url: str | None,
        source: str,
        enterprise_id: str | None = None,
        enterprise_install: bool = False,
    ) -> TurnRequest:
        """A turn answered only to ``user`` (slash command, shortcut): one queue per user."""
        return cls(
            team_id=team_id,
            channel=channel,
            user=user,
            text=text,
            thread_ts=f"{_PRIVATE_THREAD}{user}",
            delivery="ephemeral",
            response_url=response_url,
            source=source,
            enterprise_id=enterprise_id,
            enterprise_install=enterprise_install,
        )

    @property
    def in_thread(self) -> bool:
        """Whether ``thread_ts`` is a real Slack thread (private turns have none)."""
        return not self.thread_ts.startswith(_PRIVATE_THREAD)

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

    async def claim_event(self, event_id: str) -> Claim:
        """``new`` for the first delivery of ``event_id`` (now claimed as pending); ``pending``
        while that delivery is still being queued; ``done`` once it was queued or answered."""
        key = f"{self.prefix}:evt:{event_id}"
        if await self.redis.set(key, "pending", nx=True, ex=PENDING_TTL_S):
            return "new"
        value = await self.redis.get(key)
        if value is None:  # the pending claim just expired: claim it now
            return (
                "new"
                if await self.redis.set(key, "pending", nx=True, ex=PENDING_TTL_S)
                else "pending"
            )
        return "pending" if as_text(value) == "pending" else "done"

    async def confirm_event(self, event_id: str) -> None:
        """Mark a claimed event as queued (or deliberately answered): copies are duplicates."""
        await self.redis.set(f"{self.prefix}:evt:{event_id}", "done", ex=DEDUPE_TTL_S)

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
        self._start_drain(request.thread_key)
        return True

    def _start_drain(self, thread_key: str) -> None:
        task = asyncio.create_task(self._drain(thread_key), name=f"turns {thread_key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain(self, thread_key: str) -> None:
        queue = f"{self.prefix}:turnq:{thread_key}"
        running = f"{self.prefix}:turnrun:{thread_key}"
        lock = self.redis.lock(
            f"{self.prefix}:turnlock:{thread_key}", timeout=self.lock_ttl_s, blocking=False
        )
        try:
            async with self._slots:
                while await lock.acquire():
                    try:
                        # A holder that died mid-turn left its turn in `running`: it goes first.
                        while await self.redis.lmove(running, queue, "RIGHT", "LEFT"):
                            log.warning("re-running a turn left by a stopped holder")
                        while await lock.owned():
                            raw = await self.redis.lmove(queue, running, "LEFT", "RIGHT")
                            if raw is None:
                                break
                            await self._run_one(lock, cast("str | bytes", raw))
                            await self.redis.lrem(running, 1, cast(str, raw))
                    finally:
                        await _release(lock)
                    if not await self.redis.llen(queue):
                        return  # anything pushed after this is drained by its own task
        except RedisError as exc:
            log.error("turn queue failed", error=str(exc), thread=thread_key)

    async def sweep(self, min_age_s: float = 10.0) -> int:
        """Start draining threads nobody holds the lock of that have an interrupted turn, or a
        queued one older than ``min_age_s`` (left by a stopped replica); returns how many."""
        found: set[str] = set()
        for kind in ("turnq", "turnrun"):
            async for key in self.redis.scan_iter(match=f"{self.prefix}:{kind}:*", count=500):
                found.add(as_text(key).split(":", 2)[2])
        started = 0
        for thread_key in sorted(found):
            if await self.redis.exists(f"{self.prefix}:turnlock:{thread_key}"):
                continue
            interrupted = await self.redis.llen(f"{self.prefix}:turnrun:{thread_key}")
            oldest = await self.redis.lindex(f"{self.prefix}:turnq:{thread_key}", 0)
            if interrupted or (oldest is not None and _age_s(oldest) >= min_age_s):
                self._start_drain(thread_key)
                started += 1
        return started

    async def run_sweeper(self, interval_s: float = 30.0) -> None:
        """``sweep`` now and then every ``interval_s`` until cancelled."""
        while True:
            try:
                if picked := await self.sweep():
                    log.info("picked up queued turns", threads=picked)
            except RedisError as exc:
                log.warning("turn sweep failed", error=str(exc))
            await asyncio.sleep(interval_s)

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
        """Extend the thread lock while a (possibly long) turn runs; a failed extension is
        retried until the lock is really gone."""
        while True:
            await asyncio.sleep(self.lock_ttl_s / 4)
            try:
                await lock.reacquire()
            except LockError:
                log.error("thread lock lost during a turn; the next turn waits for its holder")
                return
            except RedisError as exc:
                log.warning("could not extend thread lock; retrying", error=str(exc))

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


def _age_s(raw: Any) -> float:
    """Seconds since a queued request was received (unreadable ones count as old)."""
    try:
        return time.time() - TurnRequest.from_json(raw).received_at
    except (ValueError, TypeError):
        return float("inf")


async def _release(lock: Any) -> None:
    try:
        await lock.release()
    except LockError:
        log.warning("thread lock had expired before release")
