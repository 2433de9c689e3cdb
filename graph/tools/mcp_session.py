"""A long-lived session to one stdio MCP server, held by a task of its own.

Starting a stdio server for every call (the adapter's default) costs about 2 s per call here; a
held session costs one start. The session lives inside one background task (anyio requires that
the task that opened it closes it), and other tasks call through it. A call finding the server
gone starts it again first; a call that breaks mid-way is a ``TransientToolError`` (retried only
for read-only tools, so a side effect never runs twice). ``aclose`` stops the server.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mcp import ClientSession

from graph.tools.registry import TransientToolError
from observe.errors import ToolError

START_TIMEOUT_S = 30.0


class HeldSession:
    """One server's session, opened on first use and reopened when it died."""

    def __init__(self, client: Any, server: str) -> None:
        self._client = client
        self.server = server
        self._session: ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._lock = asyncio.Lock()

    async def _hold(self, ready: asyncio.Future[ClientSession]) -> None:
        try:
            async with self._client.session(self.server) as session:
                ready.set_result(session)
                await self._stop.wait()
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(str(exc)))
            if not isinstance(exc, Exception):
                raise
        finally:
            self._session = None

    async def session(self) -> ClientSession:
        """The live session, starting the server when there is none."""
        async with self._lock:
            if self._session is not None and self._task is not None and not self._task.done():
                return self._session
            ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
            self._stop = asyncio.Event()
            self._task = asyncio.create_task(self._hold(ready), name=f"mcp {self.server}")
            try:
                async with asyncio.timeout(START_TIMEOUT_S):
                    self._session = await ready
            except BaseException:
                await self._drop()  # no half-started server left behind
                raise
            return self._session

    async def _drop(self) -> None:
        """End the held session (its server stops); the next call starts a new one."""
        self._stop.set()
        task, self._task, self._session = self._task, None, None
        if task is not None:
            try:
                async with asyncio.timeout(5):
                    await asyncio.gather(task, return_exceptions=True)
            except TimeoutError:
                task.cancel()

    async def call(self, tool: str, args: dict[str, Any], timeout_s: float) -> Any:
        """``tools/call`` on the server: the result's content blocks; an error result raises
        ``ToolError`` with the server's message."""
        try:
            session = await self.session()
        except Exception as exc:
            raise TransientToolError(
                f"The {self.server} tool server could not be started ({type(exc).__name__})."
            ) from None
        try:
            async with asyncio.timeout(timeout_s):
                result = await session.call_tool(tool, args)
        except TimeoutError:
            raise
        except Exception as exc:  # the server died or broke the session: start afresh next time
            await self._drop()
            raise TransientToolError(
                f"The {self.server} tool server dropped the call ({type(exc).__name__})."
            ) from None
        if result.isError:
            text = " ".join(getattr(b, "text", "") for b in result.content).strip()
            raise ToolError(f"The {self.server}_{tool} tool failed: {text[:300] or 'error'}")
        return [block.model_dump() for block in result.content]

    async def aclose(self) -> None:
        await self._drop()
