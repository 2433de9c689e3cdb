"""Passages: what retrieval returns is a section, not a fragment of one.

Chunks are sized for the embedding model (~200 word pieces); an answer often runs longer than
that, so a chunk that matches a question is returned as its whole section: the consecutive
chunks of one document under one heading path (``Sections``), stitched back together without the
overlap the chunker repeated at each cut (``stitch``). A section longer than ``max_chars`` is
returned as the window of its chunks around the matching one, up to ``max_chars``. A passage
never crosses a heading, so it is never larger than what the author wrote under one heading, and
never joins a quarantined chunk to clean ones (a quarantined chunk is a section of its own run).

Measured on the Python FAQ over the full Python docs (17,442 chunks): the answer of 153 of 175
questions lies mostly (60 % of its words) in one chunk, of 174 in one section.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Any

from knowledge.chunking import context_header
from knowledge.records import StoredChunk

_WORD = re.compile(r"\S+")
_MAX_OVERLAP_WORDS = 120
"""The chunker repeats at most 40 word pieces; words are never more than pieces."""
_MIN_OVERLAP_WORDS = 2
"""A single shared word at a cut is a coincidence, not an overlap."""
_TAIL_CHARS = 4000
"""Enough characters for ``_MAX_OVERLAP_WORDS`` words of prose."""
_CACHED_PASSAGES = 4096
DEFAULT_PASSAGE_CHARS = 6000
"""About 1,500 word pieces: the longest FAQ answer is ~1,100."""


def stitch(first: str, second: str) -> str:
    """``second`` appended to ``first`` without the words it repeats from ``first``'s end."""
    head = first[-_TAIL_CHARS:].split()[-_MAX_OVERLAP_WORDS:]
    matches = list(islice(_WORD.finditer(second), len(head)))
    tail = [m.group() for m in matches]
    if not tail:
        return first
    for start, word in enumerate(head):  # the longest overlap starts earliest
        size = len(head) - start
        if word != tail[0] or size < _MIN_OVERLAP_WORDS or size > len(tail):
            continue
        if head[start:] == tail[:size]:
            rest = second[matches[size - 1].end() :].lstrip(" ")
            if not rest.strip():
                return first
            return first + rest if rest[0] == "\n" else f"{first} {rest}"
    return f"{first}\n\n{second}"


@dataclass(frozen=True)
class Section:
    """Consecutive chunks (ids and texts in document order) of one source under one heading."""

    index: int
    ids: tuple[str, ...]
    texts: tuple[str, ...]
    context: str = ""
    """Title and heading path, as in the chunks' contextual header."""

    def window(self, chunk_id: str, max_chars: int) -> str:
        """The whole section when it fits ``max_chars``, else the chunks around ``chunk_id``
        (the following ones first) that fit, stitched."""
        return self.text(*self.bounds(chunk_id, max_chars))

    def bounds(self, chunk_id: str, max_chars: int) -> tuple[int, int]:
        """``(start, end)``: the chunks ``window`` joins."""
        if sum(len(t) for t in self.texts) <= max_chars:
            return 0, len(self.texts)
        at = self.ids.index(chunk_id)
        start, end = at, at + 1
        size = len(self.texts[at])
        grown = True
        while grown:
            grown = False
            for candidate in (end, start - 1):
                if (
                    0 <= candidate < len(self.ids)
                    and size + len(self.texts[candidate]) <= max_chars
                ):
                    size += len(self.texts[candidate])
                    start, end = min(start, candidate), max(end, candidate + 1)
                    grown = True
        return start, end

    def text(self, start: int, end: int) -> str:
        """Chunks ``start`` to ``end`` (exclusive), stitched."""
        passage = self.texts[start]
        for following in self.texts[start + 1 : end]:
            passage = stitch(passage, following)
        return passage


class Sections:
    """Every chunk's section, from the chunks of a store (in any order)."""

    def __init__(self, chunks: Iterable[StoredChunk]) -> None:
        ordered = sorted(chunks, key=lambda c: (c.scope, c.source, c.position))
        self.heading_vectors: Any = None
        """Set by the retriever: one heading vector per section (row = section index)."""
        self._sections: list[Section] = []
        self._of: dict[str, int] = {}
        self._texts: dict[tuple[int, int, int], str] = {}
        run: list[StoredChunk] = []
        for chunk in ordered:
            if run and not _continues(run[-1], chunk):
                self._close(run)
                run = []
            run.append(chunk)
        if run:
            self._close(run)

    def _close(self, run: list[StoredChunk]) -> None:
        index = len(self._sections)
        first = run[0]
        self._sections.append(
            Section(
                index,
                tuple(c.id for c in run),
                tuple(c.text for c in run),
                context_header(first.title, first.heading),
            )
        )
        for chunk in run:
            self._of[chunk.id] = index

    def __len__(self) -> int:
        return len(self._sections)

    @property
    def contexts(self) -> list[str]:
        """Every section's context, in section index order."""
        return [section.context for section in self._sections]

    def passage(self, section: Section, chunk_id: str, max_chars: int) -> str:
        """``section.window(chunk_id, max_chars)``, remembered (sections do not change)."""
        key = (section.index, *section.bounds(chunk_id, max_chars))
        text = self._texts.get(key)
        if text is None:
            if len(self._texts) >= _CACHED_PASSAGES:
                self._texts.clear()
            text = self._texts[key] = section.text(key[1], key[2])
        return text

    def of(self, chunk_id: str) -> Section | None:
        """The section holding ``chunk_id`` (``None`` for a chunk this map has not seen)."""
        index = self._of.get(chunk_id)
        return None if index is None else self._sections[index]


def _continues(previous: StoredChunk, chunk: StoredChunk) -> bool:
    return (
        chunk.scope == previous.scope
        and chunk.source == previous.source
        and chunk.heading == previous.heading
        and chunk.position == previous.position + 1
        and chunk.quarantined == previous.quarantined
    )
