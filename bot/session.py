"""What the CLI commands do, kept apart from argument parsing (``bot.cli``).

Each function loads settings, opens only what it needs (the whole ``Assistant`` for questions, just
the index for ingest/search) and closes it again, even on error.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from graph.factories import ingest_scanner, open_index
from graph.settings import Settings, load_settings
from observe.errors import AssistantError, InputRejected
from observe.tracing import Tracer

if TYPE_CHECKING:
    from graph.assistant import Assistant, TurnResult
    from graph.intent_bench import IntentReport

console = Console()
HELP = (
    "Type a question and press Enter. Commands: /new (start a new conversation), "
    "/help, /quit (or Ctrl-D)."
)


async def precheck(text: str, settings: Settings) -> None:
    """Reject unusable input before any service starts (the graph checks it again)."""
    from guards.input_guard import check_input

    verdict = await check_input(text, max_chars=settings.max_input_chars)
    if not verdict.allowed:
        raise InputRejected(f"message rejected: {verdict.reason}")


def make_tracer(settings: Settings, echo: bool) -> Tracer:
    """The trace log, also rendered on stderr when ``echo`` (``--trace``) is set."""
    return Tracer(
        settings.traces_path,
        environment=settings.environment,
        keep_content=settings.trace_content,
        echo=sys.stderr if echo else None,
    )


def print_sources(result: TurnResult) -> None:
    """The numbered sources under an answer."""
    for citation in result.citations:
        console.print(
            f"  [dim][{citation['n']}] {escape(citation['source'])} — "
            f"{escape(citation['heading'])}[/]",
            highlight=False,
        )


async def answer_and_print(assistant: Assistant, text: str, conversation_id: str) -> TurnResult:
    """Ask, printing the answer as the output guard releases it, then the rest of the final
    answer and the sources."""
    streamed: list[str] = []

    def on_text(text: str) -> None:
        streamed.append(text)
        console.out(text, end="", highlight=False)

    result = await assistant.ask(text, conversation_id=conversation_id, on_text=on_text)
    shown = "".join(streamed).strip()
    if not shown:
        console.out(result.answer, highlight=False)
    else:  # the guards may have trimmed or extended what streamed: show only the difference
        common = len(os.path.commonprefix([shown, result.answer]))
        if common < len(shown):
            console.print("\n[dim](corrected by the output guard)[/]")
        console.out(result.answer[common:], highlight=False)
    print_sources(result)
    cached = " · cached" if result.cached else ""
    console.print(
        f"[dim]{result.intent} · {result.timings_ms['total']:.0f} ms{cached} · "
        f"trace {result.trace_id[:8]}[/]"
    )
    return result


async def ask_once(
    text: str, *, conversation_id: str, stream: bool, trace: bool = False
) -> TurnResult:
    """Answer one question; raises ``InputRejected`` for a message the guard refuses."""
    from graph.assistant import Assistant

    settings = load_settings()
    await precheck(text, settings)
    assistant = await Assistant.start(settings, tracer=make_tracer(settings, trace))
    try:
        if stream:
            result = await answer_and_print(assistant, text, conversation_id)
        else:
            result = await assistant.ask(text, conversation_id=conversation_id)
    finally:
        await assistant.aclose()
    if result.blocked_reason:
        raise InputRejected(f"message rejected: {result.blocked_reason}")
    return result


async def chat_loop(
    conversation: str, ingest_if_empty: Sequence[Path], trace: bool = False
) -> None:
    """The terminal chat: one conversation, remembered across restarts."""
    from graph.assistant import Assistant
    from knowledge.ingest import ingest_paths

    settings = load_settings()
    with console.status("Starting Redis, Chroma, embeddings and the model…"):
        assistant = await Assistant.start(settings, tracer=make_tracer(settings, trace))
    try:
        index = assistant.context.index
        if ingest_if_empty and index.count() == 0:
            console.print(
                f"Knowledge base is empty: ingesting {', '.join(map(str, ingest_if_empty))}"
            )
            await asyncio.to_thread(
                ingest_paths,
                index,
                list(ingest_if_empty),
                scope=settings.knowledge_scope,
                scan=ingest_scanner(settings),
            )
        console.print(
            f"[bold]assistant[/] · {index.count()} chunks · model {settings.chat_model} · "
            f"conversation {conversation!r}\n{HELP}"
        )
        while True:
            try:
                text = console.input("[bold cyan]you ›[/] ")
            except EOFError:
                console.print()
                break
            command = text.strip().lower()
            if command in {"/quit", "/exit"}:
                break
            if command == "/help":
                console.print(HELP)
                continue
            if command == "/new":
                conversation = f"terminal-{secrets.token_hex(4)}"
                console.print(f"New conversation {conversation!r}.")
                continue
            if not command:
                continue
            console.print("[bold green]assistant ›[/] ", end="")
            try:
                await answer_and_print(assistant, text, conversation)
            except AssistantError as exc:  # one failed turn must not end the chat
                hint = f" (hint: {exc.hint})" if exc.hint else ""
                console.print(f"\n[red]error:[/] {escape(exc.message + hint)}", highlight=False)
    finally:
        await assistant.aclose()


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
    summary = {**report.to_dict(), "total_chunks": index.count()}
    if progress:
        print_ingest_summary(summary)
    return summary


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
    console.print(table)
    console.print(f"{summary['seconds']:.1f} s", highlight=False)
    problems = [("skipped", item) for item in summary["skipped"]]
    problems += [("warning", item) for item in summary["warnings"]]
    if problems:
        details = Table("", "file", "reason", title_justify="left")
        for kind, item in problems:
            style = "yellow" if kind == "skipped" else "dim"
            details.add_row(f"[{style}]{kind}[/]", escape(item["path"]), escape(item["reason"]))
        console.print(details)


def run_redis_foreground() -> None:
    """Serve the embedded Redis until Ctrl-C / SIGTERM."""
    from graph.redis_server import EmbeddedRedis

    settings = load_settings()
    server = EmbeddedRedis(settings.redis_dir, settings.redis_port)
    console.print(
        f"Embedded Redis on {server.url} (data in {settings.redis_dir}); Ctrl-C stops it."
    )
    server.run_foreground()


def bench_intents_command(data: Path) -> IntentReport:
    """Evaluate the configured intent classifier on a labelled JSONL file."""
    from graph.factories import build_classifier
    from graph.intent_bench import evaluate, load_rows

    rows = load_rows(data)
    classifier = build_classifier(load_settings())
    classifier.fit()
    return evaluate(classifier, rows)
