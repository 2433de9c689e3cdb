"""Chunking: sections into retrieval-sized chunks with stable, content-derived ids.

Contract: chunks never cross a section boundary, break on paragraph boundaries, keep a fenced or
literal code block whole unless the block alone exceeds the limit, and hold at most ``max_chars``
characters of body text. ``Chunk.id`` depends only on (scope, source, heading, text), so
re-chunking an unchanged document yields the same ids. ``Chunk.embed_text`` is the text to embed:
the heading path as a contextual header, a blank line, then the body.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from knowledge.loaders import Section

DEFAULT_CHUNK_CHARS = 1000
HEADING_SEPARATOR = " > "
_MIN_CHUNK_CHARS = 200

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of a document; ``position`` is its order within the source."""

    id: str
    text: str
    source: str
    heading: str
    scope: str
    position: int

    @property
    def embed_text(self) -> str:
        """The text to embed: contextual heading header, blank line, body."""
        return f"{self.heading}\n\n{self.text}" if self.heading else self.text


def chunk_id(scope: str, source: str, heading: str, text: str) -> str:
    """sha256 over (scope, source, heading, text), as 32 hex characters."""
    digest = hashlib.sha256("\x1f".join((scope, source, heading, text)).encode("utf-8"))
    return digest.hexdigest()[:32]


def chunk_sections(
    sections: Iterable[Section],
    *,
    source: str,
    scope: str = "default",
    max_chars: int = DEFAULT_CHUNK_CHARS,
) -> list[Chunk]:
    """Split ``sections`` of one document into chunks (see module docstring)."""
    if max_chars < _MIN_CHUNK_CHARS:
        raise ValueError(f"max_chars must be at least {_MIN_CHUNK_CHARS}, got {max_chars}")
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in sections:
        heading = HEADING_SEPARATOR.join(section.heading_path)
        for body in split_text(section.text, max_chars):
            cid = chunk_id(scope, source, heading, body)
            if cid in seen:  # an identical passage under the same heading adds nothing
                continue
            seen.add(cid)
            chunks.append(Chunk(cid, body, source, heading, scope, len(chunks)))
    return chunks


def split_text(text: str, max_chars: int) -> list[str]:
    """Pack the blocks of ``text`` greedily into pieces of at most ``max_chars`` characters."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    for block in _blocks(text):
        parts = [block] if len(block) <= max_chars else _split_block(block, max_chars)
        for part in parts:
            extra = len(part) + (2 if current else 0)
            if current and size + extra > max_chars:
                pieces.append("\n\n".join(current))
                current, size = [], 0
                extra = len(part)
            current.append(part)
            size += extra
    if current:
        pieces.append("\n\n".join(current))
    return [p for p in pieces if p.strip()]


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, keeping Markdown fences (with inner blank lines) whole."""
    paragraphs: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence is not None:
            current.append(line)
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            continue
        if match:
            fence = match.group(1)
            current.append(line)
        elif line.strip():
            current.append(line)
        elif current:
            paragraphs.append("\n".join(current))
            current = []
    if current:
        paragraphs.append("\n".join(current))
    return paragraphs


def _blocks(text: str) -> list[str]:
    """Paragraphs, with reST literal blocks and directive bodies glued to their introducer."""
    blocks: list[str] = []
    glue = False
    for para in _paragraphs(text):
        indented = para[:1].isspace()
        if blocks and indented and glue:
            blocks[-1] = f"{blocks[-1]}\n\n{para}"
            continue
        blocks.append(para)
        last = para.rstrip().split("\n")[-1]
        glue = last.endswith("::") or para.lstrip().startswith(".. ") or (indented and glue)
    return blocks


def _split_block(block: str, max_chars: int) -> list[str]:
    """Split an oversized block: code by lines, prose by sentences, then by words."""
    is_code = bool(_FENCE.match(block)) or "::\n" in block or block[:1].isspace()
    units: Sequence[str] = block.split("\n") if is_code else _SENTENCE_END.split(block)
    joiner = "\n" if is_code else " "
    pieces: list[str] = []
    current = ""
    for unit in units:
        for part in _hard_wrap(unit, max_chars):
            candidate = f"{current}{joiner}{part}" if current else part
            if len(candidate) > max_chars and current:
                pieces.append(current)
                candidate = part
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def _hard_wrap(unit: str, max_chars: int) -> list[str]:
    """Cut a unit longer than ``max_chars`` on whitespace (or anywhere, as a last resort)."""
    if len(unit) <= max_chars:
        return [unit]
    out: list[str] = []
    rest = unit
    while len(rest) > max_chars:
        cut = rest.rfind(" ", 0, max_chars)
        if cut <= 0:
            cut = max_chars
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        out.append(rest)
    return out
