"""The whole flow of one turn, wired in one place.

check_input ─┬─ refuse ─▶ END
             └─ user_memory ─┬─ (remember / recall / forget) ─▶ END
                             └─ contextualize → lookup_cache ─┬─ (hit) ──────────────────┐
                                              └─ load_memory → classify_intent ─┐        │
  ┌─────────────────────────────────────────────────────────────────────────────┘        │
  └─┬─ retrieve ───┐                                                                     │
    ├─ plan_tools ─┼▶ generate → check_output → store_cache → save_memory ◀──────────────┘ → END
    ├─ call_tool ──┘     ▲            │ (an answer the sources do not support: once more)
    └────────────────────┴────────────┘  (chitchat goes straight to generate)

plan_tools: a capable model calls tools in a loop; call_tool: the intent's tool (embedded).
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.types import RetryPolicy

from graph.context import BotContext
from graph.nodes.call_tool import call_tool
from graph.nodes.check_input import check_input
from graph.nodes.check_output import check_output
from graph.nodes.classify_intent import classify_intent
from graph.nodes.contextualize import contextualize
from graph.nodes.generate import generate, retryable
from graph.nodes.load_memory import load_memory
from graph.nodes.lookup_cache import lookup_cache
from graph.nodes.plan_tools import plan_tools
from graph.nodes.refuse import refuse
from graph.nodes.retrieve import retrieve
from graph.nodes.save_memory import save_memory
from graph.nodes.store_cache import store_cache
from graph.nodes.user_memory import user_memory
from graph.routes import after_cache, after_input, after_output, after_user_memory, by_intent
from graph.state import InputState, State

builder = StateGraph(State, input_schema=InputState, context_schema=BotContext)

builder.add_node(check_input)
builder.add_node(refuse)
builder.add_node(user_memory)
builder.add_node(contextualize)
builder.add_node(lookup_cache)
builder.add_node(load_memory)
builder.add_node(classify_intent)
builder.add_node(retrieve)
builder.add_node(plan_tools)
builder.add_node(call_tool)
builder.add_node(generate, retry_policy=RetryPolicy(max_attempts=2, retry_on=retryable))
builder.add_node(check_output)
builder.add_node(store_cache)
builder.add_node(save_memory)

builder.add_edge(START, "check_input")
builder.add_conditional_edges("check_input", after_input)
builder.add_edge("refuse", END)
builder.add_conditional_edges("user_memory", after_user_memory)
builder.add_edge("contextualize", "lookup_cache")
builder.add_conditional_edges("lookup_cache", after_cache)
builder.add_edge("load_memory", "classify_intent")
builder.add_conditional_edges("classify_intent", by_intent)
builder.add_edge("retrieve", "generate")
builder.add_edge("plan_tools", "generate")
builder.add_edge("call_tool", "generate")
builder.add_edge("generate", "check_output")
builder.add_conditional_edges("check_output", after_output)
builder.add_edge("store_cache", "save_memory")
builder.add_edge("save_memory", END)

graph = builder.compile(name="assistant")
"""Compiled without a checkpointer (stateless); ``graph.assistant`` compiles with Redis memory."""
