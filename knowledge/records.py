"""Plain records the knowledge index reads and writes: documents and chunks going in, stored
chunks and search hits coming out."""

from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.chunking import Chunk


@dataclass(frozen=True)
class UpsertResult:
    """What ``upsert_source`` changed: chunks embedded and added, kept as they were, deleted."""

    added: int
    unchanged: int
    removed: int


@dataclass(frozen=True)
class SourceUpdate:
    """The complete new chunk list of one document, for ``upsert_sources``."""

    source: str
    scope: str
    chunks: list[Chunk]
    updated_at: float | None = None
    doc_hash: str = ""
    url: str = ""
    """The document's web address, when it has one."""
    quarantined: dict[str, str] = field(default_factory=dict)
    """Chunk id -> why the scanner flagged it (pattern names, score; never the text)."""


@dataclass(frozen=True)
class StoredDoc:
    """What the index knows about one stored document (see ``documents``)."""

    source: str
    doc_hash: str
    chunks: int
    quarantined: int = 0
    """How many of its chunks are quarantined."""


@dataclass(frozen=True)
class StoredChunk:
    """One stored chunk as ``iter_chunks`` returns it."""

    id: str
    text: str
    source: str
    heading: str
    title: str
    scope: str
    updated_at: float | None = None
    position: int = 0
    """Order within its source (consecutive chunks under one heading form a section)."""
    url: str = ""
    quarantined: bool = False
    """Flagged as a possible prompt injection at ingestion: never shown to the model."""
    quarantine_reason: str = ""


@dataclass(frozen=True)
class Hit:
    """One search result; ``score`` ranks results (for a dense search the cosine similarity)."""

    id: str
    text: str
    source: str
    heading: str
    score: float
    updated_at: float | None = None
    """When the source document was last modified (Unix time), if known."""
    title: str = ""
    """The title of the document the chunk comes from."""
    scope: str = ""
    """The knowledge space the chunk belongs to."""
    url: str = ""
    """The source document's web address, when it has one."""
    similarity: float | None = None
    """Cosine similarity of the question and the best chunk (an upper bound for a chunk only
    the lexical index found); ``None`` when nothing dense was searched."""
    heading_similarity: float | None = None
    """Cosine similarity of the question and the passage's heading path (set by the rerank)."""
    chunk_text: str = ""
    """The matching chunk when ``text`` is the passage around it (see ``knowledge.passages``);
    empty when ``text`` is the chunk itself."""
    quarantined: bool = False
    """Only ever true when the caller asked for quarantined chunks too."""
    quarantine_reason: str = ""
