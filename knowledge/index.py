"""The knowledge index: chunks and their vectors in one Chroma collection.

Contract: vectors always come from our ``Embedder`` (Chroma's default embedding function is never
used, so nothing is downloaded). Each stored chunk carries ``source``, ``scope`` (the knowledge
space), ``title``, ``heading``, ``position``, ``updated_at`` (the file's mtime), ``doc_hash`` (the
content hash of its whole document), ``doc_chunks`` (how many chunks that document has),
``quarantined`` / ``quarantine_reason`` (flagged as a possible prompt injection at ingestion) and
``doc_quarantined`` (how many chunks of its document are). ``search`` leaves quarantined chunks
out unless asked for them.
``upsert_sources`` makes the stored chunks of each (source, scope) equal to the given chunks,
embedding only ids not already stored, all new chunks of a batch of documents in one call; the
document hash is written last, so a run cut short leaves a document that ``documents`` reports
as changed rather than one with stale chunks. Scores are cosine similarities (1 - distance).
Setup problems raise ``ServiceError``; search problems raise ``RetrievalError``.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from knowledge.chroma import open_client
from knowledge.chunking import Chunk
from knowledge.embeddings import Embedder
from knowledge.records import Hit, SourceUpdate, StoredChunk, StoredDoc, UpsertResult
from observe.errors import ConfigError, RetrievalError, ServiceError

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection

_COLLECTION_NAME = re.compile(r"^[a-zA-Z0-9._-]{3,512}$")
_REVISION = "revision"
_PAGE = 1000


def _scope_filter(scope: str | Sequence[str] | None) -> dict[str, Any] | None:
    """Chroma ``where`` for one scope, any of several, or all (``None``)."""
    if scope is None:
        return None
    if isinstance(scope, str):
        return {"scope": scope}
    scopes = sorted(set(scope))
    if not scopes:
        raise RetrievalError("no knowledge space to search", hint="configure the channel's spaces")
    return {"scope": scopes[0]} if len(scopes) == 1 else {"scope": {"$in": scopes}}


def _as_float(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _as_str(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass
class _Plan:
    update: SourceUpdate
    new: list[Chunk] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


_NOT_QUARANTINED = {"quarantined": {"$ne": True}}
"""Matches chunks stored before quarantine existed too (they lack the key)."""


def _search_filter(
    scope: str | Sequence[str] | None, include_quarantined: bool
) -> dict[str, Any] | None:
    """Chroma ``where`` for a search: the scope filter, and no quarantined chunks unless asked."""
    where = _scope_filter(scope)
    if include_quarantined:
        return where
    return _NOT_QUARANTINED if where is None else {"$and": [where, _NOT_QUARANTINED]}


def _doc_filter(source: str, scope: str) -> dict[str, Any]:
    return {"$and": [{"source": source}, {"scope": scope}]}


def _metadata(chunk: Chunk, update: SourceUpdate, doc_hash: str) -> dict[str, Any]:
    """The Chroma metadata of one chunk (``doc_hash`` left empty until the document is done)."""
    return {
        "source": chunk.source,
        "scope": chunk.scope,
        "title": chunk.title,
        "heading": chunk.heading,
        "position": chunk.position,
        "doc_hash": doc_hash,
        "doc_chunks": len(update.chunks),
        "quarantined": chunk.id in update.quarantined,  # always written, to clear an old flag
        "quarantine_reason": update.quarantined.get(chunk.id, ""),
        "doc_quarantined": len(update.quarantined),
        **({"updated_at": float(update.updated_at)} if update.updated_at is not None else {}),
        "url": update.url,  # always written: an update merges keys, so "" clears an old link
    }


class KnowledgeIndex:
    """A Chroma collection of chunks, on disk (``path``) or on a server (``url``)."""

    def __init__(
        self,
        embedder: Embedder,
        *,
        path: Path | None = None,
        url: str | None = None,
        collection: str = "knowledge",
    ) -> None:
        if not _COLLECTION_NAME.match(collection):
            raise ConfigError(
                f"invalid Chroma collection name {collection!r}",
                hint="use 3-512 characters of letters, digits, '.', '_' or '-'",
            )
        self.embedder = embedder
        self.location = url if url is not None else str(path)
        client = open_client(path, url)
        try:
            self._collection: Collection = client.get_or_create_collection(
                name=collection,
                embedding_function=None,
                metadata={"hnsw:space": "cosine"},
            )
        except Exception as exc:
            raise ServiceError(
                f"cannot open Chroma collection {collection!r} at {self.location}: {exc}",
                hint="check that the Chroma server is running and reachable"
                if url
                else "check the data dir",
            ) from exc
        self._client = client
        self._name = collection

    def revision(self) -> str:
        """A token that changes whenever the stored chunks do (set by every write of this
        class, in any process); ``""`` for a store written before revisions existed."""
        try:
            collection = self._client.get_collection(self._name, embedding_function=None)
        except Exception as exc:
            raise RetrievalError(
                f"cannot read the knowledge index at {self.location}: {exc}",
                hint="check that Chroma is running and the collection exists",
            ) from exc
        return str((collection.metadata or {}).get(_REVISION, ""))

    def _changed(self) -> None:
        """Give the store a new revision (other metadata kept; HNSW settings live in the
        collection's configuration and cannot be changed here)."""
        metadata = {
            key: value
            for key, value in (self._collection.metadata or {}).items()
            if not key.startswith("hnsw:")
        }
        self._collection.modify(metadata={**metadata, _REVISION: uuid.uuid4().hex})

    def count(self) -> int:
        """Number of chunks stored (all scopes)."""
        return int(self._collection.count())

    def _ids_where(self, where: dict[str, Any] | None) -> list[str]:
        ids: list[str] = []
        offset = 0
        while True:
            page = self._collection.get(where=where, include=[], limit=_PAGE, offset=offset)
            ids.extend(page["ids"])
            if len(page["ids"]) < _PAGE:
                return ids
            offset += _PAGE

    def upsert_source(
        self,
        source: str,
        scope: str,
        chunks: list[Chunk],
        updated_at: float | None = None,
        doc_hash: str = "",
    ) -> UpsertResult:
        """Make the stored chunks of (``source``, ``scope``) exactly ``chunks`` (one document's
        ``upsert_sources``)."""
        return self.upsert_sources([SourceUpdate(source, scope, chunks, updated_at, doc_hash)])[0]

    def upsert_sources(self, updates: Sequence[SourceUpdate]) -> list[UpsertResult]:
        """Make the stored chunks of each update's (source, scope) exactly its chunks.

        Only chunks whose ids are not stored yet are embedded (all of them in one batched call)
        and added; stored chunks of that source and scope not in the list are deleted. Kept
        chunks get the new position, title, ``updated_at`` and ``doc_hash`` metadata without
        being embedded again.
        """
        plans: list[_Plan] = []
        for update in updates:
            for chunk in update.chunks:
                if chunk.source != update.source or chunk.scope != update.scope:
                    raise ValueError(
                        f"chunk {chunk.id} belongs to {chunk.scope}/{chunk.source}, "
                        f"not {update.scope}/{update.source}"
                    )
            stored = set(self._ids_where(_doc_filter(update.source, update.scope)))
            wanted = {chunk.id for chunk in update.chunks}
            new = [chunk for chunk in update.chunks if chunk.id not in stored]
            plans.append(_Plan(update, new, sorted(stored - wanted)))
        new_chunks = [chunk for plan in plans for chunk in plan.new]
        vectors = self.embedder.embed([chunk.embed_text for chunk in new_chunks])
        vector_of = dict(zip((chunk.id for chunk in new_chunks), vectors, strict=True))
        batch = max(1, min(self._client.get_max_batch_size(), 1000))
        for plan in plans:
            update = plan.update
            for start in range(0, len(plan.new), batch):
                part = plan.new[start : start + batch]
                self._collection.add(
                    ids=[chunk.id for chunk in part],
                    embeddings=[vector_of[chunk.id] for chunk in part],  # type: ignore[arg-type]
                    documents=[chunk.text for chunk in part],
                    metadatas=[_metadata(chunk, update, doc_hash="") for chunk in part],
                )
            for start in range(0, len(plan.stale), batch):
                self._collection.delete(ids=plan.stale[start : start + batch])
            for start in range(0, len(update.chunks), batch):  # the document hash comes last
                part = update.chunks[start : start + batch]
                self._collection.update(
                    ids=[chunk.id for chunk in part],
                    metadatas=[_metadata(chunk, update, update.doc_hash) for chunk in part],
                )
        if plans:
            self._changed()
        return [
            UpsertResult(len(p.new), len(p.update.chunks) - len(p.new), len(p.stale)) for p in plans
        ]

    def delete_source(self, source: str, scope: str) -> int:
        """Delete every stored chunk of (``source``, ``scope``); returns how many there were."""
        ids = self._ids_where(_doc_filter(source, scope))
        for start in range(0, len(ids), _PAGE):
            self._collection.delete(ids=ids[start : start + _PAGE])
        if ids:
            self._changed()
        return len(ids)

    def documents(self, scope: str) -> dict[str, StoredDoc]:
        """Stored documents of ``scope`` by source, with their content hash and chunk count
        (read from each document's first chunk, so one record per document)."""
        found: dict[str, StoredDoc] = {}
        where = {"$and": [{"scope": scope}, {"position": 0}]}
        for _, _, meta, _ in self._pages(where, include_documents=False):
            source = _as_str(meta.get("source"))
            chunks = meta.get("doc_chunks")
            flagged = meta.get("doc_quarantined")
            found[source] = StoredDoc(
                source,
                _as_str(meta.get("doc_hash")),
                chunks if isinstance(chunks, int) else 0,
                flagged if isinstance(flagged, int) else 0,
            )
        return found

    def iter_chunks(self, scope: str | None = None, batch: int = 1000) -> Iterator[StoredChunk]:
        """Every stored chunk (of ``scope``, or all), ``batch`` records per read."""
        for chunk, _ in self.iter_vectors(scope, batch, vectors=False):
            yield chunk

    def iter_vectors(
        self, scope: str | None = None, batch: int = 1000, *, vectors: bool = True
    ) -> Iterator[tuple[StoredChunk, Sequence[float] | None]]:
        """Every stored chunk with its vector (``None`` when ``vectors`` is off)."""
        where: dict[str, Any] | None = {"scope": scope} if scope is not None else None
        for cid, text, meta, vector in self._pages(
            where, include_documents=True, page=batch, include_vectors=vectors
        ):
            chunk = StoredChunk(
                id=cid,
                text=text,
                source=_as_str(meta.get("source")),
                heading=_as_str(meta.get("heading")),
                title=_as_str(meta.get("title")),
                scope=_as_str(meta.get("scope")),
                updated_at=_as_float(meta.get("updated_at")),
                position=int(meta.get("position") or 0),
                url=_as_str(meta.get("url")),
                quarantined=meta.get("quarantined") is True,
                quarantine_reason=_as_str(meta.get("quarantine_reason")),
            )
            yield chunk, vector

    def ids(self, scope: str | None = None) -> list[str]:
        """Ids of every stored chunk (of ``scope``, or all)."""
        return self._ids_where({"scope": scope} if scope is not None else None)

    def _pages(
        self,
        where: dict[str, Any] | None,
        include_documents: bool,
        page: int = _PAGE,
        include_vectors: bool = False,
    ) -> Iterator[tuple[str, str, dict[str, Any], Sequence[float] | None]]:
        """(id, document, metadata, vector) of every record matching ``where``, ``page`` at a
        time (document ``""`` and vector ``None`` when not asked for)."""
        include: Any = ["metadatas"]
        include += ["documents"] if include_documents else []
        include += ["embeddings"] if include_vectors else []
        offset = 0
        while True:
            result = self._collection.get(where=where, include=include, limit=page, offset=offset)
            n = len(result["ids"])
            documents = result.get("documents") or [""] * n
            metadatas = result.get("metadatas") or [{}] * n
            embeddings = result.get("embeddings")
            vectors = [None] * n if embeddings is None else list(embeddings)
            for cid, doc, meta, vector in zip(
                result["ids"], documents, metadatas, vectors, strict=True
            ):
                yield cid, doc or "", dict(meta or {}), vector
            if len(result["ids"]) < page:
                return
            offset += page

    def search(
        self,
        query: str,
        k: int = 5,
        scope: str | Sequence[str] | None = None,
        vector: Sequence[float] | None = None,
        include_quarantined: bool = False,
    ) -> list[Hit]:
        """The ``k`` chunks closest to ``query`` (optionally only from ``scope``, one space or
        several; quarantined chunks only with ``include_quarantined``), best first; ``vector``
        is the query's embedding when the caller has it."""
        text = query.strip()
        if not text:
            raise RetrievalError("cannot search with an empty query", hint="ask a question")
        if k < 1:
            raise RetrievalError(f"k must be at least 1, got {k}")
        if vector is None:
            vector = self.embedder.embed_one(text)
        try:
            result = self._collection.query(
                query_embeddings=[vector],
                n_results=k,
                where=_search_filter(scope, include_quarantined),
                include=["documents", "metadatas", "distances"],
            )
        except Exception as exc:
            raise RetrievalError(
                f"searching the knowledge index at {self.location} failed: {exc}",
                hint="check that Chroma is running and the collection exists",
            ) from exc
        ids = result["ids"][0] if result["ids"] else []
        documents = (result.get("documents") or [[]])[0]
        metadatas = (result.get("metadatas") or [[]])[0]
        distances = (result.get("distances") or [[]])[0]
        hits: list[Hit] = []
        for cid, doc, meta, dist in zip(ids, documents, metadatas, distances, strict=True):
            meta = meta or {}
            hits.append(
                Hit(
                    id=cid,
                    text=doc or "",
                    source=str(meta.get("source", "")),
                    heading=str(meta.get("heading", "")),
                    score=1.0 - float(dist),
                    similarity=1.0 - float(dist),
                    updated_at=_as_float(meta.get("updated_at")),
                    title=_as_str(meta.get("title")),
                    scope=_as_str(meta.get("scope")),
                    url=_as_str(meta.get("url")),
                    quarantined=meta.get("quarantined") is True,
                    quarantine_reason=_as_str(meta.get("quarantine_reason")),
                )
            )
        return hits

    async def asearch(
        self, query: str, k: int = 5, scope: str | Sequence[str] | None = None
    ) -> list[Hit]:
        """``search`` in a worker thread."""
        return await asyncio.to_thread(self.search, query, k, scope)

    async def amissing(self, ids: Sequence[str]) -> set[str]:
        """Those of ``ids`` that are no longer stored (chunk ids are content hashes, so a changed
        or deleted chunk is missing)."""
        if not ids:
            return set()
        page = await asyncio.to_thread(self._collection.get, ids=list(ids), include=[])
        return set(ids) - set(page["ids"])

    def texts(self, ids: Sequence[str]) -> dict[str, str]:
        """Chunk id → stored text, for those of ``ids`` still stored."""
        if not ids:
            return {}
        page = self._collection.get(ids=list(dict.fromkeys(ids)), include=["documents"])
        return {i: _as_str(t) for i, t in zip(page["ids"], page["documents"] or [], strict=True)}

    def sources(self, scope: str | None = None) -> list[str]:
        """Sorted distinct sources stored (optionally only those in ``scope``)."""
        where: dict[str, Any] | None = {"scope": scope} if scope is not None else None
        return sorted({_as_str(meta.get("source")) for _, _, meta, _ in self._pages(where, False)})
