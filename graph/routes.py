"""Routing functions: tiny, synchronous, typed by the node names they may return."""

from __future__ import annotations

from typing import Literal

from graph.state import State


def after_input(state: State) -> Literal["refuse", "contextualize"]:
    """A rejected message is refused; anything else is read in the context of the thread."""
    return "refuse" if state.blocked_reason else "contextualize"


def after_cache(state: State) -> Literal["save_memory", "load_memory"]:
    """A verified cache hit is already a guarded answer: record it and stop."""
    return "save_memory" if state.cache_hit else "load_memory"


def after_output(state: State) -> Literal["generate", "store_cache"]:
    """An answer the sources do not support is generated once more; anything else goes on."""
    return "generate" if state.regenerate else "store_cache"


def by_intent(state: State) -> Literal["retrieve", "call_tool", "generate"]:
    """Questions retrieve, chitchat goes straight to the model, everything else is a tool."""
    match state.intent:
        case "question":
            return "retrieve"
        case "chitchat":
            return "generate"
        case "summarize" | "escalate" | "ops_stats" | "feedback":
            return "call_tool"
        case other:
            raise ValueError(f"no route for intent {other!r}")
