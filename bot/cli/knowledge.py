"""``assistant ingest`` and ``assistant search``: documents in, passages out (no model involved).

``search --queries FILE`` prints one JSON line per query row: a contract other tools score.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from bot.cli.support import JsonOption, err, out, print_json, run_command
from graph.factories import ingest_scanner, open_index, open_retriever
from graph.settings import load_settings
from knowledge.ingest import relative_source
from knowledge.queries import load_queries
from observe.errors import AssistantError

if TYPE_CHECKING:
    from graph.settings import Settings
    from knowledge.index import KnowledgeIndex


def search_command(
    query: str, *, k: int, include_quarantined: bool = False
) -> list[dict[str, Any]]:
    """Top ``k`` chunks for ``query`` in the configured space (quarantined ones too, marked,
    with ``include_quarantined``)."""
    settings = load_settings()
    retriever = open_retriever(settings)
    hits = retriever.search(
        query, k=k, spaces=[settings.knowledge_scope], include_quarantined=include_quarantined
    )
    return [
        {
            "id": h.id,
            "source": h.source,
            "heading": h.heading,
            "score": h.score,
            "text": h.text,
            "url": h.url,
            "quarantined": h.quarantined,
            "quarantine_reason": h.quarantine_reason,
        }
        for h in hits
    ]


def search_queries_command(path: Path, *, k: int) -> None:
    """For each ``{"id", "question"}`` row print ``{"id", "question", "results": [...]}`` (one
    JSON line, flushed, so long runs stream). ``source`` is relative to the ingested root."""
    queries = load_queries(path)
    settings = load_settings()
    retriever = open_retriever(settings)
    for query in queries:
        hits = retriever.search(query.question, k=k, spaces=[settings.knowledge_scope])
        row = {
            "id": query.id,
            "question": query.question,
            "results": [
                {
                    "text": h.text,
                    "source": relative_source(h.source),
                    "heading": h.heading,
                    "score": round(h.score, 6),
                    "chunk_id": h.id,
                    "url": h.url,
                }
                for h in hits
            ],
        }
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        sys.stdout.flush()


def ingest_command(
    paths: Sequence[Path],
    *,
    scope: str | None,
    progress: bool,
    prune: bool = False,
    base_url: str = "",
) -> dict[str, Any]:
    """Ingest ``paths`` into a knowledge space; print the summary tables when ``progress`` is
    on, and return the report as data either way."""
    from knowledge.ingest import ingest_paths

    settings = load_settings()
    index = open_index(settings)
    report = ingest_paths(
        index,
        list(paths),
        scope=scope or settings.knowledge_scope,
        progress=progress,
        prune=prune,
        base_url=base_url,
        scan=ingest_scanner(settings),
    )
    summary = {
        **report.to_dict(),
        "total_chunks": index.count(),
        "cached_answers_removed": prune_cache(settings, index) if report.chunks_removed else 0,
    }
    if progress:
        print_ingest_summary(summary)
    return summary


def prune_cache(settings: Settings, index: KnowledgeIndex) -> int:
    """Drop the cached answers built on removed chunks; a Redis problem is a warning, never a
    failed ingestion (lookups check the cited chunks anyway)."""
    import asyncio

    from redis.exceptions import RedisError
    from redisvl.exceptions import RedisVLError

    from graph.cache_upkeep import prune_stale_answers

    try:
        return asyncio.run(prune_stale_answers(settings, index))
    except (AssistantError, RedisError, RedisVLError) as exc:
        err.print(f"[yellow]warning:[/] cached answers not pruned: {exc}", highlight=False)
        return 0


def print_ingest_summary(summary: dict[str, Any]) -> None:
    """The end-of-run tables: totals, then every skipped file and warning with its reason."""
    from rich.table import Table

    table = Table(title=f"Ingested into space {summary['scope']!r}", title_justify="left")
    table.add_column("files", style="bold")
    table.add_column("", justify="right")
    table.add_column("chunks", style="bold")
    table.add_column("", justify="right")
    rows = [
        ("ingested", summary["files_ingested"], "added", summary["chunks_added"]),
        ("unchanged", summary["files_unchanged"], "unchanged", summary["chunks_unchanged"]),
        ("skipped", len(summary["skipped"]), "removed", summary["chunks_removed"]),
        ("pruned", summary["files_pruned"], "in the index", summary["total_chunks"]),
        ("seen", summary["files_seen"], "added per second", summary["chunks_per_second"]),
    ]
    for files, n_files, chunks, n_chunks in rows:
        table.add_row(files, str(n_files), chunks, str(n_chunks))
    out.print(table)
    out.print(f"{summary['seconds']:.1f} s", highlight=False)
    if summary.get("cached_answers_removed"):
        out.print(
            f"{summary['cached_answers_removed']} cached answer(s) built on removed chunks dropped"
        )
    problems = [("skipped", item) for item in summary["skipped"]]
    problems += [("warning", item) for item in summary["warnings"]]
    if problems:
        details = Table("", "file", "reason", title_justify="left")
        for kind, item in problems:
            style = "yellow" if kind == "skipped" else "dim"
            details.add_row(f"[{style}]{kind}[/]", escape(item["path"]), escape(item["reason"]))
        out.print(details)


def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or directories (md, rst, txt, html, pdf).")
    ],
    space: Annotated[
        str | None,
        typer.Option("--space", metavar="NAME", help="Knowledge space (default: settings)."),
    ] = None,
    scope: Annotated[
        str | None, typer.Option("--scope", hidden=True, help="Deprecated: use --space.")
    ] = None,
    prune: Annotated[
        bool,
        typer.Option(
            "--prune", help="Also remove documents of the space under PATHS that were deleted."
        ),
    ] = False,
    base_url: Annotated[
        str,
        typer.Option(
            "--base-url",
            metavar="URL",
            help="Link citations to URL + the file's path under its folder (for docs mirrored "
            "from a site); a page's own canonical URL or front-matter url: wins.",
        ),
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Add documents to a knowledge space; unchanged files are skipped, changed ones replaced."""
    if scope is not None:
        if space is not None and space != scope:
            err.print("[bold red]error:[/] --scope is the old name of --space: give only --space")
            raise typer.Exit(2)
        err.print("[yellow]warning:[/] --scope is deprecated; use --space", highlight=False)
    chosen = space if space is not None else scope
    report = run_command(
        lambda: ingest_command(
            paths, scope=chosen, progress=not as_json, prune=prune, base_url=base_url
        )
    )
    if as_json:
        print_json(report)
        return
    for source, count in report["quarantined"].items():
        chunks = "chunk" if count == 1 else "chunks"
        note = f"{count} {chunks} quarantined (possible prompt injection):"
        out.print(f"[yellow]{note}[/] {escape(source)}", highlight=False)
    if report["quarantined"]:
        out.print(
            "[dim]Quarantined chunks are never shown to the model; inspect them with "
            "`assistant search --include-quarantined`.[/]",
            highlight=False,
        )


def search(
    query: Annotated[
        str | None, typer.Argument(help="What to look for (or use --queries).")
    ] = None,
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many passages.")] = 5,
    queries: Annotated[
        Path | None,
        typer.Option(help='JSON-lines file of {"id", "question"}: one JSON line out per row.'),
    ] = None,
    include_quarantined: Annotated[
        bool,
        typer.Option(
            "--include-quarantined", help="Also show chunks quarantined as possible injections."
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Search the knowledge base with the shipped retrieval (no model involved)."""
    if queries is not None:
        run_command(lambda: search_queries_command(queries, k=k))
        return
    if not query:
        err.print("[bold red]error:[/] give a query or --queries FILE")
        raise typer.Exit(1)
    hits = run_command(lambda: search_command(query, k=k, include_quarantined=include_quarantined))
    if as_json:
        print_json(hits)
        return
    for i, hit in enumerate(hits, start=1):
        flag = (
            f" [bold red]{escape('[quarantined: ' + hit['quarantine_reason'] + ']')}[/]"
            if hit["quarantined"]
            else ""
        )
        out.print(
            f"[bold]{i}. {hit['source']}[/] — {hit['heading']} [dim](score {hit['score']:.3f})[/]"
            + flag
        )
        out.print(f"   {hit['text'][:200].replace(chr(10), ' ')}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``ingest`` and ``search`` to the ``assistant`` command."""
    app.command("ingest")(ingest)
    app.command("search")(search)
