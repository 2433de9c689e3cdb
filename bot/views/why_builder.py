"""'Why this answer?': the content-free facts of a turn, and the ephemeral message showing them.

Contract: ``explanation(result)`` keeps only metadata (route, intent, scores, sources, guard
verdicts, timings, token counts, trace id), never the question, the answer or chunk text, so it
may be stored (Redis) and shown later. ``why_blocks(explanation)`` renders such a dict, tolerating
missing keys, within Block Kit limits (section text ≤ 3000 chars, ≤ 50 blocks).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_sdk.models.blocks import ContextBlock, HeaderBlock, MarkdownTextObject, SectionBlock

from bot.views.text import escape_mrkdwn, fit_lines, truncate

if TYPE_CHECKING:
    from graph.assistant import TurnResult

EXPLANATION_VERSION = 1
MAX_ROUTE = 30
MAX_RETRIEVED = 12
MAX_TIMINGS = 20
MAX_NOTE_CHARS = 200
SECTION_LIMIT = 3000
TIMING_ORDER: tuple[str, ...] = (
    "guard.input",
    "cache.lookup",
    "intent.classify",
    "retrieval",
    "execute_tool",
    "chat",
    "guard.output",
    "cache.store",
)
"""Span-name prefixes in pipeline order; other spans follow, then ``total``."""

BlockDict = dict[str, Any]


def _score(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return round(float(value), 3)
    return None


def explanation(result: TurnResult) -> dict[str, Any]:
    """The JSON-serialisable, content-free facts behind ``result``.

    Keys: ``version``, ``trace_id``, ``route``, ``intent``, ``intent_confidence``,
    ``intent_method``, ``retrieved`` (``n``, ``source``, ``heading``, ``score`` rounded to 3),
    ``cited`` (sorted citation numbers), ``tool``, ``blocked_reason``, ``pii_kinds``,
    ``guard_problems``, ``cached``, ``timings_ms`` (rounded to 0.1), ``usage``
    (``input_tokens``, ``output_tokens``). No question, answer or chunk text.
    """
    usage = result.usage or {}
    return {
        "version": EXPLANATION_VERSION,
        "trace_id": result.trace_id,
        "route": [str(node) for node in result.route],
        "intent": result.intent,
        "intent_confidence": round(float(result.intent_confidence or 0.0), 3),
        "intent_method": result.intent_method or "",
        "retrieved": [
            {
                "n": d.get("n"),
                "source": str(d.get("source") or ""),
                "heading": str(d.get("heading") or ""),
                "score": _score(d.get("score")),
            }
            for d in result.retrieved
        ],
        "cited": sorted({int(c["n"]) for c in result.citations if isinstance(c.get("n"), int)}),
        "tool": result.tool,
        "blocked_reason": result.blocked_reason,
        "pii_kinds": sorted({str(kind) for kind in result.pii_kinds}),
        "guard_problems": [truncate(str(p), MAX_NOTE_CHARS) for p in result.guard_problems],
        "cached": bool(result.cached),
        "timings_ms": {str(k): round(float(v), 1) for k, v in (result.timings_ms or {}).items()},
        "usage": {
            "input_tokens": int(usage.get("input_tokens") or 0),
            "output_tokens": int(usage.get("output_tokens") or 0),
        },
    }


def _section(text: str) -> BlockDict:
    body = fit_lines(text.split("\n"), SECTION_LIMIT)
    return SectionBlock(text=MarkdownTextObject(text=body)).to_dict()


def _code(text: str) -> str:
    clean = escape_mrkdwn(str(text).replace("`", "'"))
    return f"`{clean}`"


def route_text(route: list[str]) -> str:
    """``a → b → c`` with each node name in code (at most 30), or ``(none recorded)``."""
    if not route:
        return "_(none recorded)_"
    shown = " → ".join(_code(truncate(str(node), 60)) for node in route[:MAX_ROUTE])
    return shown + (f" → … ({len(route) - MAX_ROUTE} more)" if len(route) > MAX_ROUTE else "")


def intent_text(facts: Mapping[str, Any]) -> str:
    """``question (92%, embedding)``; ``unknown`` when no intent was set (e.g. a blocked turn)."""
    intent = facts.get("intent")
    if not intent:
        return "unknown"
    confidence = float(facts.get("intent_confidence") or 0.0)
    method = facts.get("intent_method") or "default"
    return f"{escape_mrkdwn(str(intent))} ({confidence:.0%}, {escape_mrkdwn(str(method))})"


def retrieved_text(facts: Mapping[str, Any]) -> str:
    """One line per retrieved source with its score; cited ones marked ✓ (at most 12 lines)."""
    retrieved = list(facts.get("retrieved") or [])
    if not retrieved:
        return "_none: no knowledge search for this turn_"
    cited = set(facts.get("cited") or [])
    lines = []
    for doc in retrieved[:MAX_RETRIEVED]:
        mark = "✓ cited" if doc.get("n") in cited else "not cited"
        score = doc.get("score")
        score_text = f"{score:.3f}" if isinstance(score, int | float) else "n/a"
        heading = escape_mrkdwn(truncate(str(doc.get("heading") or ""), 80))
        source = _code(truncate(str(doc.get("source") or ""), 120))
        title = f"{heading} — {source}" if heading else source
        lines.append(f"[{doc.get('n', '?')}] {title} · score {score_text} · {mark}")
    if len(retrieved) > MAX_RETRIEVED:
        lines.append(f"…and {len(retrieved) - MAX_RETRIEVED} more")
    return "\n".join(lines)


def guards_text(facts: Mapping[str, Any]) -> str:
    """Input verdict, redacted PII kinds and the output check, one per line."""
    blocked = facts.get("blocked_reason")
    lines = [f"Input: blocked — {escape_mrkdwn(str(blocked))}" if blocked else "Input: passed"]
    pii = facts.get("pii_kinds") or []
    lines.append(
        f"PII redacted: {escape_mrkdwn(truncate(', '.join(map(str, pii)), 300))}"
        if pii
        else "PII: none found"
    )
    problems = facts.get("guard_problems") or []
    route = facts.get("route") or []
    if problems:
        notes = "; ".join(escape_mrkdwn(truncate(str(p), MAX_NOTE_CHARS)) for p in problems[:5])
        lines.append(f"Output: fixed — {notes}")
    elif "check_output" in route:
        lines.append("Output: citations OK")
    elif facts.get("cached"):
        lines.append("Output: checked when the cached answer was first made")
    else:
        lines.append("Output: not checked")
    return "\n".join(lines)


def _timing_rank(name: str) -> int:
    for rank, prefix in enumerate(TIMING_ORDER):
        if name == prefix or name.startswith(prefix + " ") or name.startswith(prefix + "."):
            return rank
    return len(TIMING_ORDER)


def ordered_timings(timings: Mapping[str, float]) -> list[tuple[str, float]]:
    """Timings in pipeline order (unknown spans after, in their given order), ``total`` last.

    The root ``turn`` span is dropped when ``total`` is present (they measure the same thing).
    """
    skip = {"total", "turn"} if "total" in timings else set()
    steps = [(name, value) for name, value in timings.items() if name not in skip]
    steps.sort(key=lambda item: _timing_rank(item[0]))  # stable: unknown spans keep their order
    if "total" in timings:
        steps.append(("total", timings["total"]))
    return steps


def _ms(value: float) -> str:
    """``3.2 ms`` under 10 ms, else whole milliseconds with thousands separators."""
    return f"{value:.1f} ms" if abs(value) < 10 else f"{value:,.0f} ms"


def latency_text(timings: Mapping[str, float]) -> str:
    """``name  12 ms`` lines in pipeline order, total last in bold (at most 20 steps)."""
    steps = ordered_timings(timings)
    if not steps:
        return "_no timings recorded_"
    total = steps.pop() if steps[-1][0] == "total" else None
    lines = [f"{_code(name)} {_ms(value)}" for name, value in steps[:MAX_TIMINGS]]
    if len(steps) > MAX_TIMINGS:
        lines.append(f"…and {len(steps) - MAX_TIMINGS} more")
    if total is not None:
        lines.append(f"*total* {_ms(total[1])}")
    return "\n".join(lines)


def tokens_text(facts: Mapping[str, Any]) -> str:
    """``512 in / 128 out``, or ``no model call`` when both counts are zero."""
    usage = facts.get("usage") or {}
    tokens_in = int(usage.get("input_tokens") or 0)
    tokens_out = int(usage.get("output_tokens") or 0)
    if not tokens_in and not tokens_out:
        return "no model call (cached answer)" if facts.get("cached") else "no model call"
    return f"{tokens_in:,} in / {tokens_out:,} out"


def why_blocks(facts: Mapping[str, Any]) -> list[BlockDict]:
    """The ephemeral "Why this answer" message body for an ``explanation()`` dict.

    Header, route, intent/cache/tool/tokens, retrieved sources, guard verdicts, latency per step
    and the trace id: nine blocks at most, each section within 3000 characters.
    """
    tool = facts.get("tool")
    cache = "hit — answered from the semantic cache" if facts.get("cached") else "miss"
    summary = "\n".join(
        [
            f"*Intent:* {intent_text(facts)}",
            f"*Cache:* {cache}",
            f"*Tool:* {_code(tool) if tool else 'none'}",
            f"*Tokens:* {tokens_text(facts)}",
        ]
    )
    trace_id = str(facts.get("trace_id") or "unknown")
    return [
        HeaderBlock(text="Why this answer").to_dict(),
        _section(f"*Route*\n{route_text(list(facts.get('route') or []))}"),
        _section(summary),
        _section(f"*Retrieved sources*\n{retrieved_text(facts)}"),
        _section(f"*Guards*\n{guards_text(facts)}"),
        _section(f"*Latency*\n{latency_text(facts.get('timings_ms') or {})}"),
        ContextBlock(elements=[MarkdownTextObject(text=f"Trace id {_code(trace_id)}")]).to_dict(),
    ]
