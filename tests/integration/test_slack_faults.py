"""Faults under traffic, measured: Redis killed (``kill -9``) and restarted on its append-only
file while events arrive. Events during the outage are not acknowledged (Slack delivers them
again); after the restart every event is answered exactly once (real Redis, Chroma, HTTP;
scripted model)."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path

from conftest import RedisFactory

from evals.slack_double.signing import event_body, mention_event
from graph.services.embedded_redis import free_port
from integration.slack_harness import SlackEnv, start_env, stop_env

CHANNEL = "C0FAULTS"


def events(prefix: str, count: int) -> list[tuple[str, bytes]]:
    made = []
    for n in range(count):
        ts = f"{int(time.time())}.{n:06d}{prefix}"[:17]
        event = mention_event(
            "How do I roll back a bad release?", ts=ts, user=f"UF{n:04d}", channel=CHANNEL
        )
        made.append((ts, event_body(event, event_id=f"Ev{prefix}{n:05d}")))
    return made


def answered(env: SlackEnv) -> Callable[[str], int]:
    def count(thread: str) -> int:
        return sum(
            1
            for call in env.double.calls_to("chat.stopStream", "chat.postMessage")
            if (m := env.double.message(CHANNEL, str(call.args.get("ts", ""))))
            and m.get("thread_ts") == thread
            or call.args.get("thread_ts") == thread
        )

    return count


async def test_redis_killed_mid_traffic_loses_and_repeats_no_answer(
    tmp_path: Path, embedded_redis_factory: RedisFactory
) -> None:
    port = free_port()
    redis = embedded_redis_factory(tmp_path / "redis", port)
    env = await start_env(tmp_path / "bot", redis.url)
    try:
        before = events("a", 5)
        assert [(await env.post(body))[0] for _, body in before] == [200] * 5
        await env.settle()
        time.sleep(1.2)  # one AOF fsync

        assert redis._proc is not None
        os.kill(redis._proc.pid, signal.SIGKILL)
        redis._proc.wait(timeout=10)
        during = events("b", 5)
        statuses = [(await env.post(body))[0] for _, body in during]
        assert all(status >= 500 for status in statuses), "not acknowledged: Slack retries"

        restarted_at = time.monotonic()
        again = embedded_redis_factory(tmp_path / "redis", port)  # same dir: the AOF is replayed
        assert again.url == redis.url
        recovered = None
        for attempt in range(1, 40):  # Slack's redeliveries, until one is acknowledged
            status, _ = await env.post(during[0][1], retry_num=min(attempt, 3))
            if status == 200:
                recovered = time.monotonic() - restarted_at
                break
            time.sleep(0.25)
        assert recovered is not None, "the bot recovered once Redis was back"
        for _, body in during[1:]:
            assert (await env.post(body, retry_num=1))[0] == 200
        for _, body in before:  # late redeliveries of events answered before the crash
            assert (await env.post(body, retry_num=2))[0] == 200
        await env.settle()
        count = answered(env)
        per_event = {ts: count(ts) for ts, _ in before + during}
        assert set(per_event.values()) == {1}, per_event
        report = {"recovery_s": round(recovered, 2), "during_outage": statuses}
        (tmp_path / "fault.json").write_text(json.dumps(report))
        print("fault outcome:", report)
    finally:
        await stop_env(env)
