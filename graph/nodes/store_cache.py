"""Cache store node: keep cited answers the sources support, for reuse by similar questions.

Only answers that depend on nothing but the documents are kept: never one whose question or
answer holds personal data or a secret (even redacted, as ``<EMAIL>``), since such an answer
may be about the asker and must not reach anyone else; never one about the asker's own records
("my tickets", "how many vacation days do I have left") or about the moment ("today", "right
now", "this week"), which are true for one person or one day. Follow-ups are stored under
their standalone question (``query``), never under the short message.
"""

from __future__ import annotations

import re
import time
from typing import Any

from langgraph.runtime import Runtime

from graph.cache import Entry
from graph.context import BotContext
from graph.state import State, cache_scope
from guards.redaction import KINDS, find_sensitive

_PLACEHOLDER = re.compile(rf"<(?:{'|'.join(KINDS)})>")
_NOW = re.compile(
    r"\b(?:today|tonight|tomorrow|yesterday|now|currently|at the moment|so far|this (?:morning|"
    r"afternoon|evening|week|weekend|month|quarter|year|sprint)|(?:next|last) (?:week|month|"
    r"quarter|year|sprint)|latest|recent|recently|this time|up to date|still (?:down|up|"
    r"broken|open|running|failing))\b",
    re.IGNORECASE,
)
_MINE = re.compile(
    r"\b(?:my|mine)\s+(?:own\s+)?(?:open\s+|current\s+|pending\s+|remaining\s+)?(?:tickets?|"
    r"issues?|prs?|pull requests?|tasks?|to-?dos?|assignments?|approvals?|requests?|orders?|"
    r"invoices?|balance|schedule|calendar|meetings?|shifts?|payslips?|paychecks?|salary|bonus|"
    r"manager|reviews?|status|account status|claims?|reimbursements?|messages?|mentions?|alerts?|"
    r"pages?|incidents?|builds?|deploys?|deployments?|jobs?)\b"
    r"|\b(?:do|did|have|am|was)\s+i\s+(?:have(?!\s+to)|got|still|already|been|left|used|taken|earned)\b"
    r"|\b(?:left|remaining)\s+(?:for|to)\s+me\b|\bwho\s+am\s+i\b",
    re.IGNORECASE,
)


def personal(text: str) -> bool:
    """Whether ``text`` holds personal data or a secret, or a placeholder left by redaction."""
    return bool(_PLACEHOLDER.search(text) or find_sensitive(text))


def about_now_or_me(question: str) -> bool:
    """Whether the answer to ``question`` depends on the moment or on who asks ("what's
    deployed right now", "my open tickets", "how many days do I have left")."""
    return bool(_NOW.search(question) or _MINE.search(question))


def cacheable(state: State) -> bool:
    """Only fresh answers from knowledge that the sources support (``grounded``: a model answer
    the output guard passed, fixed, or replaced by a quoted passage), that cite at least one of
    them and concern no one and no moment in particular, are cached."""
    return (
        state.intent == "question"
        and not state.cache_hit
        and state.tool_output is None
        and bool(state.citations)
        and state.grounded
        and not state.pii_kinds
        and not personal(state.query)
        and not personal(state.answer)
        and not about_now_or_me(state.query)
        and (state.verbatim or not state.user_facts)  # written knowing who asks
    )


async def store_cache(state: State, runtime: Runtime[BotContext]) -> dict[str, Any]:
    """Store the answer under the redacted standalone question, with what it took to make (time
    and model tokens, reported as saved by later hits); a cache failure never fails the turn."""
    ctx = runtime.context
    if ctx.cache is None or not cacheable(state):
        return {}
    entry = Entry(
        question=state.query,
        answer=state.answer,
        citations=state.citations,
        answer_ms=(time.time() - state.started_at) * 1000 if state.started_at else 0.0,
        tokens=sum(state.usage.values()),
    )
    with ctx.tracer.span("cache.store", "CLIENT", {"db.system.name": "redis"}):
        await ctx.cache.astore(
            entry, scope=cache_scope(state, ctx.settings.knowledge_scope, ctx.settings.guards)
        )
    return {}
