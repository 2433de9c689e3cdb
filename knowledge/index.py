"""The knowledge index: chunks and their vectors in one Chroma collection.

Contract: vectors always come from our ``Embedder`` (Chroma's default embedding function is never
used, so nothing is downloaded). Each stored chunk carries ``source``, ``scope``, ``heading`` and
``position`` metadata. ``upsert_source`` makes the stored chunks of one (source, scope) equal to the
given chunks, embedding only ids not already stored. Scores are cosine similarities (1 - distance).
Setup problems raise ``ServiceError``; search problems raise ``RetrievalError``.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from knowledge.chunking import Chunk
from knowledge.embeddings import Embedder
from observe.errors import ConfigError, RetrievalError, ServiceError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

_COLLECTION_NAME = re.compile(r"^[a-zA-Z0-9._-]{3,512}$")
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


@dataclass(frozen=True)
class UpsertResult:
    """What ``upsert_source`` changed: chunks embedded and added, kept as they were, deleted."""

    added: int
    unchanged: int
    removed: int


@dataclass(frozen=True)
class Hit:
    """One search result; ``score`` is cosine similarity (higher is closer, at most 1)."""

    id: str
    text: str
    source: str
    heading: str
    score: float
    updated_at: float | None = None
    """When the source document was last modified (Unix time), if known."""


def _check_writable_dir(path: Path) -> None:
    """Create ``path`` if needed and prove we can write there, else raise ``ServiceError``."""
    hint = (
        "set ASSISTANT_DATA_DIR to a writable directory, fix its permissions, "
        "or set ASSISTANT_CHROMA_URL"
    )
    if path.exists() and not path.is_dir():
        raise ServiceError(f"Chroma data dir {path} is not a directory", hint=hint)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ServiceError(
            f"Chroma data dir {path} cannot be created: {reason}", hint=hint
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ServiceError(f"Chroma data dir {path} is not writable", hint=hint)
    try:  # os.access is not the whole story (root, read-only mounts, ACLs): try a real write
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ServiceError(f"Chroma data dir {path} is not writable: {reason}", hint=hint) from exc


def _http_client(url: str, settings: Any) -> ClientAPI:
    import chromadb

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"Chroma URL {url!r} is not an http(s)://host[:port] URL",
            hint="set ASSISTANT_CHROMA_URL like http://localhost:8000",
        )
    ssl = parts.scheme == "https"
    try:
        port = parts.port or (443 if ssl else 8000)
    except ValueError as exc:
        raise ConfigError(f"Chroma URL {url!r} has an invalid port") from exc
    try:
        return chromadb.HttpClient(host=parts.hostname, port=port, ssl=ssl, settings=settings)
    except Exception as exc:
        raise ServiceError(
            f"Chroma server at {url} is unreachable: {type(exc).__name__}",
            hint="start it (`chroma run --path DIR --port N`) or unset ASSISTANT_CHROMA_URL "
            "to use the embedded on-disk store",
        ) from exc


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
        import chromadb
        from chromadb.config import Settings

        if not _COLLECTION_NAME.match(collection):
            raise ConfigError(
                f"invalid Chroma collection name {collection!r}",
                hint="use 3-512 characters of letters, digits, '.', '_' or '-'",
            )
        self.embedder = embedder
        self.location = url if url is not None else str(path)
        settings = Settings(anonymized_telemetry=False)
        client: ClientAPI
        if url is not None:
            client = _http_client(url, settings)
        elif path is not None:
            _check_writable_dir(path)
            try:
                client = chromadb.PersistentClient(path=str(path), settings=settings)
            except Exception as exc:
                raise ServiceError(
                    f"cannot open the Chroma store in {path}: {exc}",
                    hint="fix the data dir's permissions or remove a corrupt store",
                ) from exc
        else:
            raise ConfigError("KnowledgeIndex needs a data dir path or a Chroma URL")
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

    def count(self) -> int:
        """Number of chunks stored (all scopes)."""
        return int(self._collection.count())

    def _ids_where(self, where: dict[str, Any]) -> list[str]:
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
    ) -> UpsertResult:
        """Make the stored chunks of (``source``, ``scope``) exactly ``chunks``.

        Only chunks whose ids are not stored yet are embedded and added; stored chunks of this
        source and scope that are not in ``chunks`` are deleted (after the additions).
        ``updated_at`` (the document's modification time) is stored with the added chunks.
        """
        for chunk in chunks:
            if chunk.source != source or chunk.scope != scope:
                raise ValueError(
                    f"chunk {chunk.id} belongs to {chunk.scope}/{chunk.source}, "
                    f"not {scope}/{source}"
                )
        stored = set(self._ids_where({"$and": [{"source": source}, {"scope": scope}]}))
        wanted = {chunk.id for chunk in chunks}
        new = [chunk for chunk in chunks if chunk.id not in stored]
        stale = sorted(stored - wanted)
        batch = max(1, min(self._client.get_max_batch_size(), 512))
        for start in range(0, len(new), batch):
            part = new[start : start + batch]
            vectors = self.embedder.embed([chunk.embed_text for chunk in part])
            self._collection.add(
                ids=[chunk.id for chunk in part],
                embeddings=vectors,  # type: ignore[arg-type]
                documents=[chunk.text for chunk in part],
                metadatas=[
                    {
                        "source": chunk.source,
                        "scope": chunk.scope,
                        "heading": chunk.heading,
                        "position": chunk.position,
                        **({"updated_at": float(updated_at)} if updated_at is not None else {}),
                    }
                    for chunk in part
                ],
            )
        for start in range(0, len(stale), batch):
            self._collection.delete(ids=stale[start : start + batch])
        return UpsertResult(added=len(new), unchanged=len(wanted) - len(new), removed=len(stale))

    def search(self, query: str, k: int = 5, scope: str | Sequence[str] | None = None) -> list[Hit]:
        """The ``k`` chunks closest to ``query`` (optionally only from ``scope``, one space or
        several), best first."""
        text = query.strip()
        if not text:
            raise RetrievalError("cannot search with an empty query", hint="ask a question")
        if k < 1:
            raise RetrievalError(f"k must be at least 1, got {k}")
        vector = self.embedder.embed_one(text)
        try:
            result = self._collection.query(
                query_embeddings=[vector],  # type: ignore[arg-type]
                n_results=k,
                where=_scope_filter(scope),
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
                    updated_at=_as_float(meta.get("updated_at")),
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

    def sources(self, scope: str | None = None) -> list[str]:
        """Sorted distinct sources stored (optionally only those in ``scope``)."""
        found: set[str] = set()
        offset = 0
        where: dict[str, Any] | None = {"scope": scope} if scope is not None else None
        while True:
            page = self._collection.get(
                where=where, include=["metadatas"], limit=_PAGE, offset=offset
            )
            for meta in page["metadatas"] or []:
                if meta and "source" in meta:
                    found.add(str(meta["source"]))
            if len(page["ids"]) < _PAGE:
                return sorted(found)
            offset += _PAGE
