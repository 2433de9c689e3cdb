"""Long-term user memory: facts a user asked the assistant to remember, shown and deleted on
request.

"remember that I work on payments" stores the fact (personal data and secrets redacted, whatever
the channel's policy); "what do you remember about me?" lists them, only where the asker alone
reads the reply (a DM, ``/ask``, the terminal; ``/assistant memory`` anywhere); "forget that I
work on payments" / "forget everything about me" delete them (also ``/assistant forget`` in
Slack, ``/memory`` and ``/forget`` in the terminal). Facts are used only in such private
conversations, never in a channel thread others read. Memory turns leave no text in traces, in
conversation memory or in regression cases. Facts live in LangGraph's ``RedisStore`` under
``("user-memory", user hash)``. The sync store runs in worker threads: the async
``AsyncRedisStore`` of langgraph-checkpoint-redis 0.5.2 fails with redisvl 0.28 (it hands an
async client to the sync ``SearchIndex``). Facts reach the model as the asker's own words,
marked as not instructions, and an answer written with them is never cached (it may be about the
asker).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import structlog
from langgraph.store.redis import RedisStore
from redis import Redis
from redis.exceptions import RedisError
from redisvl.exceptions import RedisVLError

from guards.redaction import redact_pii
from observe.errors import ServiceError
from observe.tracing import user_hash

log = structlog.get_logger(__name__)

MAX_FACTS = 50
"""Facts kept per user (the newest)."""
MAX_FACT_CHARS = 300
NAMESPACE = "user-memory"

_REMEMBER = re.compile(
    r"^\s*(?:please\s+)?(?:remember|keep in mind)\s*(?:that\b|:)\s*(?P<fact>[^?]+?)[.!]*\s*$",
    re.IGNORECASE | re.DOTALL,
)
"""A statement to keep; a message that also asks something ("keep in mind that I'm a
contractor - can I expense a monitor?") is a question, not a memory command."""
_RECALL = re.compile(
    r"^\s*(?:what\s+do\s+you\s+(?:remember|know)\s+about\s+me|what\s+have\s+i\s+(?:asked|told)\s+"
    r"you\s+to\s+remember|(?:show|list)\s+(?:me\s+)?(?:my\s+memor(?:y|ies)|what\s+you\s+remember))"
    r"\s*[?.!]*\s*$",
    re.IGNORECASE,
)
_FORGET = re.compile(
    r"^\s*(?:please\s+)?forget\s+(?:(?P<all>everything|all(?:\s+of\s+it)?|(?:everything|all|what)"
    r"\s+(?:you\s+know\s+)?about\s+me|what\s+i\s+told\s+you)|that\s+(?P<fact>[^?]+?))\s*[.!]*\s*$",
    re.IGNORECASE | re.DOTALL,
)

T = TypeVar("T")
_VAGUE = frozenset({"it", "that", "this", "about it", "about that", "that one", "them"})
Action = Literal["remember", "recall", "forget"]


@dataclass(frozen=True)
class MemoryCommand:
    """A message asking to remember, show or forget facts; ``text`` is the fact, or what to
    forget (empty: everything)."""

    action: Action
    text: str = ""


@dataclass(frozen=True)
class Fact:
    id: str
    text: str
    at: float


def memory_command(message: str) -> MemoryCommand | None:
    """The memory command ``message`` is, if it is one."""
    if _RECALL.match(message):
        return MemoryCommand("recall")
    if m := _REMEMBER.match(message):
        return MemoryCommand("remember", m["fact"].rstrip(".!")[:MAX_FACT_CHARS])
    if m := _FORGET.match(message):
        if m["all"]:
            return MemoryCommand("forget")
        if m["fact"].lower() not in _VAGUE:  # "forget it" means "never mind"
            return MemoryCommand("forget", m["fact"])
    return None


class UserMemory:
    """Facts per user in Redis (``RedisStore``), each call in a worker thread."""

    def __init__(self, redis_url: str) -> None:
        self._client = Redis.from_url(redis_url)
        self._store = RedisStore(self._client)
        self._store.setup()

    def _namespace(self, user_id: str) -> tuple[str, str]:
        return (NAMESPACE, user_hash(user_id))

    def _facts(self, user_id: str) -> list[Fact]:
        items = self._store.search(self._namespace(user_id), limit=MAX_FACTS * 2)
        facts = [
            Fact(i.key, str(i.value.get("fact", "")), float(i.value.get("at", 0))) for i in items
        ]
        return sorted(facts, key=lambda f: f.at)

    async def facts(self, user_id: str) -> list[Fact]:
        """``user_id``'s facts, oldest first; ``MemoryUnavailable`` when Redis fails."""
        return await _call(self._facts, user_id)

    def _remember(self, user_id: str, text: str) -> None:
        namespace = self._namespace(user_id)
        self._store.put(namespace, uuid.uuid4().hex, {"fact": text, "at": time.time()})
        for old in self._facts(user_id)[:-MAX_FACTS]:
            self._store.delete(namespace, old.id)

    async def remember(self, user_id: str, text: str) -> None:
        """Keep ``text`` for ``user_id``, personal data and secrets redacted (the oldest facts
        go beyond ``MAX_FACTS``)."""
        await _call(self._remember, user_id, redact_pii(text)[:MAX_FACT_CHARS])

    def _forget(self, user_id: str, text: str) -> int:
        wanted = _plain(text)
        gone = [f for f in self._facts(user_id) if not wanted or _plain(f.text) == wanted]
        for fact in gone:
            self._store.delete(self._namespace(user_id), fact.id)
        return len(gone)

    async def forget(self, user_id: str, text: str = "") -> int:
        """Delete ``user_id``'s facts that read ``text`` (all of them when empty); how many."""
        return await _call(self._forget, user_id, redact_pii(text))

    async def aclose(self) -> None:
        await asyncio.to_thread(self._client.close)


class MemoryUnavailable(ServiceError):
    """Redis failed under the user memory."""


async def _call(work: Callable[..., T], *args: Any) -> T:
    try:
        return await asyncio.to_thread(work, *args)
    except (RedisError, RedisVLError) as exc:
        raise MemoryUnavailable(
            f"user memory unavailable: {type(exc).__name__}", hint="run `assistant doctor`"
        ) from None


async def remembered(memory: UserMemory, user_id: str) -> list[str]:
    """``user_id``'s facts for the prompt; none (logged) when Redis fails."""
    try:
        return [f.text for f in await memory.facts(user_id)]
    except MemoryUnavailable:
        log.warning("user memory unavailable; answering without it")
        return []


def _plain(text: str) -> str:
    """``text`` compared loosely: lower case, single spaces, no end punctuation."""
    return " ".join(text.lower().split()).strip(" .!")


async def carry_out(
    memory: UserMemory, user_id: str, command: MemoryCommand, *, private: bool = True
) -> str:
    """Do what ``command`` asks and say what was done, in words for the user; facts are only
    listed or echoed when ``private`` (the reply is the asker's alone)."""
    try:
        return await _carry_out(memory, user_id, command, private)
    except MemoryUnavailable:
        return "I can't reach my memory right now — please try again in a moment."


async def _carry_out(
    memory: UserMemory, user_id: str, command: MemoryCommand, private: bool
) -> str:
    if command.action == "remember" and not private:
        await memory.remember(user_id, command.text)
        return (
            "Noted. I'll use it when you ask me privately (in a DM or with `/ask`); "
            "`/assistant memory` shows what I keep."
        )
    if command.action == "recall" and not private:
        return "I only show that privately: use `/assistant memory`, or ask me in a DM."
    if command.action == "remember":
        await memory.remember(user_id, command.text)
        return (
            f"Noted: _{command.text}_. I'll keep it in mind when I answer you. Ask "
            '"what do you remember about me?" to see what I keep, or say "forget that …".'
        )
    if command.action == "forget":
        gone = await memory.forget(user_id, command.text)
        if not gone:
            return (
                "I had nothing like that to forget."
                if command.text
                else "I keep nothing about you."
            )
        return f"Done: I forgot {gone} thing(s) you had told me."
    facts = await memory.facts(user_id)
    if not facts:
        return 'I don\'t keep anything about you. Say "remember that …" to tell me something.'
    lines = [f"• {f.text}" for f in facts]
    return (
        "What you asked me to remember:\n"
        + "\n".join(lines)
        + '\nSay "forget that …" to delete one.'
    )
