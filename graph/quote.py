"""Answer in the documents' own words: the part of a passage that answers the question, quoted.

``pick_quote`` splits a passage into prose paragraphs and code blocks (fenced, and
reStructuredText literal blocks after ``::``), scores each paragraph by the best cosine between
the question and one of its sentences, and returns the window of whole segments around the best
one that fits in ``budget`` characters: from the start of the passage when the best paragraph lies
within the budget of it (sections tend to open with the answer), else from the best paragraph (or
the one introducing it with a colon, when both fit). A quote never ends on such an introduction
("like this::"): the start of what it introduces comes too, cut at a sentence or line end, or
the introduction is left out. A first segment longer than the budget is cut at a sentence end.

``quoted_answer`` renders it for chat: one line naming the source, each prose paragraph as a
Markdown quote (its wrapped lines joined), each code block fenced. The words are the source's,
exactly; only line breaks and code indentation change.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Literal

import numpy as np

from guards.groundedness import Embed
from guards.sentences import code_blocks, sentence_spans

QUOTE_BUDGET = 1200
"""Characters of the passage a quoted answer shows at most (about 200 words). Chosen on the
hand-written dev set (tests/data/python_docs_dev.jsonl over the whole Python docs): the share of
the gold excerpt's content words in the quote, when the top passage is the right one, is 0.55 /
0.61 / 0.67 / 0.69 at 600 / 900 / 1200 / 1600 characters."""
QUOTE_INTRO = "From the docs [{n}]:"
"""The line before the quote; ``n`` is the passage's source number."""
ELLIPSIS = "…"

_BLANK_LINES = re.compile(r"\n[ \t]*\n")


@dataclass(frozen=True, slots=True)
class Segment:
    """``passage[start:end]``: a prose paragraph or a code block."""

    start: int
    end: int
    kind: Literal["prose", "code"]


def segments(passage: str) -> list[Segment]:
    """The passage's prose paragraphs and code blocks, in order, blank ones left out."""
    found: list[Segment] = []

    def prose(start: int, end: int) -> None:
        cursor = start
        for gap in [*_BLANK_LINES.finditer(passage, start, end), None]:
            stop = gap.start() if gap is not None else end
            _add(passage, found, cursor, stop, "prose")
            cursor = gap.end() if gap is not None else end

    cursor = 0
    for start, end in code_blocks(passage):
        prose(cursor, start)
        _add(passage, found, start, end, "code")
        cursor = end
    prose(cursor, len(passage))
    return found


def _add(passage: str, found: list[Segment], start: int, end: int, kind: str) -> None:
    piece = passage[start:end]
    if not piece.strip():
        return
    if kind == "prose":
        start += len(piece) - len(piece.lstrip())
    end = start + len(passage[start:end].rstrip())
    found.append(Segment(start, end, "code" if kind == "code" else "prose"))


def _scores(question: str, passage: str, parts: list[Segment], embed: Embed) -> list[float]:
    """Per segment: the best cosine of one of its sentences with the question; a code block
    scores as the paragraph before it (code embeds poorly)."""
    sentences: list[tuple[int, str]] = []
    for i, seg in enumerate(parts):
        if seg.kind == "prose":
            text = passage[seg.start : seg.end]
            sentences += [(i, " ".join(text[a:b].split())) for a, b in sentence_spans(text)]
    if not sentences:
        return [0.0] * len(parts)
    vectors = np.asarray(embed([question] + [s for _, s in sentences]), dtype=np.float64)
    sims = vectors[1:] @ vectors[0]
    scores = [-1.0] * len(parts)
    for (i, _), sim in zip(sentences, sims.tolist(), strict=True):
        scores[i] = max(scores[i], sim)
    for i, seg in enumerate(parts):
        if seg.kind == "code" and i:
            scores[i] = scores[i - 1]
    return scores


@dataclass(frozen=True, slots=True)
class Quote:
    """The chosen part of a passage: its segments, and whether text was cut at the end."""

    passage: str
    parts: tuple[Segment, ...]
    cut_at: int | None = None
    """Set when the last segment is shown only up to this offset."""

    @property
    def text(self) -> str:
        """The quoted text as it stands in the passage."""
        start, end = self.parts[0].start, self.cut_at or self.parts[-1].end
        return self.passage[start:end]


def pick_quote(
    question: str, passage: str, embed: Embed, budget: int = QUOTE_BUDGET
) -> Quote | None:
    """The part of ``passage`` that best answers ``question`` within ``budget`` characters
    (see the module docstring); ``None`` for a passage with no text."""
    parts = segments(passage)
    if not parts:
        return None
    scores = _scores(question, passage, parts, embed)
    best = max(range(len(parts)), key=scores.__getitem__)
    first = 0
    if parts[best].end - parts[0].start > budget:
        first = best
        introduced = best and _introduces(passage, parts[best - 1])
        if introduced and parts[best].end - parts[best - 1].start <= budget:
            first = best - 1  # "… like this:" comes with what it introduces, when both fit
    last = first
    while last + 1 < len(parts) and parts[last + 1].end - parts[first].start <= budget:
        last += 1
    limit = parts[first].start + budget
    if parts[last].end > limit:  # one segment longer than the budget
        return Quote(passage, (parts[first],), cut_at=_sentence_cut(passage, parts[first], limit))
    chosen = list(parts[first : last + 1])
    if _introduces(passage, chosen[-1]) and last + 1 < len(parts):
        # never end on "… like this:": show the start of what it introduces, or drop it
        cut = _sentence_cut(passage, parts[last + 1], limit)
        if cut > parts[last + 1].start:
            return Quote(passage, (*chosen, parts[last + 1]), cut_at=cut)
        if len(chosen) > 1:
            chosen.pop()
    return Quote(passage, tuple(chosen))


def _introduces(passage: str, segment: Segment) -> bool:
    """Whether ``segment`` ends with a colon (it introduces what follows)."""
    return passage[: segment.end].rstrip().endswith(":")


def _sentence_cut(passage: str, segment: Segment, limit: int) -> int:
    """The last sentence end of ``segment`` before ``limit`` (a word end when there is none);
    for code, the last line end."""
    if segment.kind == "code":
        line = passage.rfind("\n", segment.start, limit)
        return line if line > segment.start else limit
    text = passage[segment.start : segment.end]
    ends = [segment.start + b for _, b in sentence_spans(text) if segment.start + b <= limit]
    if ends:
        return ends[-1]
    space = passage.rfind(" ", segment.start, limit)
    return space if space > segment.start else limit


def quoted_answer(quote: Quote, n: int = 1) -> str:
    """The quote as a chat answer citing source ``n``: intro line, quoted prose, fenced code."""
    lines = [QUOTE_INTRO.format(n=n)]
    for seg in quote.parts:
        end = min(seg.end, quote.cut_at or seg.end)
        text = quote.passage[seg.start : end]
        more = f" {ELLIPSIS}" if end < seg.end else ""
        if seg.kind == "code":
            lines.append("```\n" + _code(text) + ("\n" + ELLIPSIS if more else "") + "\n```")
        else:
            lines.append("> " + " ".join(text.split()) + more)
    return "\n\n".join(lines)


def _code(text: str) -> str:
    """A code block's lines without their common indentation or its own fence lines."""
    body = text.strip("\n")
    fence = re.match(r"[ \t]*(```|~~~)[^\n]*\n", body)
    if fence:
        body = body[fence.end() :]
        body = re.sub(r"\n?[ \t]*(```|~~~)[ \t]*$", "", body)
    return textwrap.dedent(body).strip("\n")
