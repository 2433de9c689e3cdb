"""The semantic answer cache: RedisVL ``SemanticCache`` plus a verification step.

Entries are scoped by two tag fields, ``scope`` (knowledge space) and ``model`` (model + prompt
version), used as pre-filters inside the vector search, so an answer never crosses spaces or
prompt versions. A vector match alone is not enough: near-identical wording with flipped meaning
("enable X" / "disable X", "python 3.10" / "python 3.12") scores as similar, so each candidate must
also pass ``same_meaning``. Entries older than ``max_age_s`` are never served, even though a hit
refreshes RedisVL's TTL. Redis failures degrade to a miss (lookups) or a skipped store, logged,
never a failed turn.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

import structlog
from redis.exceptions import RedisError
from redisvl.exceptions import RedisVLError
from redisvl.extensions.cache.llm import SemanticCache
from redisvl.query.filter import FilterExpression, Tag
from redisvl.utils.vectorize import CustomVectorizer

from knowledge.embeddings import Embedder

log = structlog.get_logger(__name__)

_WORD = re.compile(r"[a-z0-9]+(?:['.][a-z0-9]+)*")
NEGATIONS = frozenset(
    {
        "not",
        "no",
        "never",
        "without",
        "cannot",
        "cant",
        "dont",
        "doesnt",
        "isnt",
        "wont",
        "didnt",
        "shouldnt",
        "nor",
        "none",
    }
)
# One word of each opposite pair is enough when the other is too common to carry meaning
# ("on"/"in"/"up" appear in most questions; "off"/"down" only when they matter).
OPPOSITES = frozenset(
    {
        "off",
        "enable",
        "disable",
        "enabled",
        "disabled",
        "start",
        "stop",
        "add",
        "remove",
        "allow",
        "deny",
        "block",
        "unblock",
        "open",
        "close",
        "increase",
        "decrease",
        "before",
        "after",
        "max",
        "min",
        "maximum",
        "minimum",
        "down",
        "install",
        "uninstall",
        "encode",
        "decode",
        "import",
        "export",
        "upload",
        "download",
        "lock",
        "unlock",
        "first",
        "last",
        "asc",
        "ascending",
        "desc",
        "descending",
        "read",
        "write",
        "grant",
        "revoke",
        "create",
        "delete",
        "public",
        "private",
        "sync",
        "async",
        "false",
    }
)


def _critical_tokens(text: str) -> set[str]:
    words = {w.replace("'", "") for w in _WORD.findall(text.lower())}
    return {w for w in words if w in NEGATIONS or w in OPPOSITES or any(c.isdigit() for c in w)}


_ENTITY = re.compile(
    r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail
    r"|<[@#!][\w|^-]+>"  # Slack mention of a user, channel or group
    r"|<[A-Z_]{2,}>"  # a redacted value (``<EMAIL>``)
    r"|(?<![\w'])(?!I['’])[A-Z][\w'-]+"  # a capitalised word: a name, product, acronym
)
_SENTENCE_START = re.compile(r"(?:^|[.!?:]\s+|\n\s*)$")


_COMMON_OPENERS = frozenset(
    "what how why when where who whom whose which can could should would will is are was were "
    "do does did has have had may might must shall the a an my our your their this that these "
    "those there it its i we you they he she please hi hello hey thanks any some all in on at "
    "for with from to if and or but so not no yes tell show give explain list get find make "
    "use help let isn't can't don't doesn't".split()
)
"""Words that open a sentence capitalised without naming anything."""


def _entities(text: str) -> set[str]:
    """Names, e-mails, mentions and redacted values in ``text``, lower-cased; at the start of a
    sentence (where every word is capitalised) a common opener is not a name."""
    found = set()
    for m in _ENTITY.finditer(text):
        word = m.group()
        plain = word.lower().removesuffix("'s")
        if plain in _COMMON_OPENERS and _SENTENCE_START.search(text[: m.start()]):
            continue
        found.add(plain)
    return found


def _mentions_all(entities: set[str], text: str) -> bool:
    lowered = text.lower()
    return all(re.search(rf"(?<![\w@.]){re.escape(e)}(?![\w@])", lowered) for e in entities)


def same_meaning(query: str, cached_prompt: str) -> bool:
    """False when the two texts differ in a negation, an opposite, a number/version, or a
    name, e-mail, mention or redacted value one of them holds and the other does not (case
    aside: "the VPN" and "the vpn" are one thing)."""
    if _critical_tokens(query) != _critical_tokens(cached_prompt):
        return False
    return _mentions_all(_entities(query), cached_prompt) and _mentions_all(
        _entities(cached_prompt), query
    )


@dataclass(frozen=True)
class CachedAnswer:
    """A verified cache hit."""

    answer: str
    citations: list[dict[str, Any]]
    prompt: str
    distance: float
    age_s: float


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
        name: str = "answers",
    ) -> None:
        self.embedder = embedder
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
            ],
        )

    def _filter(self, scope: str | None) -> FilterExpression:
        return (Tag("scope") == (scope or self.scope)) & (Tag("model") == self.model_version)

    async def _aembed_one(self, text: str) -> list[float]:
        return (await self.embedder.aembed([text]))[0]

    async def alookup(self, question: str, scope: str | None = None) -> CachedAnswer | None:
        """The closest verified, fresh answer for ``question`` in ``scope`` (default: the
        cache's own), or ``None``."""
        if not question.strip():
            return None
        try:
            vector = await self._aembed_one(question)
            candidates = await self._cache.acheck(
                vector=vector, num_results=3, filter_expression=self._filter(scope)
            )
        except (RedisError, RedisVLError) as exc:
            log.warning("cache lookup failed; answering without cache", error=type(exc).__name__)
            return None
        now = time.time()
        for hit in candidates:
            age = now - float(hit.get("inserted_at", 0))
            if age > self.max_age_s or not same_meaning(question, str(hit.get("prompt", ""))):
                continue
            metadata = hit.get("metadata") or {}
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            return CachedAnswer(
                answer=str(hit["response"]),
                citations=list(metadata.get("citations", [])),
                prompt=str(hit.get("prompt", "")),
                distance=float(hit.get("vector_distance", 0.0)),
                age_s=round(age, 3),
            )
        return None

    async def astore(
        self,
        question: str,
        answer: str,
        citations: list[dict[str, Any]],
        scope: str | None = None,
    ) -> None:
        """Store ``answer`` for ``question`` in ``scope`` (default: the cache's own); failures are
        logged and skipped."""
        try:
            await self._cache.astore(
                prompt=question,
                response=answer,
                metadata={"citations": citations},
                filters={"scope": scope or self.scope, "model": self.model_version},
            )
        except (RedisError, RedisVLError) as exc:
            log.warning("cache store failed; answer not cached", error=type(exc).__name__)

    async def aclear(self) -> None:
        """Remove every entry (all scopes)."""
        await self._cache.aclear()

    async def aclose(self) -> None:
        """Close the cache's connections."""
        await self._cache.adisconnect()
