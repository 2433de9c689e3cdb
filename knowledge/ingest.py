"""Ingestion: files and directories into one knowledge space (``scope``) of the index.

Contract: every path is checked before any work (a missing one raises ``IngestError``). Directories
are walked recursively in sorted order, skipping hidden files and directories, keeping supported
suffixes. Source names are ``"<dir name>/<relative posix path>"`` for files found in a directory
argument and the bare file name for a file argument.

Incremental: each document's hash (its bytes plus the chunking settings) is stored with its
chunks; a document whose hash is unchanged is skipped before parsing, chunking or embedding. A
changed document is re-chunked and only its new chunk ids are embedded; its vanished chunks are
deleted. New chunks of several documents are embedded together (``batch_chunks``). With
``prune``, stored documents of the space that lie under a given root but no longer exist on disk
are deleted; other roots and spaces are never touched.

A document that cannot be read or parsed is recorded in ``IngestReport.skipped`` with its reason
and the rest continue; service failures (``ServiceError``) propagate.

Quarantine: with a ``scan`` function (the caller's; this package never imports a detector) every
chunk of a new or changed document is scanned before it is stored, and a flagged chunk is stored
with ``quarantined`` metadata and the scanner's short reason, so retrieval leaves it out. Whether
a run scans is part of the document hash: switching scanning on re-scans stored documents once
(without embedding them again).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import structlog

from knowledge.chunking import DEFAULT_SETTINGS, Chunk, ChunkSettings, chunk_document
from knowledge.index import KnowledgeIndex
from knowledge.links import joined_url, web_url
from knowledge.loaders import SUPPORTED_SUFFIXES, is_supported, load_document, read_bytes
from knowledge.records import SourceUpdate, StoredDoc
from knowledge.tokens import get_token_counter
from observe.errors import ConfigError, IngestError

log = structlog.get_logger(__name__)

CHUNKING_VERSION = "2"
"""Part of every document hash: bump it when chunking changes so re-ingesting re-chunks."""

DEFAULT_BATCH_CHUNKS = 256

Scan = Callable[[str], str | None]
"""A chunk's text -> why it looks like a prompt injection (short: pattern names, a score; never
the text), or ``None`` when it looks clean."""
MAX_REASON_CHARS = 200


@dataclass
class IngestReport:
    """Totals of one ingestion run; ``skipped`` and ``warnings`` hold (source, reason) pairs."""

    scope: str = "default"
    files_seen: int = 0
    files_ingested: int = 0
    """New or changed documents, chunked and stored."""
    files_unchanged: int = 0
    files_pruned: int = 0
    chunks_added: int = 0
    chunks_unchanged: int = 0
    chunks_removed: int = 0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[tuple[str, str]] = field(default_factory=list)
    pruned: list[str] = field(default_factory=list)
    quarantined: dict[str, int] = field(default_factory=dict)
    """Source -> chunks held in quarantine (possible prompt injection), for the documents this
    run ingested or found unchanged."""

    @property
    def chunks_quarantined(self) -> int:
        """Quarantined chunks over every source of the run."""
        return sum(self.quarantined.values())

    @property
    def chunks_per_second(self) -> float:
        """Chunks added per second of the whole run."""
        return self.chunks_added / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        data = asdict(self)
        data["seconds"] = round(self.seconds, 2)
        data["chunks_per_second"] = round(self.chunks_per_second, 1)
        data["chunks_quarantined"] = self.chunks_quarantined
        data["skipped"] = [{"path": p, "reason": r} for p, r in self.skipped]
        data["warnings"] = [{"path": p, "reason": r} for p, r in self.warnings]
        return data


def _walk(root: Path) -> Iterator[Path]:
    """Files under ``root`` in sorted order, skipping hidden entries and symlinked dirs."""
    for entry in sorted(root.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            if not entry.is_symlink():
                yield from _walk(entry)
        elif entry.is_file():
            yield entry


def _root_name(path: Path) -> str:
    name = path.name or path.resolve().name
    return path.resolve().name if name in ("", ".", "..") else name


def collect_files(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """(file, source name) pairs to ingest, in order, without duplicate sources.

    Raises ``IngestError`` for a path that does not exist. A file given explicitly is kept
    even when its type is unsupported, so the run reports it as skipped.
    """
    for path in paths:
        if not path.exists():
            raise IngestError(
                f"no such file or directory: {path}",
                hint="check the path; directories are ingested recursively",
            )
    found: list[tuple[Path, str]] = []
    seen: set[str] = set()
    for path in paths:
        if path.is_dir():
            name = _root_name(path)
            pairs = [
                (f, f"{name}/{f.relative_to(path).as_posix()}")
                for f in _walk(path)
                if is_supported(f)
            ]
        else:
            pairs = [(path, path.name)]
        for file, source in pairs:
            if source not in seen:
                seen.add(source)
                found.append((file, source))
    return found


def relative_source(source: str) -> str:
    """A source name without its ``<dir name>/`` prefix: the path under the ingested folder."""
    return source.split("/", 1)[1] if "/" in source else source


def document_hash(
    data: bytes,
    settings: ChunkSettings = DEFAULT_SETTINGS,
    base_url: str = "",
    scanned: bool = False,
) -> str:
    """The stored hash of a document: its bytes, the settings that shaped its chunks, the base
    URL its link was derived from and whether its chunks were scanned."""
    link = f":{base_url}" if base_url else ""
    scan = ":scanned" if scanned else ""
    shape = f"chunking-v{CHUNKING_VERSION}:{settings.key}{link}{scan}\0".encode()
    return hashlib.sha256(shape + data).hexdigest()[:32]


def ingest_paths(
    index: KnowledgeIndex,
    paths: Sequence[Path],
    *,
    scope: str = "default",
    progress: bool = True,
    prune: bool = False,
    settings: ChunkSettings = DEFAULT_SETTINGS,
    batch_chunks: int = DEFAULT_BATCH_CHUNKS,
    base_url: str = "",
    scan: Scan | None = None,
) -> IngestReport:
    """Load, chunk, embed and store every supported document under ``paths`` into ``scope``;
    a document without a declared address gets ``base_url`` + its path under its folder; with
    ``scan``, flagged chunks are stored quarantined (see the module docstring)."""
    if base_url and not web_url(base_url):
        raise ConfigError(
            f"--base-url must be an http(s) address, got {base_url!r}",
            hint="e.g. https://docs.example.com/handbook/",
        )
    started = time.perf_counter()
    files = collect_files(paths)
    report = IngestReport(scope=scope, files_seen=len(files))
    run = _Run(index, scope, report, settings, batch_chunks, base_url, scan)
    if progress:
        with _progress_bar(len(files)) as advance:
            run.ingest(files, advance)
    else:
        run.ingest(files, lambda source, note: None)
    if prune:
        _prune(index, paths, {source for _, source in files}, report)
    report.seconds = time.perf_counter() - started
    return report


class _Run:
    """One ingestion run: documents in, pending updates flushed to the index in batches."""

    def __init__(
        self,
        index: KnowledgeIndex,
        scope: str,
        report: IngestReport,
        settings: ChunkSettings,
        batch_chunks: int,
        base_url: str = "",
        scan: Scan | None = None,
    ) -> None:
        self.base_url = base_url
        self.scan = scan
        self.index = index
        self.scope = scope
        self.report = report
        self.settings = settings
        self.batch_chunks = batch_chunks
        self.counter = get_token_counter(index.embedder.model_name)
        self.pending: list[SourceUpdate] = []
        self.stored: dict[str, StoredDoc] = {}

    def ingest(
        self, files: list[tuple[Path, str]], advance: Callable[[str, str | None], None]
    ) -> None:
        self.stored = self.index.documents(self.scope) if files else {}
        for file, source in files:
            self.one(file, source)
            if sum(len(u.chunks) for u in self.pending) >= self.batch_chunks:
                advance(source, "embedding")
                self.flush()
            advance(source, None)
        if self.pending:
            advance("", "embedding")
            self.flush()

    def one(self, file: Path, source: str) -> None:
        report = self.report
        if not is_supported(file):
            supported = ", ".join(SUPPORTED_SUFFIXES)
            report.skipped.append((source, f"unsupported file type (supported: {supported})"))
            return
        stored = self.stored.get(source)
        try:
            data = read_bytes(file)
            mtime = file.stat().st_mtime
            doc_hash = document_hash(data, self.settings, self.base_url, self.scan is not None)
            if stored is not None and stored.doc_hash == doc_hash:
                report.files_unchanged += 1
                report.chunks_unchanged += stored.chunks
                if stored.quarantined:
                    report.quarantined[source] = stored.quarantined
                return
            document = load_document(file, data)
            chunks = chunk_document(
                document,
                source=source,
                scope=self.scope,
                settings=self.settings,
                counter=self.counter,
            )
        except IngestError as exc:
            report.skipped.append((source, exc.message))
            return
        except Exception as exc:  # a parser bug on one odd file must not end the whole run
            log.debug("ingest.file_failed", source=source, exc_info=True)
            report.skipped.append((source, f"unexpected {type(exc).__name__}: {exc}"))
            return
        report.warnings.extend((source, warning) for warning in document.warnings)
        if not chunks:
            report.skipped.append((source, "no text to index (empty document)"))
            if stored is not None:
                report.chunks_removed += self.index.delete_source(source, self.scope)
            return
        url = document.url or joined_url(self.base_url, relative_source(source))
        flagged = self.flagged(chunks)
        if flagged:
            report.quarantined[source] = len(flagged)
        self.pending.append(
            SourceUpdate(source, self.scope, chunks, mtime, doc_hash, url, quarantined=flagged)
        )

    def flagged(self, chunks: list[Chunk]) -> dict[str, str]:
        """Chunk id -> the scanner's reason, for each chunk it flags (none without a scanner)."""
        if self.scan is None:
            return {}
        reasons = ((chunk.id, self.scan(chunk.embed_text)) for chunk in chunks)
        return {cid: reason[:MAX_REASON_CHARS] for cid, reason in reasons if reason}

    def flush(self) -> None:
        results = self.index.upsert_sources(self.pending)
        for result in results:
            self.report.files_ingested += 1
            self.report.chunks_added += result.added
            self.report.chunks_unchanged += result.unchanged
            self.report.chunks_removed += result.removed
        self.pending = []


def _prune(
    index: KnowledgeIndex, roots: Sequence[Path], on_disk: set[str], report: IngestReport
) -> None:
    """Delete stored documents of the space under ``roots`` that are no longer on disk."""
    prefixes = tuple(f"{_root_name(root)}/" for root in roots if root.is_dir())
    names = {root.name for root in roots if not root.is_dir()}
    for source in index.sources(report.scope):
        if source in on_disk:
            continue
        if source.startswith(prefixes) or source in names:
            report.chunks_removed += index.delete_source(source, report.scope)
            report.files_pruned += 1
            report.pruned.append(source)


@contextmanager
def _progress_bar(total: int) -> Iterator[Callable[[str, str | None], None]]:
    """A rich progress bar of files on stderr; yields ``advance(source, note)``: a note (such
    as "embedding") relabels the bar, ``None`` counts one more file done."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}", style="dim"),
        console=Console(stderr=True),
    )
    with bar:
        task = bar.add_task("Ingesting", total=total, current="")

        def advance(source: str, note: str | None) -> None:
            bar.update(task, description=(note or "ingesting").capitalize(), current=source)
            if note is None:
                bar.advance(task)

        yield advance
        bar.update(task, description="Ingested", current="")
