"""Factories that turn settings into clients; shared by the assistant and the CLI commands."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TextIO

from graph.cache import AnswerCache
from graph.intents import IntentClassifier, load_examples
from graph.settings import Intent, Settings
from graph.untrusted import Scan, injection_reason
from guards.redaction import REDACTOR
from knowledge.embeddings import get_embedder
from knowledge.headings import HeadingVectors
from knowledge.index import KnowledgeIndex
from knowledge.lexical import open_lexical
from knowledge.retrieval import Retriever
from observe.tracing import Tracer


def open_tracer(settings: Settings, echo: TextIO | None = None) -> Tracer:
    """The trace log of ``settings`` (rotation, retention, content capture), also rendered on
    ``echo`` when given (``--trace``)."""
    return Tracer(
        settings.trace_write_path,
        redactor=REDACTOR,
        environment=settings.environment,
        keep_content=settings.trace_content,
        echo=echo,
        max_bytes=settings.traces.max_mb * 1024 * 1024,
        retention_days=settings.traces.retention_days,
    )


def open_index(settings: Settings) -> KnowledgeIndex:
    """The knowledge index the settings name: a Chroma server, or Chroma on disk in the data dir."""
    return KnowledgeIndex(
        get_embedder(settings.embedding_model),
        path=None if settings.chroma_url else settings.chroma_path,
        url=settings.chroma_url,
        collection=settings.collection,
    )


def open_retriever(settings: Settings, index: KnowledgeIndex | None = None) -> Retriever:
    """The shipped retriever over the settings' index; its local copy (BM25 + vectors) lives in
    ``<data dir>/lexical/<collection>`` and is rebuilt when it no longer matches the store, its
    heading vectors in ``<collection>-headings.npz`` beside it (embedded here when missing)."""
    index = index or open_index(settings)
    folder = settings.data_dir / "lexical"
    lexical = open_lexical(folder / settings.collection, index)
    headings = HeadingVectors(index.embedder, folder / f"{settings.collection}-headings.npz")
    retriever = Retriever(index, lexical, headings=headings)
    retriever.heading_matrix()
    return retriever


def ingest_scanner(settings: Settings) -> Scan | None:
    """The scanner ingestion quarantines chunks with (``knowledge.ingest.ingest_paths(scan=)``):
    the shipped injection detector, or ``None`` when ``ingest_quarantine`` is off."""
    return injection_reason if settings.ingest_quarantine else None


def build_classifier(
    settings: Settings,
    fallback: Callable[[str], Awaitable[Intent | None]] | None = None,
) -> IntentClassifier:
    """An unfitted intent classifier over the bundled plus configured examples."""
    return IntentClassifier(
        get_embedder(settings.embedding_model),
        load_examples(settings.intent_examples),
        threshold=settings.intent_threshold,
        fallback=fallback,
    )


def open_answer_cache(
    settings: Settings, redis_url: str, index: KnowledgeIndex, model_version: str
) -> AnswerCache:
    """The semantic cache with the settings' threshold, TTL and max age (blocking: it
    connects and creates its index)."""
    return AnswerCache(
        redis_url=redis_url,
        embedder=index.embedder,
        scope=settings.knowledge_scope,
        model_version=model_version,
        distance_threshold=settings.cache_distance_threshold,
        ttl_s=settings.cache_ttl_seconds,
        max_age_s=settings.cache_max_age_seconds,
    )
