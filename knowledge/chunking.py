"""Chunking: a document's sections into retrieval-sized chunks with stable, content-derived ids.

Structure first: chunks never cross a section (heading) boundary. A section that fits
``section_tokens`` is one chunk; a longer one is packed greedily from whole blocks (paragraphs,
code blocks, tables, list items) into pieces of ``max_tokens``, and only a block that alone
exceeds that is cut: prose by sentences, code by lines (a fenced block is re-fenced in every
piece), tables by rows (the header repeated). A piece that starts mid-section begins with the
last sentence or two of the previous piece (``overlap_tokens``), so a sentence that leans on
its predecessor still makes sense.

Budget, in the embedding model's word pieces (``knowledge.tokens``): all-MiniLM-L6-v2 reads at
most 256 pieces and ignores the rest, so a cut piece is sized to fill that window after its
contextual header (title and heading path, 20-50 pieces): ``max_tokens`` (256) capped at
``window - header - 2``, i.e. ~200-230 pieces (~750-850 characters) of body. A whole section
is kept up to ``section_tokens`` (400) even though its tail then lies past the window: the
heading and the opening of a section are what a question matches. Measured on the Python FAQ
(one heading per question; 175 questions with gold answers; dense search only): cutting every
section to the window gave R@1 0.68 / MRR 0.75, with 147 answers having 60 % of their words in
one chunk; keeping sections up to 400 pieces whole gave 0.80 / 0.83 and 153; a fixed 200-piece
body gave 0.63 / 0.70 and 138 (512 would give 0.84 / 0.87 and 158, at the price of longer
prompts: the chat model reads the chunks, and prompt processing dominates its latency).
Lexical search and the chat model read all of a whole section. The overlap is whole sentences
of at most 40 pieces: enough for the sentence a piece's first line refers to, without
repeating much.

``Chunk.id`` depends only on (scope, source, title, heading, text), so re-chunking an unchanged
document yields the same ids. ``Chunk.embed_text`` is the contextual header (title and heading
path, the title not repeated when the path starts with it), a blank line, then the body.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from knowledge.loaders import Document, Section
from knowledge.tokens import TokenCounter, get_token_counter

HEADING_SEPARATOR = " > "
_MIN_TOKENS = 32
_SPECIAL_TOKENS = 2  # [CLS] and [SEP]

BlockKind = Literal["prose", "code", "table"]

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SENTENCE_END = re.compile(r"(?<=[.!?:;])\s+(?=\S)")
_SIMPLE_BORDER = re.compile(r"^ *=+( +=+)+ *$")
_MD_RULE = re.compile(r"^ *\|? *:?-{3,}")
_TABLE_DIRECTIVE = re.compile(r"^\.\. (list-table|csv-table|table)::")


@dataclass(frozen=True)
class ChunkSettings:
    """How big chunks get, in word pieces (see the module docstring for the defaults)."""

    max_tokens: int = 256
    """Body of a piece cut from a long section (also capped so header + body fit the window)."""
    section_tokens: int = 400
    """A section body up to this size stays one chunk."""
    overlap_tokens: int = 40
    """Whole sentences of the previous piece that open the next one, at most this many pieces."""

    def __post_init__(self) -> None:
        if self.max_tokens < _MIN_TOKENS:
            raise ValueError(f"max_tokens must be at least {_MIN_TOKENS}, got {self.max_tokens}")
        if not 0 <= self.overlap_tokens <= self.max_tokens // 2:
            raise ValueError(
                f"overlap_tokens must be 0..{self.max_tokens // 2}, got {self.overlap_tokens}"
            )

    @property
    def key(self) -> str:
        """A short text that changes whenever the settings do (part of document hashes)."""
        return f"{self.max_tokens}:{self.section_tokens}:{self.overlap_tokens}"


DEFAULT_SETTINGS = ChunkSettings()


@dataclass(frozen=True)
class Chunk:
    """One retrievable piece of a document; ``position`` is its order within the source."""

    id: str
    text: str
    source: str
    heading: str
    scope: str
    position: int
    title: str = ""

    @property
    def context(self) -> str:
        """The contextual header: title, then the heading path (title not repeated)."""
        return context_header(self.title, self.heading)

    @property
    def embed_text(self) -> str:
        """The text to embed: contextual header, blank line, body."""
        return f"{self.context}\n\n{self.text}" if self.context else self.text


def context_header(title: str, heading: str) -> str:
    """A chunk's contextual header: ``title``, then the ``heading`` path, the title not repeated
    when the path starts with it."""
    if not title:
        return heading
    if not heading or heading == title:
        return title
    if heading.startswith(title + HEADING_SEPARATOR):
        return heading
    return f"{title}{HEADING_SEPARATOR}{heading}"


def chunk_id(scope: str, source: str, heading: str, text: str, title: str = "") -> str:
    """sha256 over (scope, source, title, heading, text), as 32 hex characters."""
    parts = (scope, source, title, heading, text) if title else (scope, source, heading, text)
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


def chunk_document(
    document: Document,
    *,
    source: str,
    scope: str = "default",
    settings: ChunkSettings = DEFAULT_SETTINGS,
    counter: TokenCounter | None = None,
) -> list[Chunk]:
    """``chunk_sections`` over a loaded document, titled by it."""
    return chunk_sections(
        document.sections,
        source=source,
        scope=scope,
        title=document.title,
        settings=settings,
        counter=counter,
    )


def chunk_sections(
    sections: Iterable[Section],
    *,
    source: str,
    scope: str = "default",
    title: str = "",
    settings: ChunkSettings = DEFAULT_SETTINGS,
    counter: TokenCounter | None = None,
) -> list[Chunk]:
    """Split ``sections`` of one document into chunks (see the module docstring)."""
    counter = counter or get_token_counter("minilm")
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in sections:
        heading = HEADING_SEPARATOR.join(section.heading_path)
        header = Chunk("", "", source, heading, scope, 0, title).context
        room = counter.window - _SPECIAL_TOKENS - counter.count(header)
        budget = max(_MIN_TOKENS, min(settings.max_tokens, room))
        bodies = split_text(
            section.text,
            budget,
            counter,
            overlap_tokens=min(settings.overlap_tokens, budget // 2),
            whole_tokens=settings.section_tokens,
        )
        for body in bodies:
            cid = chunk_id(scope, source, heading, body, title)
            if cid in seen:  # an identical passage under the same heading adds nothing
                continue
            seen.add(cid)
            chunks.append(Chunk(cid, body, source, heading, scope, len(chunks), title))
    return chunks


@dataclass
class _Block:
    """A paragraph-level block; ``atoms`` are its cut points when it is too big to keep whole."""

    kind: BlockKind
    text: str
    prefix: str = ""
    suffix: str = ""
    decoration: int = 0
    """Word pieces of ``prefix`` + ``suffix``, paid by every chunk holding a part of the block."""
    atoms: list[str] = field(default_factory=list)

    @property
    def joiner(self) -> str:
        """What goes between two consecutive atoms of this block in one chunk."""
        return " " if self.kind == "prose" else "\n"


@dataclass
class _Piece:
    block: int
    text: str
    tokens: int


def split_text(
    text: str,
    max_tokens: int,
    counter: TokenCounter,
    overlap_tokens: int = 0,
    whole_tokens: int = 0,
) -> list[str]:
    """``text`` whole when it has at most ``max(max_tokens, whole_tokens)`` word pieces, else
    its blocks packed into bodies of at most ``max_tokens``."""
    blocks = [_Block(_kind(b), b) for b in _blocks(text)]
    if not blocks:
        return []
    sizes = counter.count_many([b.text for b in blocks])
    if sum(sizes) <= max(max_tokens, whole_tokens):
        return ["\n\n".join(b.text for b in blocks)]
    pieces: list[_Piece] = []
    for i, (block, size) in enumerate(zip(blocks, sizes, strict=True)):
        if size <= max_tokens:
            pieces.append(_Piece(i, block.text, size))
            continue
        _cut_block(block)
        block.decoration = counter.count(f"{block.prefix}{block.suffix}")
        limit = max(1, max_tokens - block.decoration)
        for atom, n in zip(block.atoms, counter.count_many(block.atoms), strict=True):
            if n <= limit:
                pieces.append(_Piece(i, atom, n))
            else:  # a sentence or line longer than a whole chunk
                parts = counter.cut(atom, limit)
                parts_sizes = counter.count_many(parts)
                pieces.extend(_Piece(i, p, m) for p, m in zip(parts, parts_sizes, strict=True))
    return _pack(blocks, pieces, max_tokens, overlap_tokens, counter)


def _pack(
    blocks: list[_Block],
    pieces: list[_Piece],
    budget: int,
    overlap_tokens: int,
    counter: TokenCounter,
) -> list[str]:
    """Greedy packing; a group of pieces of one cut block carries that block's decoration."""

    def cost(group: list[_Piece], piece: _Piece) -> int:
        starts_group = not group or group[-1].block != piece.block
        return piece.tokens + (blocks[piece.block].decoration if starts_group else 0)

    bodies: list[str] = []
    current: list[_Piece] = []
    size = 0
    for piece in pieces:
        needed = cost(current, piece)
        if current and size + needed > budget:
            bodies.append(_render(blocks, current))
            current = _overlap(blocks, current, overlap_tokens, counter)
            size = sum(cost(current[:j], p) for j, p in enumerate(current))
            needed = cost(current, piece)
            if size + needed > budget:
                current, size = [], 0
                needed = cost(current, piece)
        current.append(piece)
        size += needed
    if current:
        bodies.append(_render(blocks, current))
    return [body for body in bodies if body.strip()]


def _overlap(
    blocks: list[_Block], chunk: list[_Piece], limit: int, counter: TokenCounter
) -> list[_Piece]:
    """The trailing whole sentences of ``chunk`` (prose only) within ``limit`` word pieces."""
    last = chunk[-1].block
    if limit <= 0 or blocks[last].kind != "prose":
        return []
    kept: list[_Piece] = []
    total = 0
    for piece in reversed(chunk):
        if piece.block != last:
            break
        sentences = _SENTENCE_END.split(piece.text)
        sizes = counter.count_many(sentences) if len(sentences) > 1 else [piece.tokens]
        for sentence, n in zip(reversed(sentences), reversed(sizes), strict=True):
            if total + n > limit:
                return kept
            kept.insert(0, _Piece(last, sentence, n))
            total += n
    return kept


def _render(blocks: list[_Block], chunk: list[_Piece]) -> str:
    groups: list[tuple[int, list[str]]] = []
    for piece in chunk:
        if groups and groups[-1][0] == piece.block:
            groups[-1][1].append(piece.text)
        else:
            groups.append((piece.block, [piece.text]))
    parts = []
    for index, texts in groups:
        block = blocks[index]
        parts.append(f"{block.prefix}{block.joiner.join(texts)}{block.suffix}")
    return "\n\n".join(parts)


def _cut_block(block: _Block) -> None:
    """Fill ``block.atoms`` (and decoration) for a block too big to keep whole."""
    lines = block.text.split("\n")
    if block.kind == "prose":
        block.atoms = _SENTENCE_END.split(block.text)
        return
    if block.kind == "code":
        if (opening := _FENCE.match(lines[0])) and len(lines) > 1:
            closed = bool(_FENCE.match(lines[-1])) and len(lines) > 2
            block.prefix = lines[0] + "\n"
            block.suffix = "\n" + (lines[-1] if closed else opening.group(1))
            block.atoms = lines[1:-1] if closed else lines[1:]
        else:
            block.atoms = lines
        return
    header = _table_header(lines)
    block.prefix = "\n".join(header) + "\n" if header else ""
    body = lines[len(header) :]
    if not lines[0].lstrip().startswith("+"):
        block.atoms = body
        return
    rows: list[str] = []  # a grid table: a row is its lines up to its bottom border
    current: list[str] = []
    for line in body:
        current.append(line)
        if line.lstrip().startswith("+"):
            rows.append("\n".join(current))
            current = []
    block.atoms = rows + (["\n".join(current)] if current else [])


def _table_header(lines: list[str]) -> list[str]:
    """The lines to repeat above every piece of a cut table."""
    if len(lines) > 2 and lines[0].lstrip().startswith("|") and _MD_RULE.match(lines[1]):
        return lines[:2]
    if lines[0].lstrip().startswith("+"):
        for i, line in enumerate(lines):
            if line.lstrip().startswith("+="):
                return lines[: i + 1]
        return lines[:1]  # no header row: repeat the top border
    borders = [i for i, line in enumerate(lines) if _SIMPLE_BORDER.match(line)]
    if len(borders) >= 3 and borders[0] == 0:
        return lines[: borders[1] + 1]
    return []


def _kind(block: str) -> BlockKind:
    first = block.split("\n", 1)[0]
    if _FENCE.match(first):
        return "code"
    lines = [line.strip() for line in block.split("\n") if line.strip()]
    if _TABLE_DIRECTIVE.match(first) or _SIMPLE_BORDER.match(first):
        return "table"
    if len(lines) > 1 and all(line[0] in "|+" for line in lines):
        return "table"
    if "::\n" in block or first[:1].isspace():
        return "code"
    return "prose"


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs; fences and reST simple tables (with their inner blank
    lines) stay whole."""
    paragraphs: list[str] = []
    current: list[str] = []
    fence: str | None = None
    table = False
    lines = text.split("\n")
    for i, line in enumerate(lines):
        match = _FENCE.match(line)
        if fence is not None:
            current.append(line)
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            continue
        if table:
            current.append(line)
            following = lines[i + 1] if i + 1 < len(lines) else ""
            table = not (_SIMPLE_BORDER.match(line) and not following.strip())
            continue
        if match:
            fence = match.group(1)
            current.append(line)
        elif _SIMPLE_BORDER.match(line) and not current:
            table = True
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
