"""A running Slack bot for tests: the real app behind its real HTTP endpoint, the Web API double
it talks to, real Redis and Chroma, and a scripted chat model that streams word by word.

``SlackEnv.post`` sends correctly signed requests, exactly as Slack would.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from bot.config import ChannelPolicy, SlackSettings
from bot.server import SlackRuntime
from evals.slack_double import SlackDouble
from evals.slack_double.signing import event_body, signed
from graph.services.embedded_redis import free_port
from graph.settings import Settings
from knowledge.ingest import ingest_paths

DOCS = Path(__file__).parents[1] / "data" / "e2e"
SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
EXPERTS_CHANNEL = "C0EXPERTS"
QUIET_CHANNEL = "C0QUIET"
ALL_CHANNEL = "C0ALL"
PRIVATE_CHANNEL = "C0PRIVATE"
"""Answers there are ephemeral (only the asker sees them)."""
LOCKED_CHANNEL = "C0LOCKED"
"""May read only the (empty) ``other`` space and run no tools."""


class ScriptedChat(BaseChatModel):
    """Answers with ``reply`` (cites [1]), streamed word by word with ``delay_s`` between words."""

    reply: str = "Roll back with the deploy tool's rollback command [1]."
    delay_s: float = 0.0
    fail_after: int | None = None
    """Raise after streaming this many words (a model dying mid-answer)."""
    next_replies: list[str] = []
    """Replies for the next calls, in order (then ``reply`` again)."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _words(self) -> Iterator[str]:
        reply = self.next_replies.pop(0) if self.next_replies else self.reply
        words = reply.split(" ")
        for n, word in enumerate(words):
            yield word if n == len(words) - 1 else word + " "

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(self.reply))])

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        for n, word in enumerate(self._words()):
            if self.fail_after is not None and n >= self.fail_after:
                raise RuntimeError("the model process died")
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            yield ChatGenerationChunk(message=AIMessageChunk(content=word))


@dataclass
class SlackEnv:
    double: SlackDouble
    runtime: SlackRuntime
    url: str
    settings: Settings
    model: ScriptedChat

    async def post(
        self,
        body: bytes,
        *,
        secret: str = SECRET,
        timestamp: int | None = None,
        retry_num: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, str]:
        request = signed(body, secret, timestamp=timestamp, retry_num=retry_num)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{self.url}/slack/events",
                data=body,
                headers={**request.headers, **(headers or {})},
            ) as response,
        ):
            return response.status, await response.text()

    async def event(self, event: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        """Deliver one Events API callback (a fresh event id unless ``event_id`` is given)."""
        event_id = kwargs.pop("event_id", None)
        return await self.post(event_body(event, event_id=event_id), **kwargs)

    async def settle(self) -> None:
        """Wait until every accepted turn has been answered."""
        await asyncio.sleep(0.05)
        await self.runtime.services.scheduler.drain(timeout=60)

    def traces(self) -> list[dict[str, Any]]:
        self.runtime.assistant.context.tracer.flush()
        path = self.settings.traces_path
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def new_ts() -> str:
    return f"{time.time():.6f}"


def slack_settings(double: SlackDouble, **overrides: Any) -> SlackSettings:
    defaults: dict[str, Any] = {
        "bot_token": BOT_TOKEN,
        "signing_secret": SECRET,
        "api_url": double.base_url,
        "admins": ["U0ADMIN"],
        "user_rate_per_minute": 1000,  # the session's Redis is shared by many tests
        "channel_rate_per_minute": 5000,
        "channels": {
            EXPERTS_CHANNEL: ChannelPolicy(experts=["U0EXPERT"], spaces=["e2e"]),
            QUIET_CHANNEL: ChannelPolicy(trigger="mention"),
            ALL_CHANNEL: ChannelPolicy(trigger="all"),
            LOCKED_CHANNEL: ChannelPolicy(spaces=["other"], tools=[]),
            PRIVATE_CHANNEL: ChannelPolicy(ephemeral=True),
        },
    }
    return SlackSettings(**{**defaults, **overrides})


async def start_env(
    data_dir: Path,
    redis_url: str,
    *,
    dashboard_token: str | None = None,
    cache: bool = False,
    settings_overrides: dict[str, Any] | None = None,
    use_settings_model: bool = False,
    **slack_overrides: Any,
) -> SlackEnv:
    """Ingest the e2e docs, start the double, the runtime and its HTTP server (the semantic
    cache off unless ``cache``; ``settings_overrides`` for the assistant's settings; the scripted
    model answers unless ``use_settings_model``, which builds the model the settings name)."""
    double = await SlackDouble().start()
    settings = Settings(
        data_dir=data_dir,
        redis_url=redis_url,
        knowledge_scope="e2e",
        cache_enabled=cache,
        collection=f"slack-{data_dir.name}"[:60],
        answer_mode="generate",  # the scripted model writes the answers
        dashboard_token=dashboard_token,
        **(settings_overrides or {}),
    )
    model = ScriptedChat()
    runtime = await SlackRuntime.start(
        settings,
        slack_settings(double, **slack_overrides),
        llm=None if use_settings_model else model,
    )
    report = ingest_paths(runtime.assistant.context.index, [DOCS], scope="e2e", progress=False)
    assert report.files_ingested == 3
    runner = web.AppRunner(runtime.web_app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    env = SlackEnv(double, runtime, f"http://127.0.0.1:{port}", settings, model)
    env._runner = runner  # type: ignore[attr-defined]
    return env


async def stop_env(env: SlackEnv) -> None:
    await env.runtime.aclose(timeout=10)
    await env._runner.cleanup()  # type: ignore[attr-defined]
    await env.double.stop()
