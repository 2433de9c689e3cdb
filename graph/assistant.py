"""The assistant as one object: start the services, answer turns, stop cleanly.

``Assistant.start(settings)`` brings up (or connects to) Redis, Chroma, the embedder, the intent
classifier, the chat model, the cache and the memory, and compiles the graph with the Redis
checkpointer. ``ask`` runs one turn under a root ``turn`` span and returns a ``TurnResult``;
``on_text`` receives the answer as the output guard releases it while the model writes
(``guards.stream_guard``: checked sentences, never raw model text); the ``TurnResult``'s answer is
the final, fully checked one. Every surface (terminal, ``ask --json``, Slack) goes through this.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, cast

import structlog
from langchain_core.language_models import BaseChatModel
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.redis.ashallow import AsyncShallowRedisSaver
from langgraph.graph.state import CompiledStateGraph
from redis.asyncio import Redis
from redis.exceptions import RedisError

from graph.context import BotContext
from graph.factories import (
    build_classifier,
    open_answer_cache,
    open_index,
    open_retriever,
    open_tracer,
)
from graph.graph import builder
from graph.llm import build_chat_model
from graph.memory import close_memory, conversation_lock, memory_thread, open_memory
from graph.prompts import INTENT_SYSTEM, PROMPT_VERSION
from graph.services.embedded_redis import EmbeddedRedis
from graph.settings import INTENTS, Intent, Settings
from graph.tool_decisions import ApprovalOutcome, resolve
from graph.tools.approval import ApprovalStore
from graph.tools.setup import build_registry
from graph.turn_result import TurnResult, cited_chunks, turn_result
from graph.user_memory import UserMemory
from guards.input_guard import input_guard
from guards.input_guard import warm_up as warm_up_guards
from guards.output_guard import output_guard
from guards.output_guard import warm_up as warm_up_output_guard
from observe.errors import ServiceError
from observe.tracing import Tracer, collect_timings, new_trace_id, user_hash

log = structlog.get_logger(__name__)

TextCallback = Callable[[str], None]
TaskCallback = Callable[[dict[str, Any]], None]
"""Hears a planning model's plan as it runs: ``{"type": "plan_update", "title"}`` once, then
``{"type": "task_update", ...graph.planner.Task}`` per step (Slack's streaming chunk fields)."""
PLAN_CHUNKS = ("plan_update", "task_update")


def llm_intent_fallback(llm: BaseChatModel) -> Callable[[str], Any]:
    """Ask the chat model for an intent label; ``None`` when its reply names none."""

    async def ask_model(text: str) -> Intent | None:
        reply = await asyncio.wait_for(
            llm.ainvoke(
                [("system", INTENT_SYSTEM.format(labels=", ".join(INTENTS))), ("human", text)]
            ),
            timeout=20,
        )
        words = str(reply.content).lower().replace(",", " ").split()
        return next((cast(Intent, w) for w in words if w in INTENTS), None)

    return ask_model


class Assistant:
    """A running assistant; build it with ``await Assistant.start(settings)``."""

    def __init__(
        self,
        *,
        context: BotContext,
        graph: CompiledStateGraph[Any, Any, Any, Any],
        memory: AsyncShallowRedisSaver,
        redis_url: str,
        embedded_redis: EmbeddedRedis | None,
    ) -> None:
        self.context = context
        self.graph = graph
        self.memory = memory
        self.redis_url = redis_url
        self.redis = Redis.from_url(redis_url)
        """For the conversation locks (``graph.memory.conversation_lock``) and approvals."""
        if context.approvals is None:
            ttl = context.settings.tools.approval_ttl_s
            self.context = replace(context, approvals=ApprovalStore(self.redis, ttl))
        self._embedded_redis = embedded_redis

    @property
    def settings(self) -> Settings:
        return self.context.settings

    @classmethod
    async def start(
        cls,
        settings: Settings,
        *,
        tracer: Tracer | None = None,
        llm: BaseChatModel | None = None,
    ) -> Assistant:
        """Start or connect to every service; raises ``AssistantError`` subclasses with fixes."""
        embedded: EmbeddedRedis | None = None
        if settings.redis_url:
            redis_url = settings.redis_url
        else:
            embedded = EmbeddedRedis(settings.redis_dir, settings.redis_port)
            await asyncio.to_thread(embedded.start)
            redis_url = embedded.url
        try:
            context, memory = await cls._connect(settings, redis_url, tracer, llm)
        except RedisError as exc:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)
            raise ServiceError(
                f"Redis at {redis_url} is not usable: {exc}",
                hint="check ASSISTANT_REDIS_URL (Redis 8 with Search + JSON) or unset it",
            ) from None
        except BaseException:
            if embedded is not None:
                await asyncio.to_thread(embedded.stop)
            raise
        graph = builder.compile(checkpointer=memory, name="assistant")
        return cls(
            context=context,
            graph=graph,
            memory=memory,
            redis_url=redis_url,
            embedded_redis=embedded,
        )

    @staticmethod
    async def _connect(
        settings: Settings,
        redis_url: str,
        tracer: Tracer | None,
        llm: BaseChatModel | None,
    ) -> tuple[BotContext, AsyncShallowRedisSaver]:
        """Open every client the graph needs (blocking set-up runs in worker threads)."""
        index = await asyncio.to_thread(open_index, settings)
        retriever = await asyncio.to_thread(open_retriever, settings, index)
        model = llm or build_chat_model(settings)
        tools, mcp = await build_registry(settings)
        classifier = build_classifier(settings, fallback=llm_intent_fallback(model))
        await asyncio.to_thread(classifier.fit)
        await asyncio.to_thread(input_guard, settings.max_input_chars)  # built now, not per turn
        await asyncio.to_thread(warm_up_guards)
        await asyncio.to_thread(output_guard)
        await warm_up_output_guard()
        mode = "quote" if settings.quotes_answers else "generate"
        model_version = f"{settings.chat_model}/{PROMPT_VERSION}/{settings.collection}/{mode}"
        cache = None
        if settings.cache_enabled:
            cache = await asyncio.to_thread(
                open_answer_cache, settings, redis_url, index, model_version
            )
        memory = await open_memory(redis_url, settings.memory_ttl_minutes)
        user_memory = (
            await asyncio.to_thread(UserMemory, redis_url) if settings.user_memory else None
        )
        context = BotContext(
            settings=settings,
            tracer=tracer or open_tracer(settings),
            llm=model,
            classifier=classifier,
            index=index,
            retriever=retriever,
            tools=tools,
            mcp=mcp,
            cache=cache,
            user_memory=user_memory,
            model_version=model_version,
        )
        for problem in mcp.problems:
            log.warning("tools.unavailable", problem=problem)
        return context, memory

    async def ask(
        self,
        text: str,
        *,
        conversation_id: str,
        user_id: str = "local",
        on_text: TextCallback | None = None,
        on_task: TaskCallback | None = None,
        spaces: list[str] | None = None,
        thread_loader: Callable[[], Awaitable[list[dict[str, str]]]] | None = None,
        experts: list[str] | None = None,
        tools_allowed: list[str] | None = None,
        trace_id: str | None = None,
        guard_policy: dict[str, Any] | None = None,
        fresh: bool = False,
        private: bool = False,
    ) -> TurnResult:
        """Run one turn of ``conversation_id``; checked text of the answer goes to ``on_text``
        as it is released (a prefix of the final answer, unless the final check changed it),
        and each tool step a planning model takes to ``on_task``.

        ``spaces`` limits retrieval (default: ``knowledge_scope``), ``thread_loader`` fetches the
        chat thread a summary should cover, ``experts`` whom an escalation tags,
        ``tools_allowed`` which tools may run (``None``: all), ``guard_policy`` the channel's
        guard actions over the ``guards`` setting, ``fresh`` skips the semantic cache (the
        asker wants a newly made answer), ``private`` says only the asker sees the
        conversation (their remembered facts are used and shown only then). Every input
        field is passed on every turn, so nothing carries over from the conversation's
        previous turn. The guards' notices to the
        asker (a removed secret, a warning) follow the answer.
        """
        trace_id = trace_id or new_trace_id()
        thread = memory_thread(conversation_id)
        config: RunnableConfig = {"configurable": {"thread_id": thread}}
        turn_input = {
            "question": text,
            "user_id": user_id,
            "trace_id": trace_id,
            "spaces": list(spaces or []),
            "experts": list(experts or []),
            "tools_allowed": tools_allowed,
            "guard_policy": guard_policy,
            "fresh": fresh,
            "private": private,
        }
        root_attributes = {
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.workflow.name": "assistant",
            "gen_ai.conversation.id": conversation_id,
            "user.hash": user_hash(user_id),
            "app.content.question": text,
            "app.model": self.settings.chat_model,
            "app.answer.mode": "quote" if self.settings.quotes_answers else "generate",
        }
        context = replace(
            self.context,
            thread_loader=thread_loader or self.context.thread_loader,
            stream_answers=on_text is not None or on_task is not None,
        )
        async with conversation_lock(self.redis, thread):
            return await self._run_turn(
                turn_input,
                config,
                context,
                root_attributes,
                trace_id,
                conversation_id,
                on_text,
                on_task,
            )

    async def _run_turn(
        self,
        turn_input: dict[str, Any],
        config: RunnableConfig,
        context: BotContext,
        root_attributes: dict[str, Any],
        trace_id: str,
        conversation_id: str,
        on_text: TextCallback | None,
        on_task: TaskCallback | None = None,
    ) -> TurnResult:
        """One turn through the graph under its root span (the conversation lock held)."""
        tracer = self.context.tracer
        final: dict[str, Any] = {}
        route: list[str] = []
        started = time.perf_counter()
        with (
            collect_timings() as timings,
            tracer.span("turn", "SERVER", root_attributes, trace_id=trace_id) as root,
        ):
            try:
                async for mode, chunk in self.graph.astream(
                    turn_input,
                    config,
                    context=context,
                    stream_mode=["custom", "values", "updates"],
                    durability="exit",  # only the finished turn reaches Redis, never raw drafts
                ):
                    if mode == "values":
                        final = cast(dict[str, Any], chunk)
                    elif mode == "updates":
                        route.extend(cast(dict[str, Any], chunk))
                    elif not isinstance(chunk, dict):
                        continue
                    elif on_text is not None and "answer_delta" in chunk:
                        on_text(str(chunk["answer_delta"]))
                    elif on_task is not None and (kind := next(iter(chunk), "")) in PLAN_CHUNKS:
                        on_task({"type": kind, **chunk[kind]})
            except RedisError as exc:
                root.fail(exc)
                raise ServiceError(
                    f"Redis at {self.redis_url} failed during the turn: {exc}",
                    hint="run `assistant doctor`",
                ) from None
            memory_turn = final.get("intent") == "memory"  # personal: no text in traces
            root.update(
                {
                    "app.intent": final.get("intent"),
                    "app.cache_hit": bool(final.get("cache_hit")),
                    "app.blocked": bool(final.get("blocked_reason")),
                    "app.citations": len(final.get("citations") or []),
                    **cited_chunks(final.get("citations") or []),
                    "app.content.answer": None if memory_turn else final.get("answer"),
                    **({"app.content.question": None} if memory_turn else {}),
                    "app.redacted.question": (
                        final.get("clean_question")
                        if self.settings.trace_questions and final.get("intent") != "memory"
                        else None
                    ),
                }
            )
        timings["total"] = round((time.perf_counter() - started) * 1000, 3)
        return turn_result(final, trace_id, conversation_id, timings, route)

    async def decide_tool_call(self, call_id: str, user_id: str, approve: bool) -> ApprovalOutcome:
        """Approve (and run) or reject a tool call that waits for approval."""
        return await resolve(self.context, call_id, user_id, approve)

    async def aclose(self) -> None:
        """Close connections and stop the embedded Redis if this process started it."""
        try:
            if self.context.cache is not None:
                await self.context.cache.aclose()
            await close_memory(self.memory)
            await self.redis.aclose()
            if self.context.user_memory is not None:
                await self.context.user_memory.aclose()
            if self.context.mcp is not None:
                await self.context.mcp.aclose()
        finally:
            self.context.tracer.close()
            if self._embedded_redis is not None:
                await asyncio.to_thread(self._embedded_redis.stop)
