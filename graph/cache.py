"""The semantic answer cache: RedisVL ``SemanticCache`` plus a verification step.

Entries are scoped by tag fields used as pre-filters inside the vector search: ``scope`` (the
knowledge spaces the asker may read and the channel's guard policy, ``graph.state.cache_scope``)
and ``model`` (model, prompt version, collection, answer mode), so an answer never crosses
spaces, policies or prompt versions. ``chunks`` holds the ids of the chunks an answer cites:
ids are content hashes, so ``aprune`` (after ingestion) drops every entry built on a chunk that
changed or went away. A vector match alone is not enough: each candidate must also pass
``graph.cache_verify.verify`` (negation, numbers, names, opposites, narrower or swapped words).
Entries older than ``max_age_s`` are never served, although a hit refreshes RedisVL's TTL.
Redis failures degrade to a miss (lookups) or a skipped store, logged, never a failed turn.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError
from redisvl.exceptions import RedisVLError
from redisvl.extensions.cache.llm import SemanticCache
from redisvl.query import FilterQuery
from redisvl.query.filter import FilterExpression, Tag
from redisvl.utils.vectorize import CustomVectorizer

from graph.cache_verify import signature, verify
from knowledge.embeddings import Embedder

log = structlog.get_logger(__name__)

CACHE_NAME = "answers-v2"
"""The index name; it changes with the entry schema (v2 added ``chunks``)."""
CANDIDATES = 3
"""Nearest entries checked per lookup: the closest may be a near miss, the next a paraphrase."""


@dataclass(frozen=True)
class CachedAnswer:
    """A verified cache hit."""

    answer: str
    citations: list[dict[str, Any]]
    prompt: str
    distance: float
    age_s: float
    saved_ms: float = 0.0
    """How long making the answer took the first time (what this hit saves)."""
    saved_tokens: int = 0
    """Model tokens the first answer used."""


@dataclass(frozen=True)
class Lookup:
    """What a lookup found: the hit, if any, and why the other candidates were not served."""

    hit: CachedAnswer | None = None
    similarity: float | None = None
    """Cosine similarity of the closest candidate (``None``: no candidate)."""
    verdicts: tuple[str, ...] = ()
    """Per candidate, closest first: ``same`` or why it was rejected (``negation``, ``fact``,
    ``name``, ``opposite``, ``direction``, ``narrower``, ``swapped``, ``restated``,
    ``too old``)."""
    failed: bool = False
    """Redis failed: the lookup counted as a miss."""


@dataclass(frozen=True)
class Entry:
    """A stored answer and what it cost to make."""

    question: str
    answer: str
    citations: list[dict[str, Any]]
    answer_ms: float = 0.0
    tokens: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class AnswerCache:
    """Scoped, verified semantic cache of cited answers."""

    def __init__(
        self,
        *,
        redis_url: str,
        embedder: Embedder,
        scope: str,
        model_version: str,
        distance_threshold: float,
        ttl_s: int,
        max_age_s: int,
        name: str = CACHE_NAME,
    ) -> None:
        self.embedder = embedder
        self.name = name
        self.ttl_s = ttl_s
        self._redis = Redis.from_url(redis_url)
        self.scope = scope
        self.model_version = model_version
        self.max_age_s = max_age_s
        vectorizer = CustomVectorizer(
            embed=embedder.embed_one,
            embed_many=embedder.embed,
            aembed=self._aembed_one,
            aembed_many=embedder.aembed,
        )
        self._cache = SemanticCache(
            name=name,
            redis_url=redis_url,
            vectorizer=vectorizer,
            distance_threshold=distance_threshold,
            ttl=ttl_s,
            filterable_fields=[
                {"name": "scope", "type": "tag"},
                {"name": "model", "type": "tag"},
                {"name": "chunks", "type": "tag"},
            ],
        )

    def _filter(self, scope: str | None) -> FilterExpression:
        return (Tag("scope") == (scope or self.scope)) & (Tag("model") == self.model_version)

    async def _aembed_one(self, text: str) -> list[float]:
        return (await self.embedder.aembed([text]))[0]

    def _signature_key(self, question: str, scope: str | None) -> str:
        """Where the entry for questions with ``question``'s signature is named (per model and
        scope)."""
        seed = f"{self.model_version}\n{scope or self.scope}\n{signature(question)}"
        return f"{self.name}:signature:{hashlib.sha256(seed.encode()).hexdigest()[:32]}"

    async def _same_words(self, question: str, scope: str | None) -> CachedAnswer | None:
        """The entry stored for a question with the same signature (asked in the same words,
        give or take case, punctuation and filler), fetched without embedding anything."""
        key = await self._redis.get(self._signature_key(question, scope))
        if key is None:
            return None
        prompt, response, metadata, inserted = await self._redis.hmget(
            key, ["prompt", "response", "metadata", "inserted_at"]
        )
        if prompt is None or response is None:  # dropped or expired since
            return None
        if signature(_text(prompt)) != signature(question):  # a key made by other rules
            return None
        return _answer(_text(prompt), _text(response), metadata, inserted, distance=0.0)

    async def alookup(
        self, question: str, scope: str | None = None, vector: list[float] | None = None
    ) -> Lookup:
        """The closest verified, fresh answer for ``question`` in ``scope`` (default: the
        cache's own), with the verdict on every candidate; ``vector`` skips embedding."""
        if not question.strip():
            return Lookup()
        try:
            same = None if vector else await self._same_words(question, scope)
            if same is not None and same.age_s <= self.max_age_s:
                return Lookup(same, 1.0, ("same words",))
            vector = vector or await self._aembed_one(question)
            candidates = await self._cache.acheck(
                vector=vector, num_results=CANDIDATES, filter_expression=self._filter(scope)
            )
        except (RedisError, RedisVLError) as exc:
            log.warning("cache lookup failed; answering without cache", error=type(exc).__name__)
            return Lookup(failed=True)
        now = time.time()
        verdicts: list[str] = []
        for candidate in candidates:
            distance = float(candidate.get("vector_distance", 0.0))
            age = now - float(candidate.get("inserted_at", 0))
            prompt = str(candidate.get("prompt", ""))
            reason = (
                "too old"
                if age > self.max_age_s
                else await verify(
                    question, prompt, 1.0 - distance, self.embedder.aembed, {question: vector}
                )
            )
            verdicts.append(reason or "same")
            if reason is None:
                hit = _answer(
                    prompt,
                    str(candidate["response"]),
                    candidate.get("metadata"),
                    candidate.get("inserted_at"),
                    distance=distance,
                )
                return Lookup(hit, _similarity(candidates), tuple(verdicts))
        return Lookup(None, _similarity(candidates), tuple(verdicts))

    async def astore(
        self, entry: Entry, scope: str | None = None, vector: list[float] | None = None
    ) -> None:
        """Store ``entry`` in ``scope`` (default: the cache's own); failures are logged and
        skipped."""
        chunk_ids = sorted({str(c["id"]) for c in entry.citations if c.get("id")})
        metadata = {
            "citations": entry.citations,
            "answer_ms": round(entry.answer_ms, 1),
            "tokens": entry.tokens,
            **entry.extra,
        }
        filters = {"scope": scope or self.scope, "model": self.model_version}
        if chunk_ids:
            filters["chunks"] = ",".join(chunk_ids)
        try:
            key = await self._cache.astore(
                prompt=entry.question,
                response=entry.answer,
                vector=vector,
                metadata=metadata,
                filters=filters,
            )
            await self._redis.set(self._signature_key(entry.question, scope), key, ex=self.ttl_s)
        except (RedisError, RedisVLError) as exc:
            log.warning("cache store failed; answer not cached", error=type(exc).__name__)

    async def adrop_citing(self, chunk_ids: Sequence[str]) -> int:
        """Remove every entry (all scopes) that cites one of ``chunk_ids``; how many."""
        if not chunk_ids:
            return 0
        index = await self._cache._get_async_index()
        query = FilterQuery(
            Tag("chunks") == list(chunk_ids), return_fields=["id"], num_results=1000
        )
        keys: list[str] = []
        async for page in index.paginate(query, page_size=500):
            keys.extend(str(doc["id"]) for doc in page)
        if keys:
            await self._cache.adrop(keys=keys)
        return len(keys)

    async def aprune(
        self, missing: Callable[[list[str]], Awaitable[set[str]]], collection: str
    ) -> int:
        """Remove every entry of ``collection`` citing a chunk that ``missing`` reports gone
        (re-ingested with new content, or deleted); how many were removed. Entries of other
        collections (their model version names them) are left alone."""
        index = await self._cache._get_async_index()
        query = FilterQuery("*", return_fields=["chunks", "model"], num_results=1000)
        cited: set[str] = set()
        async for page in index.paginate(query, page_size=500):
            for doc in page:
                if f"/{collection}/" in f"/{doc.get('model') or ''}/":
                    cited.update(i for i in str(doc.get("chunks") or "").split(",") if i)
        gone = await missing(sorted(cited)) if cited else set()
        return await self.adrop_citing(sorted(gone))

    async def aclear(self) -> None:
        """Remove every entry (all scopes)."""
        await self._cache.aclear()
        await self._drop_signatures()

    async def adelete(self) -> None:
        """Remove every entry and the index itself."""
        await self._cache.adelete()
        await self._drop_signatures()

    async def _drop_signatures(self) -> None:
        async for key in self._redis.scan_iter(match=f"{self.name}:signature:*", count=1000):
            await self._redis.delete(key)

    async def aclose(self) -> None:
        """Close the cache's connections."""
        await self._cache.adisconnect()
        await self._redis.aclose()


def _answer(
    prompt: str, response: str, metadata: Any, inserted_at: Any, *, distance: float
) -> CachedAnswer:
    """A hit from a stored entry's fields (``metadata`` as stored: JSON text or a dict)."""
    if isinstance(metadata, bytes | str):
        metadata = json.loads(metadata)
    metadata = metadata or {}
    return CachedAnswer(
        answer=response,
        citations=list(metadata.get("citations", [])),
        prompt=prompt,
        distance=distance,
        age_s=round(time.time() - float(inserted_at or 0), 3),
        saved_ms=float(metadata.get("answer_ms", 0.0)),
        saved_tokens=int(metadata.get("tokens", 0)),
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _similarity(candidates: list[dict[str, Any]]) -> float | None:
    if not candidates:
        return None
    return round(1.0 - float(candidates[0].get("vector_distance", 0.0)), 4)
