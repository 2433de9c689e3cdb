"""The delivery rules of ``TurnScheduler`` against a real Redis: dedupe, per-thread order, replicas
sharing one Redis, overload and rate limits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from bot.turns import TurnRequest, TurnScheduler


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


def request(text: str, thread: str = "1700000000.000100", user: str = "U1") -> TurnRequest:
    return TurnRequest(team_id="T1", channel="C1", user=user, text=text, thread_ts=thread)


def scheduler(redis: Redis, handler, prefix: str, **kwargs) -> TurnScheduler:  # type: ignore[no-untyped-def]
    return TurnScheduler(redis, handler, prefix=prefix, **kwargs)


async def test_an_event_is_claimed_once_across_replicas(redis: Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    first, second = scheduler(redis, None, prefix), scheduler(redis, None, prefix)
    results = await asyncio.gather(*(s.claim_event("Ev1") for s in (first, second) * 5))
    assert sorted(results) == ["new"] + ["pending"] * 9
    await first.confirm_event("Ev1")
    assert await second.claim_event("Ev1") == "done"
    assert await first.claim_event("Ev2") == "new"  # a different event is new
    await first.release_event("Ev2")  # its queueing failed: the retry may claim it again
    assert await second.claim_event("Ev2") == "new"


async def test_messages_in_one_thread_run_one_at_a_time_in_order(redis: Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    running = 0
    overlap = False
    seen: list[str] = []

    async def handler(req: TurnRequest) -> None:
        nonlocal running, overlap
        running += 1
        overlap = overlap or running > 1
        await asyncio.sleep(0.05)
        seen.append(req.text)
        running -= 1

    turns = scheduler(redis, handler, prefix, workers=4)
    for n in range(6):
        assert await turns.submit(request(f"m{n}"))
    await turns.drain(timeout=10)
    assert seen == [f"m{n}" for n in range(6)]
    assert not overlap


async def test_two_replicas_answer_each_message_exactly_once(redis: Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    answered: list[tuple[str, str]] = []

    def make(name: str):  # type: ignore[no-untyped-def]
        async def handler(req: TurnRequest) -> None:
            await asyncio.sleep(0.01)
            answered.append((name, req.text))

        return scheduler(redis, handler, prefix, workers=2)

    a, b = make("a"), make("b")
    submitted = []
    for n in range(20):
        thread = f"17000000{n % 3}.000100"
        replica = a if n % 2 else b
        assert await replica.submit(request(f"m{n}", thread=thread))
        submitted.append(f"m{n}")
    await asyncio.gather(a.drain(10), b.drain(10))
    texts = [text for _, text in answered]
    assert sorted(texts) == sorted(submitted)  # none lost, none twice
    for t in range(3):  # per thread, in submission order
        in_thread = [x for x in texts if int(x[1:]) % 3 == t]
        assert in_thread == sorted(in_thread, key=lambda x: int(x[1:]))


async def test_a_full_process_refuses_instead_of_queueing_forever(redis: Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    release = asyncio.Event()

    async def handler(req: TurnRequest) -> None:
        await release.wait()

    turns = scheduler(redis, handler, prefix, workers=1, max_pending=2)
    assert await turns.submit(request("a", thread="1.1"))
    assert await turns.submit(request("b", thread="2.2"))
    assert not await turns.submit(request("c", thread="3.3"))
    assert await redis.llen(f"{prefix}:turnq:T1:C1:3.3") == 0  # nothing queued for the refusal
    release.set()
    await turns.drain(5)
    assert turns.pending == 0
    assert await turns.submit(request("d", thread="4.4"))
    await turns.drain(5)


async def test_a_failing_turn_does_not_block_its_thread(redis: Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    seen: list[str] = []

    async def handler(req: TurnRequest) -> None:
        seen.append(req.text)
        if req.text == "boom":
            raise RuntimeError("model exploded")

    turns = scheduler(redis, handler, prefix)
    await turns.submit(request("boom"))
    await turns.submit(request("after"))
    await turns.drain(5)
    assert seen == ["boom", "after"]
    assert not await redis.exists(f"{prefix}:turnlock:T1:C1:1700000000.000100")


async def test_rate_limit_counts_per_identity_and_says_when_to_retry(redis: Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    turns = scheduler(redis, None, prefix)
    decisions = [await turns.rate_limit("user", "U1", 3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 1 <= decisions[-1].retry_after_s <= 60
    assert (await turns.rate_limit("user", "U2", 3)).allowed  # someone else is not limited


def test_requests_survive_a_round_trip_through_json() -> None:
    original = request("hello")
    assert TurnRequest.from_json(original.to_json()) == original
    assert original.conversation_id == "slack:T1:C1:1700000000.000100"


async def test_a_turn_cut_off_by_shutdown_is_answered_by_another_replica(redis: Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    started = asyncio.Event()
    answered: list[tuple[str, str]] = []

    async def stuck(req: TurnRequest) -> None:
        started.set()
        await asyncio.sleep(3600)

    async def quick(req: TurnRequest) -> None:
        answered.append(("b", req.text))

    a = scheduler(redis, stuck, prefix)
    b = scheduler(redis, quick, prefix)
    await a.submit(request("first"))
    await a.submit(request("second"))
    await started.wait()
    await a.aclose(timeout=0.1)  # shutdown cancels the running turn, lock released
    assert await b.sweep(min_age_s=0) == 1
    await b.drain(5)
    assert answered == [("b", "first"), ("b", "second")], "cut-off turn first, nothing lost"
    assert not await redis.exists(f"{prefix}:turnrun:T1:C1:1700000000.000100")


async def test_the_sweeper_leaves_fresh_queues_and_held_threads_alone(redis: Redis) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    seen: list[str] = []

    async def handler(req: TurnRequest) -> None:
        seen.append(req.text)

    turns = scheduler(redis, handler, prefix)
    await redis.rpush(f"{prefix}:turnq:T1:C1:9.9", request("fresh", thread="9.9").to_json())
    assert await turns.sweep(min_age_s=60) == 0, "a just-queued turn belongs to its submitter"
    held = redis.lock(f"{prefix}:turnlock:T1:C1:9.9", timeout=5)
    assert await held.acquire(blocking=False)
    assert await turns.sweep(min_age_s=0) == 0, "a thread with a live holder is left to it"
    await held.release()
    assert await turns.sweep(min_age_s=0) == 1
    await turns.drain(5)
    assert seen == ["fresh"]
