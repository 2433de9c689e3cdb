"""Generation node: the answer, from the chat model (or a tool's output, verbatim).

The model is called with ``astream``. When someone watches the turn (``stream_answers``), its
growing answer goes through ``guards.stream_guard.StreamGuard`` and only the checked part is
written to the graph's ``custom`` stream as ``{"answer_delta": text}``: raw model text never
leaves the node (callers must not subscribe to ``messages``). A question with no relevant
sources gets an honest "not found" without a model call; a tool's output is already the answer.
Retrieved passages reach the model only inside ``<document>`` blocks with look-alike delimiters
neutralised (``graph.untrusted``), and the system prompt tells it that text there is data, never
instructions.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.messages.ai import UsageMetadata
from langgraph.runtime import Runtime

from graph.answers import closest_sources_answer, passage_answer
from graph.context import BotContext
from graph.memory_summary import render
from graph.prompts import (
    ANSWER_SYSTEM,
    ANSWER_USER,
    ASKER_FACTS,
    CHITCHAT_SYSTEM,
    GROUNDING_RETRY,
    NO_SOURCES_ANSWER,
)
from graph.settings import Settings
from graph.state import State
from graph.untrusted import document_block
from guards.stream_guard import StreamGuard
from observe.errors import ModelCallError, ModelStreamBroken

FENCE = "```"


def tidy_truncated(answer: str) -> str:
    """Cut an answer the token limit stopped mid-way back to its last complete part.

    An unclosed code fence is dropped from its opening line (or closed, when nothing precedes
    it); then a trailing half sentence is removed when a complete one precedes it.
    """
    if answer.count(FENCE) % 2:
        head = answer[: answer.rfind(FENCE)].rstrip()
        answer = head if head else answer.rstrip() + "\n" + FENCE
    if answer.count(FENCE) % 2 == 0 and not answer.endswith(FENCE):
        last_stop = max(answer.rfind(mark) for mark in (". ", ".\n", "! ", "? ", ":\n"))
        if last_stop > len(answer) // 3:
            answer = answer[: last_stop + 1]
    return answer.rstrip().rstrip(":").rstrip() or answer


def retryable(exc: Exception) -> bool:
    """Retry a model failure only when none of the answer had streamed yet."""
    return isinstance(exc, ModelCallError) and not isinstance(exc, ModelStreamBroken)


def answer_system(state: State) -> str:
    """The system prompt of an answer over sources (stricter on a second attempt)."""
    return ANSWER_SYSTEM + (GROUNDING_RETRY if state.grounding_attempts else "")


def system_prompt(state: State) -> str:
    """The system prompt this turn's answer is generated with (what must never leak)."""
    return answer_system(state) if state.intent == "question" else CHITCHAT_SYSTEM


def answer_messages(state: State) -> list[BaseMessage]:
    """The prompt for a question over numbered sources, each in its ``<document>`` block."""
    sources = "\n\n".join(document_block(i, doc) for i, doc in enumerate(state.docs, start=1))
    return [
        SystemMessage(answer_system(state)),
        HumanMessage(
            ANSWER_USER.format(sources=sources, asker=asker_facts(state), question=state.query)
        ),
    ]


def asker_facts(state: State) -> str:
    """The asker's remembered facts as a prompt paragraph, or empty."""
    if not state.user_facts:
        return ""
    return ASKER_FACTS.format(facts="\n".join(f"- {fact}" for fact in state.user_facts))


def chitchat_messages(state: State) -> list[BaseMessage]:
    """The prompt for small talk: what memory kept of older messages, the recent history
    ``load_memory`` picked, and the message."""
    notes = " ".join(filter(None, [render(state.summary), asker_facts(state).strip()]))
    system = (
        f"{CHITCHAT_SYSTEM}\n\nNotes on this conversation: {notes}" if notes else CHITCHAT_SYSTEM
    )
    return [SystemMessage(system), *state.history, HumanMessage(state.clean_question)]


def stream_guard(
    state: State, runtime: Runtime[BotContext], *, quoted: bool = False
) -> StreamGuard | None:
    """The guard that releases this attempt's checked text to the turn's watcher, if any;
    ``quoted`` text is the sources' own words, so its support is not checked sentence by
    sentence (``check_output`` still checks the whole answer)."""
    ctx = runtime.context
    if not ctx.stream_answers:
        return None
    writer = runtime.stream_writer
    return StreamGuard(
        lambda delta: writer({"answer_delta": delta}),
        question=state.clean_question,
        system_prompt=system_prompt(state),
        passages=[str(d["text"]) for d in state.docs] if state.intent == "question" else [],
        grounded=state.intent == "question" and not quoted,
        embed=ctx.index.embedder.embed,
    )


async def quote(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Answer with the top passage's own words (``graph.answers``), released to the watcher
    at once; the closest sources named when it does not answer the question."""
    ctx = runtime.context
    top = state.docs[0]
    with ctx.tracer.span("answer.quote", attributes={"app.answer.mode": "quote"}) as span:
        answer = await passage_answer(
            state.query, state.docs, ctx.index.embedder.embed, ctx.settings
        )
        span.update(
            {
                "app.quote.similarity": top.get("similarity"),
                "app.quote.chars": len(answer) if answer else 0,
                "app.quote.source_id": top["id"] if answer else None,
            }
        )
        update: dict[str, Any] = {
            "answer": answer or closest_sources_answer(state.docs),
            "verbatim": True,
        }
        guard = stream_guard(state, runtime, quoted=True)
        if guard is not None:
            guard.feed(update["answer"], complete=True)
            update["shown"] = await guard.close()
            span.set("app.stream.released_chars", len(update["shown"]))
    return update


def usage_attributes(
    settings: Settings,
    model: str,
    usage: UsageMetadata | None,
    duration_s: float,
    first_chunk_s: float | None,
) -> dict[str, Any]:
    """Tokens, cost (the price table of ``settings.traces``) and time per output token of one
    chat call, as span attributes."""
    if not usage:
        return {}
    out = usage["output_tokens"]
    per_token = (
        round((duration_s - first_chunk_s) / (out - 1), 5)
        if first_chunk_s is not None and out > 1
        else None
    )
    return {
        "gen_ai.usage.input_tokens": usage["input_tokens"],
        "gen_ai.usage.output_tokens": out,
        "app.cost_usd": settings.traces.cost_usd(model, usage["input_tokens"], out),
        "app.time_per_output_token_s": per_token,
    }


async def generate(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Produce the turn's answer."""
    if state.tool_output is not None:
        return {"answer": state.tool_output}
    if state.intent == "question" and not state.docs:
        return {"answer": NO_SOURCES_ANSWER}
    if state.intent == "question" and runtime.context.settings.quotes_answers:
        return await quote(state, runtime)
    messages = answer_messages(state) if state.intent == "question" else chitchat_messages(state)
    ctx = runtime.context
    model = ctx.settings.chat_model
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": (
            "llama.cpp" if ctx.settings.local_model else model.split(":", 1)[0]
        ),
        "gen_ai.request.model": model,
        "gen_ai.request.max_tokens": ctx.settings.max_answer_tokens,
    }
    with ctx.tracer.span(f"chat {model}", "CLIENT", attributes) as span:
        started = time.perf_counter()
        first_chunk_s: float | None = None
        full: AIMessageChunk | None = None
        guard = stream_guard(state, runtime)
        try:
            async with asyncio.timeout(ctx.settings.model_timeout_s):
                async for chunk in ctx.llm.astream(messages):
                    if first_chunk_s is None:
                        first_chunk_s = time.perf_counter() - started
                    full = chunk if full is None else full + chunk
                    if guard is not None:
                        guard.feed(str(full.content).lstrip())
        except asyncio.CancelledError:
            if guard is not None:
                guard.abort()
            raise
        except Exception as exc:
            if guard is not None:
                guard.abort()
            span.fail(exc)
            error = ModelCallError if first_chunk_s is None else ModelStreamBroken
            what = "timed out" if isinstance(exc, TimeoutError) else f"failed: {type(exc).__name__}"
            raise error(
                f"the chat model {model!r} {what}",
                hint="run `assistant doctor` to check the model",
            ) from exc
        answer = str(full.content).strip() if full is not None else ""
        finish_reason = full.response_metadata.get("finish_reason") if full else None
        if guard is not None and finish_reason != "length":  # a finished answer: all of it
            guard.feed(answer, complete=True)
        shown = await guard.close() if guard is not None else state.shown
        if finish_reason == "length":  # tidy only what was not shown yet
            kept = guard.raw_released if guard is not None else 0
            tail = answer[kept:]
            answer = answer[:kept] + (tidy_truncated(tail) if tail.strip() else "")
        usage = full.usage_metadata if full is not None else None
        span.update(
            usage_attributes(
                ctx.settings, model, usage, time.perf_counter() - started, first_chunk_s
            )
        )
        span.update(
            {
                "app.stream.released_chars": len(shown) if guard is not None else None,
                "app.stream.held_back": guard.stopped if guard is not None else None,
                "gen_ai.response.time_to_first_chunk": (
                    round(first_chunk_s, 4) if first_chunk_s is not None else None
                ),
                "gen_ai.response.finish_reasons": [finish_reason or "stop"],
            }
        )
    tokens = (
        {"input_tokens": usage["input_tokens"], "output_tokens": usage["output_tokens"]}
        if usage
        else {}
    )
    return {"answer": answer or "I don't know.", "usage": tokens, "shown": shown}
