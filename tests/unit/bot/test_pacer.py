"""The channel pacer shared through real Redis: two replicas together keep Slack's pace."""

from __future__ import annotations

import asyncio
import time
import uuid

from redis.asyncio import Redis

from bot.responder import ChannelPacer


async def test_two_replicas_space_one_channels_messages_between_them(redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    replicas = [ChannelPacer(redis, interval_s=0.2), ChannelPacer(redis, interval_s=0.2)]
    channel = f"CPACE{uuid.uuid4().hex[:6]}"
    sent: list[float] = []

    async def send(pacer: ChannelPacer) -> None:
        await pacer.wait(channel)
        sent.append(time.monotonic())

    await asyncio.gather(*(send(replicas[n % 2]) for n in range(6)))
    gaps = [b - a for a, b in zip(sorted(sent), sorted(sent)[1:], strict=False)]
    assert min(gaps) >= 0.18, gaps
    other = time.monotonic()
    await replicas[0].wait(f"{channel}-other")  # another channel does not wait
    assert time.monotonic() - other < 0.1
    await redis.aclose()


async def test_without_redis_the_pacer_spaces_this_process_only() -> None:
    pacer = ChannelPacer(None, interval_s=0.1)
    started = time.monotonic()
    for _ in range(3):
        await pacer.wait("C1")
    assert time.monotonic() - started >= 0.18
