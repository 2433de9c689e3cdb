"""What every node can reach at run time: settings, the long-lived clients, per-turn hooks.

Passed with ``graph.ainvoke(..., context=BotContext(...))`` and read as ``runtime.context``. Clients
stay here, never in the state, so the state remains serialisable for the checkpointer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from graph.untrusted import Scan, injection_reason

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from graph.cache import AnswerCache
    from graph.intents import IntentClassifier
    from graph.settings import Settings
    from graph.tools.approval import ApprovalStore
    from graph.tools.mcp_tools import McpTools
    from graph.tools.registry import ToolRegistry
    from graph.user_memory import UserMemory
    from knowledge.index import KnowledgeIndex
    from knowledge.retrieval import Retriever
    from observe.tracing import Tracer


@dataclass(kw_only=True)
class BotContext:
    """Run-time dependencies of the graph (one per process, shared by all turns)."""

    settings: Settings
    tracer: Tracer
    llm: BaseChatModel
    classifier: IntentClassifier
    index: KnowledgeIndex
    retriever: Retriever
    """Hybrid (dense + BM25) search over ``index``; what the retrieve node uses."""
    tools: ToolRegistry
    mcp: McpTools | None = None
    """The MCP servers' tools and held sessions (the assistant closes them at shutdown)."""
    approvals: ApprovalStore | None = None
    """Where tool calls with side effects wait for a person's yes; ``None``: such tools are
    refused (nothing runs unapproved)."""
    cache: AnswerCache | None = None
    """``None`` when the semantic cache is disabled."""
    user_memory: UserMemory | None = None
    """Facts users asked to be remembered; ``None`` when ``user_memory`` is off."""
    model_version: str = "local"
    """Model name + prompt version; cache entries are scoped by it."""
    thread_loader: Callable[[], Awaitable[list[dict[str, str]]]] | None = None
    """Per turn, set by a chat surface: fetches the surrounding thread (``{"user", "text"}``,
    oldest first) when a tool needs it, so only summaries pay for the fetch."""
    stream_answers: bool = False
    """Per turn: someone watches the answer as it is written, so ``generate`` releases checked
    text through the graph's ``custom`` stream (``{"answer_delta": text}``)."""
    scan: Scan | None = injection_reason
    """Scans retrieved passages and tool output before the model or the user sees them (a
    flagged passage is dropped, flagged tool output marked); ``None`` turns that off."""
