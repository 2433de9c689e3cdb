"""Benchmarks that print numbers: local-model speed and cached vs uncached answers.

Quality and speed targets live here, not in timed unit tests; ``docs/benchmarks.md`` records
what these printed on the reference machine.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from langchain_core.messages import AIMessageChunk

from graph.settings import load_settings

MODEL_SYSTEM = "Answer using only the numbered sources. Be brief and cite them as [1]."
MODEL_USER = (
    "Request {n}.\nSources:\n[1] VPN > Reset\nTo reset the VPN certificate, open "
    "vpn.example.com, sign in and click Reset certificate. The new certificate is valid for 90 "
    "days.\n\nQuestion: How do I reset my VPN certificate?\nAnswer:"
)
"""Each run starts with a different line, so llama.cpp cannot reuse a cached prompt prefix."""


async def bench_model(runs: int) -> dict[str, Any]:
    """Time to first chunk and decode speed of the configured chat model over ``runs`` calls."""
    from graph.llm import build_chat_model

    settings = load_settings()
    model = build_chat_model(settings)
    load_started = time.perf_counter()
    await model.ainvoke("hi")  # load the weights once, outside the measurement
    load_s = time.perf_counter() - load_started
    ttfts: list[float] = []
    speeds: list[float] = []
    tokens: list[int] = []
    for run in range(runs):
        started = time.perf_counter()
        first: float | None = None
        full: AIMessageChunk | None = None
        prompt = [("system", MODEL_SYSTEM), ("human", MODEL_USER.format(n=run))]
        async for chunk in model.astream(prompt):
            if first is None and chunk.content:
                first = time.perf_counter() - started
            full = chunk if full is None else full + chunk
        total = time.perf_counter() - started
        out = full.usage_metadata["output_tokens"] if full and full.usage_metadata else 0
        ttfts.append(first or total)
        tokens.append(out)
        if out > 1 and first is not None and total > first:
            speeds.append((out - 1) / (total - first))
    return {
        "model": settings.chat_model,
        "runs": runs,
        "load_and_warmup_s": round(load_s, 3),
        "ttft_s_median": round(statistics.median(ttfts), 3),
        "ttft_s_max": round(max(ttfts), 3),
        "decode_tokens_per_s_median": round(statistics.median(speeds), 1) if speeds else None,
        "output_tokens_median": statistics.median(tokens),
    }


async def bench_ask(question: str, fresh: bool) -> dict[str, Any]:
    """Ask ``question`` twice through the full graph; report both latencies and the speed-up."""
    from graph.assistant import Assistant

    assistant = await Assistant.start(load_settings())
    try:
        if fresh and assistant.context.cache is not None:
            await assistant.context.cache.aclear()
        first = await assistant.ask(question, conversation_id="bench-1")
        second = await assistant.ask(question, conversation_id="bench-2")
    finally:
        await assistant.aclose()
    t1, t2 = first.timings_ms["total"], second.timings_ms["total"]
    return {
        "question": question,
        "first": {"cached": first.cached, "total_ms": t1, "timings_ms": first.timings_ms},
        "second": {"cached": second.cached, "total_ms": t2, "timings_ms": second.timings_ms},
        "speedup": round(t1 / t2, 1) if t2 else None,
        "cited": [c["source"] for c in first.citations],
    }


def variants(question: str) -> list[str]:
    """Ways the same question comes back: as asked, lower-cased, without its question mark,
    with a greeting in front (the same words: found by signature), and opened with "so,"
    (another word: found by embedding and verified)."""
    plain = question.rstrip("?").strip()
    lowered = f"{plain[:1].lower()}{plain[1:]}"
    return [
        question,
        question.lower(),
        plain,
        f"hey, {lowered}?",
        f"so, {lowered}?",
    ]


async def bench_ask_many(questions: list[str], repeats: int, fresh: bool) -> dict[str, Any]:
    """Ask each question once (a miss: the answer is made), then ``repeats`` more times in the
    ``variants`` wording (hits when the cache works); latency percentiles of both (hits also by
    how they were found) and the ratio
    of the median miss to the 95th-percentile hit."""
    from graph.assistant import Assistant
    from observe.stats import percentile

    settings = load_settings()
    assistant = await Assistant.start(settings)
    misses: list[float] = []
    hits: list[float] = []
    by_path: dict[str, list[float]] = {}
    cached_first = not_cached_again = 0
    try:
        if fresh and assistant.context.cache is not None:
            await assistant.context.cache.aclear()
        for n, question in enumerate(questions):
            first = await assistant.ask(question, conversation_id=f"bench-miss-{n}")
            cached_first += first.cached
            misses.append(first.timings_ms["total"])
            for r in range(repeats):
                again = await assistant.ask(
                    variants(question)[r % 5], conversation_id=f"bench-hit-{n}-{r}"
                )
                if again.cached:
                    hits.append(again.timings_ms["total"])
                    by_path.setdefault(again.cache_match, []).append(again.timings_ms["total"])
                else:
                    not_cached_again += 1
    finally:
        await assistant.aclose()
    miss_p50, hit_p95 = percentile(misses, 50), percentile(hits, 95)
    return {
        "questions": len(questions),
        "answer_mode": "quote" if settings.quotes_answers else "generate",
        "model": settings.chat_model,
        "miss_ms": {"p50": miss_p50, "p95": percentile(misses, 95)},
        "hit_ms": {"p50": percentile(hits, 50), "p95": hit_p95, "n": len(hits)},
        "hit_ms_by_match": {
            match: {"p50": percentile(ms, 50), "p95": percentile(ms, 95), "n": len(ms)}
            for match, ms in sorted(by_path.items())
        },
        "repeats_not_served_from_cache": not_cached_again,
        "first_asks_already_cached": cached_first,
        "miss_p50_over_hit_p95": round(miss_p50 / hit_p95, 1) if miss_p50 and hit_p95 else None,
    }
