"""Untrusted text at answer time: retrieved passages and tool output are data, never instructions.

Contract:

* ``injection_reason(text)`` is the scanner: the shipped prompt-injection detector's short
  reason (pattern names, classifier score; never the text) when it flags ``text``, else ``None``.
  Ingestion quarantines chunks with it and the graph scans what it shows the model with it. It
  flags on a pattern match or a classifier score of at least ``FLAG_SCORE``, stricter than the
  detector's verdict on chat messages, which fires on plain documentation (see ``FLAG_SCORE``).
* ``neutralise(text)`` rewrites whatever could pass for one of the prompt's delimiters (a
  ``<document>`` / ``<tool_output>`` tag, HTML-escaped or with look-alike brackets and slashes,
  and chat-template tokens such as ``<|im_end|>``), so a passage cannot close its block and go on
  as instructions; zero-width characters are removed first so they cannot split a name.
* ``document_block(n, doc)`` is one passage as the prompt shows it; ``flag_tool_output`` puts a
  warning line above tool output the scanner flagged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from graph.prompts import DOCUMENT_ITEM, TOOL_OUTPUT_FLAGGED

Scan = Callable[[str], str | None]
"""Text -> why it looks like a prompt injection, or ``None`` when it looks clean."""

FLAG_SCORE = 0.95
"""Measured on document chunks: the detector's own verdict (tuned for chat messages) flagged
22-29 of the 69 chunks of this repo's docs/ (two model versions) and 13 of 4,577 sampled
Python-docs chunks; a pattern or this score flagged none of the former and 6 of the latter, and
caught the same 5 of 10 hand-written injections embedded in a passage as the verdict did."""

SOURCE_CHARS = 700
"""Per-source text budget in the prompt (the local model has a small context)."""

_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad]")
_OPEN = r"(?:<|&lt;|&#0*60;|&#x0*3c;|\\u003c|[\uff1c\ufe64\u2039\u3008\u27e8\u2329])"
_SLASH = r"(?:/|\\|&#0*47;|&#x0*2f;|[\uff0f\u2215\u2044\u29f8])"
_DELIMITER = re.compile(rf"{_OPEN}\s*({_SLASH}?)\s*(document|tool[\s_-]*output)", re.IGNORECASE)
_TEMPLATE_TOKEN = re.compile(r"<\s*\||\|\s*>")


def neutralise(text: str) -> str:
    """``text`` with delimiter look-alikes made plain: ``</document>`` becomes
    ``[/document>``, ``<|im_end|>`` becomes ``< |im_end| >``."""
    text = _INVISIBLE.sub("", text)
    text = _DELIMITER.sub(lambda m: f"[{'/' if m.group(1) else ''}{m.group(2)}", text)
    return _TEMPLATE_TOKEN.sub(lambda m: "< |" if m.group().startswith("<") else "| >", text)


def _attribute(value: str) -> str:
    """A value safe inside ``attr="..."``: neutralised, one line, no quotes or brackets."""
    plain = neutralise(value).translate({ord('"'): "'", ord("<"): "(", ord(">"): ")"})
    return " ".join(plain.split())[:200]


def excerpt(doc: dict[str, Any], limit: int = SOURCE_CHARS) -> str:
    """What the prompt shows of a retrieved passage: all of it when it fits ``limit``, else
    the chunk that matched (the start of it)."""
    text = str(doc["text"])
    if len(text) <= limit:
        return text
    return str(doc.get("chunk_text") or text)[:limit]


def document_block(n: int, doc: dict[str, Any]) -> str:
    """Passage ``n`` (``doc`` as the retrieve node stores it) wrapped in its ``<document>``
    block, with its heading and excerpt neutralised."""
    return DOCUMENT_ITEM.format(
        n=n,
        source=_attribute(str(doc.get("source", ""))),
        heading=" ".join(neutralise(str(doc.get("heading", ""))).split()),
        text=neutralise(excerpt(doc)),
    )


_MD_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(\s*([^)\s]*)[^)\n]*\)")
_CHAT_MARKUP = re.compile(r"<\s*([!@#][^>\n]*|(?:https?|mailto):[^>\n]*)>", re.IGNORECASE)


def as_plain_data(text: str) -> str:
    """Text from outside (a service's reply, a model's tool arguments) that may be shown in
    chat, made inert: markdown links and images become ``text (url)`` (nothing renders, nothing
    loads), and chat markup (``<!channel>``, ``<@U1>``, ``<https://x|label>``) is bracketed
    with ``‹ ›`` so it pings no one and hides no link."""
    text = _MD_LINK.sub(
        lambda m: f"{m.group(2)} ({m.group(3)})" if m.group(3) else m.group(2), text
    )
    return _CHAT_MARKUP.sub(lambda m: f"\u2039{m.group(1)}\u203a", text)


def flag_tool_output(text: str) -> str:
    """Tool output the scanner flagged: the warning line, then the output neutralised."""
    return f"{TOOL_OUTPUT_FLAGGED}\n{neutralise(text)}"


def injection_reason(text: str) -> str | None:
    """Why the shipped detector flags ``text`` (a pattern, or a score of ``FLAG_SCORE``), or
    ``None`` (loaded on first use, about a second once per process; then ~1-5 ms per
    1,000-4,000 characters)."""
    from guards.injection import get_detector

    verdict = get_detector().check(text)
    if not verdict.patterns and verdict.score < FLAG_SCORE:
        return None
    return ", ".join(verdict.reasons())


def screen_passages(
    docs: list[dict[str, Any]], scan: Scan | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """``docs`` without those whose shown text (heading and excerpt) ``scan`` flags, and the
    ids of the ones dropped, in order."""
    if scan is None:
        return docs, []
    flagged = [scan(f"{doc.get('heading', '')}\n{excerpt(doc)}") is not None for doc in docs]
    kept = [doc for doc, bad in zip(docs, flagged, strict=True) if not bad]
    return kept, [str(doc["id"]) for doc, bad in zip(docs, flagged, strict=True) if bad]
