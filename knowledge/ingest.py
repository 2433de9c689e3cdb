"""Ingestion: files and directories into the knowledge index.

Contract: every path is checked before any work (a missing one raises ``IngestError``). Directories
are walked recursively in sorted order, skipping hidden files and directories, keeping supported
suffixes. A document that cannot be loaded is recorded in ``IngestReport.skipped`` with its reason
and the rest continue; service failures (``ServiceError``) propagate. Source names are
``"<dir name>/<relative posix path>"`` for files found in a directory argument and the bare file
name for a file argument, so re-ingesting the same tree replaces chunks source by source.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from knowledge.chunking import chunk_sections
from knowledge.index import KnowledgeIndex
from knowledge.loaders import SUPPORTED_SUFFIXES, is_supported, load_document
from observe.errors import IngestError


@dataclass
class IngestReport:
    """Totals of one ingestion run; ``skipped`` holds (source, reason) pairs."""

    files_seen: int = 0
    files_ingested: int = 0
    chunks_added: int = 0
    chunks_unchanged: int = 0
    chunks_removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


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
            name = path.name or path.resolve().name
            if name in ("", ".", ".."):
                name = path.resolve().name
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


def ingest_paths(
    index: KnowledgeIndex,
    paths: Sequence[Path],
    *,
    scope: str = "default",
    progress: bool = True,
    chunk_chars: int = 1000,
) -> IngestReport:
    """Load, chunk, embed and store every supported document under ``paths`` into ``scope``."""
    files = collect_files(paths)
    report = IngestReport(files_seen=len(files))
    if not progress:
        for file, source in files:
            _ingest_one(index, file, source, scope, chunk_chars, report)
        return report

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("files"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}", style="dim"),
    )
    with Progress(*columns, console=Console(stderr=True)) as bar:
        task = bar.add_task("Ingesting", total=len(files), current="")
        for file, source in files:
            bar.update(task, current=source)
            _ingest_one(index, file, source, scope, chunk_chars, report)
            bar.advance(task)
        bar.update(task, current="")
    return report


def _ingest_one(
    index: KnowledgeIndex,
    file: Path,
    source: str,
    scope: str,
    chunk_chars: int,
    report: IngestReport,
) -> None:
    if not is_supported(file):
        supported = ", ".join(SUPPORTED_SUFFIXES)
        report.skipped.append((source, f"unsupported file type (supported: {supported})"))
        return
    try:
        sections = load_document(file)
    except IngestError as exc:
        report.skipped.append((source, exc.message))
        return
    chunks = chunk_sections(sections, source=source, scope=scope, max_chars=chunk_chars)
    result = index.upsert_source(source, scope, chunks, updated_at=file.stat().st_mtime)
    report.files_ingested += 1
    report.chunks_added += result.added
    report.chunks_unchanged += result.unchanged
    report.chunks_removed += result.removed
