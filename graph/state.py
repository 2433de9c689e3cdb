"""The graph's state: a narrow input and the per-turn working fields.

``messages`` is the conversation memory: the checkpointer (Redis) keeps it per conversation id and
``save_memory`` appends each finished turn. Every other field describes the current turn only;
``check_input`` resets them at the start of a turn so nothing leaks from the previous one.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

from graph.settings import Intent
from guards.policy import GuardPolicy

IntentMethod = Literal["embedding", "llm", "default", "rule", ""]


@dataclass(kw_only=True)
class InputState:
    """What a caller passes in for one turn."""

    question: str = ""
    """The user's message, as received."""
    user_id: str = "local"
    """Who asked (a Slack user id, or ``local`` in the terminal)."""
    trace_id: str = ""
    """The turn's trace id; the caller opens the root span and passes it in."""
    spaces: list[str] = field(default_factory=list)
    """Knowledge spaces (index scopes) this turn may read; empty means ``knowledge_scope``."""
    experts: list[str] = field(default_factory=list)
    """Chat mentions (e.g. ``<@U123>``) an escalation should tag."""
    tools_allowed: list[str] | None = None
    """Tool names this turn may run; ``None`` allows every registered tool."""
    guard_policy: dict[str, Any] | None = None
    """This channel's guard actions (``guards.policy.GuardPolicy`` fields); ``None`` uses the
    ``guards`` setting."""
    fresh: bool = False
    """Skip the semantic cache for this turn (the asker wants a newly made answer to the
    standalone question ``question`` already is); the new answer may be cached."""
    private: bool = False
    """Only the asker sees this conversation (a DM, an ephemeral answer, the terminal): the facts
    they asked the assistant to remember are used and shown only then."""


def turn_spaces(state: InputState, default: str) -> list[str]:
    """The knowledge spaces a turn reads: its own, or ``default``; sorted, without duplicates."""
    return sorted(set(state.spaces)) or [default]


def turn_policy(state: InputState, default: GuardPolicy) -> GuardPolicy:
    """``default`` with the channel's own guard actions (``state.guard_policy``) on top."""
    if not state.guard_policy:
        return default
    return GuardPolicy.model_validate({**default.model_dump(), **state.guard_policy})


def cache_scope(state: InputState, default_space: str, default_policy: GuardPolicy) -> str:
    """A turn's semantic-cache scope: its spaces and a fingerprint of its guard policy, so a
    channel never gets an answer built from spaces it may not read, nor one checked under
    another channel's rules (``pii: log`` keeps personal data that ``redact`` removes)."""
    spaces = turn_spaces(state, default_space)
    policy = turn_policy(state, default_policy).model_dump_json()
    seed = json.dumps([spaces, policy])  # unambiguous whatever the space names hold
    fingerprint = hashlib.sha256(seed.encode()).hexdigest()[:16]
    readable = re.sub(r"[^\w.+-]", "_", "+".join(spaces))[:60]  # no tag separators
    return f"{readable}/{fingerprint}"


@dataclass(kw_only=True)
class State(InputState):
    """The full state of a conversation while a turn runs through the graph."""

    messages: Annotated[list[AnyMessage], add_messages] = field(default_factory=list)
    """The conversation so far (persisted by the checkpointer)."""
    summary: dict[str, Any] = field(default_factory=dict)
    """What memory keeps of the messages it dropped (``graph.memory_summary``; persisted)."""
    user_facts: list[str] = field(default_factory=list)
    """What the asker asked the assistant to remember about them (``graph.user_memory``)."""
    clean_question: str = ""
    """``question`` after the input guard (PII redacted): the only text the model sees."""
    query: str = ""
    """The standalone question: ``clean_question``, or a follow-up rewritten with the previous
    question (``graph.followups``). The cache, the intent, retrieval and the prompt use it."""
    blocked_reason: str | None = None
    """Why the input guard rejected the message, if it did."""
    pii_kinds: list[str] = field(default_factory=list)
    guard_findings: list[str] = field(default_factory=list)
    """Every guard verdict of this turn, ``"check: action (detail)"`` (never the content)."""
    guard_notices: list[str] = field(default_factory=list)
    """Short notes for the asker (a warning, a removed secret), shown under the answer."""
    cache_hit: bool = False
    cache_age_s: float | None = None
    """How old the cached answer is, on a hit."""
    cache_match: str = ""
    """How a hit was found: ``same words`` (its signature) or ``same`` (embedding, verified)."""
    started_at: float = 0.0
    """When the turn started (epoch seconds): a cache entry records how long its answer took."""
    history: list[AnyMessage] = field(default_factory=list)
    """The recent messages the model may see this turn."""
    previous_trace_id: str | None = None
    """Trace id of the assistant's previous answer (target of feedback)."""
    intent: Intent | None = None
    intent_confidence: float = 0.0
    intent_method: IntentMethod = ""
    planning: bool = False
    """A tool intent whose tools the chat model picks (``graph.planner``), not the routing."""
    docs: list[dict[str, Any]] = field(default_factory=list)
    """Retrieved chunks, numbered by position: ``[1]`` is ``docs[0]``."""
    tool_name: str | None = None
    tool_output: str | None = None
    approval: dict[str, Any] | None = None
    """A tool call waiting for the asker's approval (``graph.tools.approval``): ``{"id",
    "tool", "args", "expires_in_s"}``; nothing ran yet."""
    tool_steps: list[dict[str, Any]] = field(default_factory=list)
    """The tool calls of this turn, in order: ``{"tool", "args", "ok", "note"}`` (the plan the
    asker sees while a planning model works)."""
    answer: str = ""
    verbatim: bool = False
    """The answer is not the model's text: a passage quoted word for word (``graph.quote``) or
    the closest sources named; it is not checked for grounding."""
    grounded: bool = False
    """``check_output`` found the answer supported by the sources (and keeping what was shown):
    only such answers are cached."""
    shown: str = ""
    """What the user already saw of this turn's answer: the text the streaming guard released
    (``guards.stream_guard``), never raw model output."""
    citations: list[dict[str, Any]] = field(default_factory=list)
    """``{"n", "id", "source", "heading", "text"}`` for each citation marker in the answer."""
    guard_problems: list[str] = field(default_factory=list)
    grounding_attempts: int = 0
    """How many answers of this turn failed the groundedness check (regenerated once)."""
    regenerate: bool = False
    """Set by ``check_output`` when the answer must be generated again."""
    usage: dict[str, int] = field(default_factory=dict)
    """Model token counts of this turn (``input_tokens``, ``output_tokens``) when it called one."""
