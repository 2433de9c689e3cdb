"""Cache store node: keep cited answers the sources support, for reuse by similar questions.

Only answers that depend on nothing but the documents are kept: never one whose question or
answer holds personal data or a secret (even redacted, as ``<EMAIL>``), since such an answer
may be about the asker and must not reach anyone else.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from graph.context import BotContext
from graph.state import State, cache_scope
from guards.redaction import KINDS, find_sensitive

_PLACEHOLDER = re.compile(rf"<(?:{'|'.join(KINDS)})>")


def personal(text: str) -> bool:
    """Whether ``text`` holds personal data or a secret, or a placeholder left by redaction."""
    return bool(_PLACEHOLDER.search(text) or find_sensitive(text))


def cacheable(state: State) -> bool:
    """Only fresh answers from knowledge that the sources support, that cite at least one of
    them, and that concern no one in particular, are worth caching."""
    return (
        state.intent == "question"
        and not state.cache_hit
        and state.tool_output is None
        and bool(state.citations)
        and state.grounded
        and not state.pii_kinds
        and not personal(state.query)
        and not personal(state.answer)
    )


async def store_cache(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Store the answer under the redacted question; a cache failure never fails the turn."""
    ctx = runtime.context
    if ctx.cache is None or not cacheable(state):
        return {}
    with ctx.tracer.span("cache.store", "CLIENT", {"db.system.name": "redis"}):
        await ctx.cache.astore(
            state.query,
            state.answer,
            state.citations,
            scope=cache_scope(state, ctx.settings.knowledge_scope, ctx.settings.guards),
        )
    return {}
