"""Keeping the answer cache true to the index: drop answers built on chunks that changed.

Ingestion (``assistant ingest``) calls ``prune_stale_answers`` whenever it removed chunks (a
document re-ingested with new content, or deleted): every cached answer citing one of them, in
any space or scope, is removed. Lookups also check the cited chunks before serving, so an entry
missed here (Redis was down) is still never served.
"""

from __future__ import annotations

import asyncio

from graph.factories import open_answer_cache
from graph.services.embedded_redis import EmbeddedRedis
from graph.settings import Settings
from knowledge.index import KnowledgeIndex


async def prune_stale_answers(settings: Settings, index: KnowledgeIndex) -> int:
    """Remove cached answers citing chunks no longer in ``index``; how many. Uses the configured
    Redis, or the embedded one (started for this and stopped after, unless already running)."""
    if not settings.cache_enabled:
        return 0
    if settings.redis_url:
        return await _prune(settings.redis_url, settings, index)
    server = EmbeddedRedis(settings.redis_dir, settings.redis_port)
    started = await asyncio.to_thread(server.start)
    try:
        return await _prune(server.url, settings, index)
    finally:
        if started:
            await asyncio.to_thread(server.stop)


async def _prune(redis_url: str, settings: Settings, index: KnowledgeIndex) -> int:
    cache = await asyncio.to_thread(open_answer_cache, settings, redis_url, index, "")
    try:
        return await cache.aprune(index.amissing, settings.collection)
    finally:
        await cache.aclose()
