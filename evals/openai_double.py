"""A local OpenAI-compatible chat server for tests: ``POST /v1/chat/completions``.

``OpenAIDouble(reply=fn).start()`` listens on 127.0.0.1; ``fn(messages) -> str`` writes each
answer (streamed as server-sent events when the request asks for ``stream``). Every request is
kept in ``requests`` (method, headers, JSON body) so a test can check what a real provider
client sent. ``tool_reply(messages, tools) -> message`` answers requests that offer ``tools``
(non-streamed): an OpenAI assistant message, ``{"content", "tool_calls"}``, so a provider client's
native tool calling runs for real. ``fail_next`` makes the next calls answer 500 (retries),
``delay_s`` slows them.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

Reply = Callable[[list[dict[str, Any]]], str]
ToolReply = Callable[[list[dict[str, Any]], list[dict[str, Any]]], dict[str, Any]]


class OpenAIDouble:
    """A tiny chat-completions endpoint; ``url`` is its ``/v1`` base."""

    def __init__(
        self, reply: Reply, model: str = "double-1", tool_reply: ToolReply | None = None
    ) -> None:
        self.reply = reply
        self.tool_reply = tool_reply
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.fail_next = 0
        self.fail_share = 0.0
        """Share of calls answered with ``fail_status`` (drawn with a fixed seed)."""
        self.fail_status = 500
        self._draws = random.Random(7)
        self.delay_s = 0.0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> OpenAIDouble:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._completions)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _completions(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_share and self._draws.random() < self.fail_share:
            kind = "rate_limit_exceeded" if self.fail_status == 429 else "server_error"
            return web.json_response(
                {"error": {"message": "injected", "type": kind}}, status=self.fail_status
            )
        if self.fail_next:
            self.fail_next -= 1
            return web.json_response(
                {"error": {"message": "boom", "type": "server_error"}}, status=500
            )
        if body.get("tools") and self.tool_reply is not None and not body.get("stream"):
            return await self._tool_completion(body)
        text = self.reply(body.get("messages", []))
        words = len(text.split())
        usage = {"prompt_tokens": 10, "completion_tokens": words, "total_tokens": 10 + words}
        if not body.get("stream"):
            return self._completion({"role": "assistant", "content": text}, "stop", words)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        for n, word in enumerate(text.split(" ")):
            chunk = {
                "id": "chatcmpl-s",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": self.model,
                "choices": [
                    {
                        "index": 0,
                        "delta": {"content": (" " if n else "") + word},
                        "finish_reason": None,
                    }
                ],
            }
            await response.write(f"data: {json.dumps(chunk)}\n\n".encode())
        last = {
            "id": "chatcmpl-s",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
            "usage": usage,
        }
        await response.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())
        await response.write_eof()
        return response

    async def _tool_completion(self, body: dict[str, Any]) -> web.Response:
        """A non-streamed completion from ``tool_reply`` (run in a worker thread: a real model
        behind it may take seconds)."""
        assert self.tool_reply is not None
        message = await asyncio.to_thread(self.tool_reply, body["messages"], body["tools"])
        calls = message.get("tool_calls") or []
        words = len(str(message.get("content") or "").split()) + 10 * len(calls)
        reply = {
            "role": "assistant",
            "content": message.get("content") or (None if calls else ""),
            **({"tool_calls": calls} if calls else {}),
        }
        return self._completion(reply, "tool_calls" if calls else "stop", words)

    def _completion(self, message: dict[str, Any], finish: str, words: int) -> web.Response:
        """A non-streamed ``chat.completion`` carrying ``message``."""
        return web.json_response(
            {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.model,
                "choices": [{"index": 0, "finish_reason": finish, "message": message}],
                "usage": {
                    "prompt_tokens": 10,
                    "completion_tokens": words,
                    "total_tokens": 10 + words,
                },
            }
        )
