"""``assistant bench tools``: does the assistant pick the right tool, with the right arguments?

Rows ``{"id", "text", "expected_tool", "expected_args"?}``; ``expected_tool`` is a tool name or
``null`` (answer from the documents or chat, no tool). Each text goes through the routing the
graph uses with the configured settings: the intent classifier (with the configured chat model as
its fallback on uncertain messages, as in ``Assistant``), then, on a tool intent, either the
planning model's first tool call (``tools.planning`` resolved to ``model``: the model sees every
configured tool's schema, ``graph.planner.first_call``) or the intent's tool and its argument
extraction (``graph.nodes.call_tool``). No tool runs.

Reported: tool-selection accuracy over all rows; argument exact match over the rows that give
``expected_args`` and got the right tool; no-tool precision (of the messages routed to no tool,
how many needed none); failures by type: ``planning`` (wrong tool, a tool when none was needed,
none when one was) and ``tool`` (right tool, wrong arguments); routing latency.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graph.nodes.call_tool import TOOL_FOR_INTENT, tool_arguments, tool_for
from graph.settings import TOOL_INTENTS
from graph.state import State
from observe.errors import InputRejected
from observe.jsonl import json_rows
from observe.stats import percentile

if TYPE_CHECKING:
    from graph.settings import Settings

SHIPPED = Path(__file__).parent / "data" / "tools" / "shipped.jsonl"


def load_rows(path: Path, known: set[str] | None = None) -> list[dict[str, Any]]:
    """The rows of a tool-selection file; a bad row is an error naming its line. ``known`` is
    the set of tool names a row may expect (default: the built-in routed tools)."""
    rows = []
    known = known or set(TOOL_FOR_INTENT.values())
    for where, row in json_rows(path, hint='check --data: {"text", "expected_tool"} rows'):
        if not str(row.get("text") or "").strip():
            raise InputRejected(f'{where}: a row needs a non-empty "text"')
        if "expected_tool" not in row or row["expected_tool"] not in known | {None}:
            raise InputRejected(f'{where}: "expected_tool" must be null or one of {sorted(known)}')
        row.setdefault("id", f"{path.stem}:{where.rsplit(':', 1)[1]}")
        rows.append(row)
    if not rows:
        raise InputRejected(f"{path} has no rows")
    return rows


def route(
    intent: str, text: str, settings: Settings | None = None
) -> tuple[str | None, dict[str, Any]]:
    """The tool and arguments the embedded routing gives a message classified as ``intent``."""
    tool = tool_for(intent, settings) if settings is not None else TOOL_FOR_INTENT.get(intent)
    if tool is None:
        return None, {}
    state = State(intent=intent, clean_question=text)  # type: ignore[arg-type]
    return tool, tool_arguments(state, tool, settings)


async def bench_tools(path: Path, settings: Settings | None = None) -> dict[str, Any]:
    """Route every row with the configured classifier, model and tools; the report in the
    module docstring."""
    import asyncio

    from graph.assistant import llm_intent_fallback
    from graph.factories import build_classifier
    from graph.llm import build_chat_model
    from graph.planner import first_call
    from graph.settings import load_settings
    from graph.tools.setup import build_registry

    settings = settings or load_settings()
    registry, mcp = await build_registry(settings)
    await mcp.aclose()  # no tool runs: the schemas are all the benchmark needs
    rows = load_rows(path, set(registry.names()))
    llm = build_chat_model(settings)
    classifier = build_classifier(settings, fallback=llm_intent_fallback(llm))
    await asyncio.to_thread(classifier.fit)
    tools = registry.allowed(None)
    decided: list[tuple[dict[str, Any], str | None, dict[str, Any]]] = []
    latency: list[float] = []
    for row in rows:
        text = str(row["text"])
        started = time.perf_counter()
        prediction = await classifier.apredict(text)
        if prediction.intent in TOOL_INTENTS and settings.plans_tools:
            try:
                tool, args = await first_call(llm, tools, text)
            except Exception as exc:  # one failed model call is one failed row, not the run
                tool, args = f"error: {type(exc).__name__}", {}
        else:
            tool, args = route(prediction.intent, text, settings)
        latency.append((time.perf_counter() - started) * 1000)
        decided.append((row, tool, args))
    planning = "model" if settings.plans_tools else "routing"
    return {**report(decided, latency, model=settings.chat_model), "planning": planning}


def report(
    decided: list[tuple[dict[str, Any], str | None, dict[str, Any]]],
    latency: list[float],
    *,
    model: str,
) -> dict[str, Any]:
    """Scores of routed rows: ``(row, tool, args)`` each."""
    right = [(r, t, a) for r, t, a in decided if t == r["expected_tool"]]
    with_args = [(r, a) for r, _, a in right if r.get("expected_args")]
    args_ok = [r for r, a in with_args if all(a.get(k) == v for k, v in r["expected_args"].items())]
    no_tool = [r for r, t, _ in decided if t is None]
    failures = [
        {
            "id": r["id"],
            "type": "planning" if t != r["expected_tool"] else "tool",
            "expected": r["expected_tool"],
            "got": t,
            **({"args": a, "expected_args": r["expected_args"]} if t == r["expected_tool"] else {}),
        }
        for r, t, a in decided
        if t != r["expected_tool"] or r not in args_ok and r.get("expected_args")
    ]
    per_tool: dict[str, list[bool]] = {}
    for r, t, _ in decided:
        per_tool.setdefault(str(r["expected_tool"]), []).append(t == r["expected_tool"])
    return {
        "n": len(decided),
        "model": model,
        "tool_accuracy": round(len(right) / len(decided), 4),
        "args_exact": round(len(args_ok) / len(with_args), 4) if with_args else None,
        "no_tool_precision": (
            round(sum(r["expected_tool"] is None for r in no_tool) / len(no_tool), 4)
            if no_tool
            else None
        ),
        "accuracy_by_expected_tool": {
            k: round(sum(v) / len(v), 4) for k, v in sorted(per_tool.items())
        },
        "failures_by_type": {
            kind: sum(f["type"] == kind for f in failures) for kind in ("planning", "tool")
        },
        "failures": failures,
        "routing_ms": {
            "p50": round(percentile(latency, 50) or 0.0, 2),
            "p95": round(percentile(latency, 95) or 0.0, 2),
        },
    }
