"""Routing functions: tiny, synchronous, typed by the node names they may return."""

from __future__ import annotations

from typing import Literal

from graph.state import State


def after_input(state: State) -> Literal["refuse", "user_memory"]:
    """A rejected message is refused; anything else may be a memory command."""
    return "refuse" if state.blocked_reason else "user_memory"


def after_user_memory(state: State) -> Literal["__end__", "contextualize"]:
    """A memory command is answered (and not kept in conversation memory); anything else is
    read in the context of the thread."""
    return "__end__" if state.intent == "memory" else "contextualize"


def after_cache(state: State) -> Literal["save_memory", "load_memory"]:
    """A verified cache hit is already a guarded answer: record it and stop."""
    return "save_memory" if state.cache_hit else "load_memory"


def after_output(state: State) -> Literal["generate", "store_cache"]:
    """An answer the sources do not support is generated once more; anything else goes on."""
    return "generate" if state.regenerate else "store_cache"


def by_intent(state: State) -> Literal["retrieve", "plan_tools", "call_tool", "generate"]:
    """Questions retrieve, chitchat goes straight to the model, everything else is a tool: the
    model picks it when it plans tool calls, else the intent's tool runs."""
    match state.intent:
        case "question":
            return "retrieve"
        case "chitchat":
            return "generate"
        case "summarize" | "escalate" | "ops_stats" | "feedback":
            return "plan_tools" if state.planning else "call_tool"
        case other:
            raise ValueError(f"no route for intent {other!r}")
