"""Sentences of an answer or a passage: where each one starts and ends.

``sentence_spans`` skips what states nothing (code blocks, reStructuredText literal blocks,
list and heading marks) and does not end a sentence at an abbreviation ("e.g.") or inside a
citation marker. Shared by the groundedness and system-prompt-leak checks.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", re.DOTALL)
_OPEN_FENCE = re.compile(r"(?:```|~~~)[\w+-]*")
_LITERAL = re.compile(r"::[ \t]*\n((?:[ \t]*\n)*(?:[ \t]+\S[^\n]*(?:\n|\Z)|[ \t]*\n)*)")
_LINE_START = re.compile(r"[ \t]*(?:[-*+•‣◦]|\d{1,3}[.)]|#{1,6}|>|\|)[ \t]+|[ \t]*\|")
_HEADING = re.compile(r"[ \t]*#{1,6}[ \t]")
_MARKERS = r"(?:[ \t]*\[\d{1,3}(?:\s*,\s*\d{1,3})*\](?!\())*"
_END = re.compile(rf"[.!?]+[\"'”’)\]*_`]*{_MARKERS}(?=\s|$)|[。！？]+{_MARKERS}")
_ABBREVIATIONS = frozenset("e.g i.e etc vs cf approx fig mr mrs ms dr st no".split())


def sentence_spans(text: str, code: bool = False) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text``, in order, without list or heading marks.

    A blank line, a list item, a heading, a quote or a table row starts a new block; other lines
    continue the one before (hard-wrapped prose). Fenced code is left out, or with ``code=True``
    each of its non-blank lines is a span of its own.
    """
    masked = text
    code_lines: list[tuple[int, int]] = []
    for start, end in code_blocks(text):
        block = text[start:end]
        masked = masked[:start] + re.sub(r"[^\n]", " ", block) + masked[end:]
        if code:
            code_lines += _code_lines(block, start)
    spans: list[tuple[int, int]] = []
    for begin, end in _blocks(masked):
        spans += _split_block(masked, begin, end)
    return sorted(spans + code_lines)


def code_blocks(text: str) -> list[tuple[int, int]]:
    """Fenced blocks, and reStructuredText literal blocks (indented lines after ``::``)."""
    fences = [m.span() for m in _FENCE.finditer(text)] if "```" in text or "~~~" in text else []
    literals = [m.span(1) for m in _LITERAL.finditer(text)] if "::" in text else []
    inside = [s for s in literals if not any(a <= s[0] < b for a, b in fences)]
    return sorted(fences + [s for s in inside if s[0] < s[1]])


def _code_lines(block: str, offset: int) -> list[tuple[int, int]]:
    """The non-blank lines of a code block, fences and language tag excluded, trimmed."""
    fence = _OPEN_FENCE.match(block)
    spans = []
    for a, b in _line_spans(block):
        a += fence.end() if a == 0 and fence else 0
        b -= 3 if b == len(block) and block.endswith(("```", "~~~"), a, b) else 0
        spans += [(offset + x, offset + y) for x, y in _trim(block, [(a, b)])]
    return spans


def _trim(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` without their outer blanks; blank ones dropped."""
    out = []
    for a, b in spans:
        piece = text[a:b]
        if piece.strip():
            a += len(piece) - len(piece.lstrip())
            out.append((a, a + len(piece.strip())))
    return out


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, at = [], 0
    for line in text.split("\n"):
        spans.append((at, at + len(line)))
        at += len(line) + 1
    return spans


def _blocks(masked: str) -> list[tuple[int, int]]:
    """Blocks of prose lines as ``(start, end)``, list and heading marks excluded."""
    blocks: list[tuple[int, int]] = []
    open_block = False
    for start, end in _line_spans(masked):
        line = masked[start:end]
        mark = _LINE_START.match(line)
        if not line.strip():
            open_block = False
            continue
        if mark or not open_block:
            blocks.append((start + (mark.end() if mark else 0), end))
        else:
            blocks[-1] = (blocks[-1][0], end)
        open_block = _HEADING.match(line) is None
    return blocks


def _split_block(masked: str, begin: int, end: int) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    cursor = begin
    for m in _END.finditer(masked, begin, end):
        if m.group().startswith(".") and _abbreviated(masked, cursor, m.start()):
            continue
        spans.append((cursor, m.end()))
        cursor = m.end()
    return _trim(masked, [*spans, (cursor, end)])


def _abbreviated(masked: str, start: int, dot: int) -> bool:
    """True when the word ending at ``dot`` is an abbreviation ("e.g.", "etc.") or an initial."""
    word = re.search(r"[\w.]*$", masked[start:dot])
    token = word.group().lower() if word else ""
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())
