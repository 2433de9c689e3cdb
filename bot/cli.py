"""The ``assistant`` command line: chat, ask, serve, ingest, search, redis, doctor, stats, plus
the ``bench`` and ``guard`` groups (``bot.cli_bench``); shared plumbing is in ``bot.cli_support``.

Every command turns an ``AssistantError`` into one line on stderr (``error: … (hint: …)``) and exit
code 1; an unexpected failure prints one line and writes the traceback to the data dir's
``logs/errors.log``. Heavy imports happen inside commands so ``--help`` stays instant.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from bot.cli_bench import bench_app, guard_app
from bot.cli_support import (
    ConversationOption,
    JsonOption,
    TraceOption,
    err,
    out,
    print_json,
    read_question,
    run_async,
    run_command,
)

app = typer.Typer(
    help="A Slack assistant teams can trust and ops can see into (terminal edition).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(bench_app, name="bench")
app.add_typer(guard_app, name="guard")


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question, or '-' to read stdin.")],
    as_json: JsonOption = False,
    conversation: ConversationOption = "cli-ask",
    trace: TraceOption = False,
) -> None:
    """Ask one question through the full graph and print the answer with its sources."""
    from bot.session import ask_once

    text = read_question(question)
    result = run_async(
        lambda: ask_once(text, conversation_id=conversation, stream=not as_json, trace=trace)
    )
    if as_json:
        print_json(result.to_dict())


@app.command()
def chat(
    conversation: ConversationOption = "terminal",
    ingest_if_empty: Annotated[
        list[Path] | None,
        typer.Option("--ingest-if-empty", help="Ingest these paths when the index is empty."),
    ] = None,
    trace: TraceOption = False,
) -> None:
    """Chat in the terminal through the same graph the Slack bot uses (/help inside)."""
    from bot.session import chat_loop

    run_async(lambda: chat_loop(conversation, ingest_if_empty or [], trace))


@app.command()
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
    from bot.session import ingest_command

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


@app.command()
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
    from bot.search import search_command, search_queries_command

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


@app.command()
def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for all).")] = (
        "127.0.0.1"
    ),
) -> None:
    """Run the Slack bot: Socket Mode when an app token is set, else HTTP (/slack/events)."""
    import logging

    from bot.serve import serve as serve_slack
    from observe.logging import configure_logging

    def body() -> None:
        configure_logging(level=logging.INFO)
        asyncio.run(serve_slack(host=host, port=port))

    run_command(body)


@app.command()
def redis() -> None:
    """Run the embedded Redis in the foreground for other processes (Ctrl-C stops it)."""
    from bot.session import run_redis_foreground

    run_command(run_redis_foreground)


@app.command()
def doctor(as_json: JsonOption = False) -> None:
    """Check every part (Redis, Chroma, embeddings, model, Slack) and say how to fix failures."""
    from bot.doctor import render, run_checks

    checks = run_command(lambda: asyncio.run(run_checks()))
    if as_json:
        print_json([c.to_dict() for c in checks])
    else:
        render(checks, out)
    if any(c.required and not c.ok for c in checks):
        raise typer.Exit(1)


@app.command()
def stats(as_json: JsonOption = False) -> None:
    """Today's usage from the trace log: turns, questions, cache hit rate, latency."""
    from graph.settings import load_settings
    from observe.stats import turn_stats

    result = run_command(lambda: turn_stats(load_settings().traces_path).to_dict())
    if as_json:
        print_json(result)
    else:
        for key, value in result.items():
            out.print(f"{key:>16}: {value}")


def main() -> None:
    """Console-script entry point."""
    app()
