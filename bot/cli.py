"""The ``assistant`` command line: chat, ask, serve, ingest, search, redis, doctor, stats, bench.

Every command turns an ``AssistantError`` into one line on stderr (``error: … (hint: …)``) and exit
code 1; an unexpected failure prints one line and writes the traceback to the data dir's
``logs/errors.log``. Heavy imports happen inside commands so ``--help`` stays instant.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

T = TypeVar("T")
err = Console(stderr=True)
out = Console()

app = typer.Typer(
    help="A Slack assistant teams can trust and ops can see into (terminal edition).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
bench_app = typer.Typer(help="Benchmarks that print numbers.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
guard_app = typer.Typer(help="Run the guardrails on a text.", no_args_is_help=True)
app.add_typer(guard_app, name="guard")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TraceOption = Annotated[
    bool, typer.Option("--trace", help="Also print each finished span on stderr.")
]
ConversationOption = Annotated[
    str, typer.Option("--conversation", "-c", help="Conversation id (memory is kept per id).")
]


def _error_log_path() -> Path:
    try:
        from graph.settings import load_settings

        return load_settings().logs_dir / "errors.log"
    except Exception:  # settings are broken: that error was already reported
        return Path(".assistant") / "logs" / "errors.log"


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM / SIGHUP end the command like Ctrl-C does, so clean-up code runs."""
    raise SystemExit(128 + signum)


def run_command(body: Callable[[], T]) -> T:
    """Run a command body; known errors become one line and exit 1, never a traceback."""
    from observe.errors import AssistantError
    from observe.logging import configure_logging
    from observe.redaction import redact_secrets

    configure_logging()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    try:
        return body()
    except AssistantError as exc:
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        line = redact_secrets(f"{exc.message}{hint}")
        err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        log_path = _error_log_path()
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(redact_secrets(traceback.format_exc()) + "\n")
            where = f"details in {log_path}"
        except OSError:
            where = "no error log could be written"
        summary = redact_secrets(f"unexpected {type(exc).__name__}: {exc}")
        err.print(
            f"[bold red]error:[/] {escape(summary)} ({where})",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


def run_async(body: Callable[[], Awaitable[T]]) -> T:
    """``run_command`` for a coroutine function."""
    return run_command(lambda: asyncio.run(body()))  # type: ignore[arg-type]


def read_question(question: str) -> str:
    """The question argument, or standard input when it is ``-`` (bytes decoded leniently)."""
    if question == "-":
        return sys.stdin.buffer.read().decode("utf-8", errors="replace")
    # Arguments that are not valid UTF-8 arrive with surrogate escapes; make them visible.
    return question.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def print_json(data: Any) -> None:
    """JSON on stdout, one document."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


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


@bench_app.command("intents")
def bench_intents(
    data: Annotated[Path, typer.Option("--data", help="JSONL rows {text, intent}.")],
    as_json: JsonOption = False,
) -> None:
    """Intent accuracy, macro-F1 and the confusion matrix on a labelled file."""
    from bot.session import bench_intents_command

    report = run_command(lambda: bench_intents_command(data))
    if as_json:
        print_json(report.to_dict())
    else:
        from graph.intent_bench import render_table

        out.print(render_table(report))


@guard_app.command("check")
def guard_check(
    text: Annotated[str, typer.Argument(help="The text to check (a message, or an answer).")],
    stage: Annotated[
        str, typer.Option("--stage", help="input (a user's message) or output (an answer).")
    ] = "input",
    as_json: JsonOption = False,
) -> None:
    """Each validator's verdict on TEXT: passed or not, why, its fix, and its time."""
    from graph.settings import load_settings
    from guards.verdicts import check_text

    if stage not in ("input", "output"):
        raise typer.BadParameter("must be 'input' or 'output'", param_hint="--stage")
    max_chars = run_command(load_settings).max_input_chars
    report = run_command(lambda: check_text(text, stage=stage, max_chars=max_chars))  # type: ignore[arg-type]
    if as_json:
        print_json(report)
        return
    for verdict in report["verdicts"]:
        mark = "pass" if verdict["passed"] else "FAIL"
        note = f": {verdict['message']}" if verdict["message"] else ""
        out.print(f"{mark}  {verdict['validator']} ({verdict['ms']} ms){note}", highlight=False)
    out.print("passed" if report["passed"] else "flagged", highlight=False)


@bench_app.command("guards")
def bench_guards(
    data: Annotated[
        Path, typer.Option("--data", help='JSONL rows {"id", "text", "label": attack|benign}.')
    ],
    as_json: JsonOption = False,
) -> None:
    """TPR, FPR, precision, per-source rates and latency of the input guard."""
    from graph.settings import load_settings
    from guards.guard_bench import bench_guards as run_bench

    max_chars = run_command(load_settings).max_input_chars
    result = run_async(lambda: run_bench(data, max_chars=max_chars))
    if as_json:
        print_json(result)
        return
    out.print(
        f"{result['rows']} rows ({result['attacks']} attack, {result['benign']} benign): "
        f"TPR {result['TPR']}, FPR {result['FPR']}, precision {result['precision']}, "
        f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms",
        highlight=False,
    )
    for source, stats in result["by_source"].items():
        out.print(f"  {source or '(no source)'}: {stats}", highlight=False)
    out.print(f"refusal reasons: {result['reasons']}", highlight=False)
    out.print(
        f"{len(result['missed'])} attacks missed, {len(result['false_alarms'])} benign flagged "
        "(ids with --json)",
        highlight=False,
    )


@bench_app.command("pii")
def bench_pii(
    data: Annotated[
        Path,
        typer.Option(
            "--data", help='JSONL rows {"id", "text", "spans": [{"start", "end", "type"}]}.'
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Precision, recall and F1 per PII / secret type, and latency, of the detector."""
    from guards.pii_bench import bench_pii as run_bench
    from guards.pii_bench import render_table

    result = run_command(lambda: run_bench(data))
    if as_json:
        print_json(result)
        return
    out.print(render_table(result))
    out.print(
        f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms per row; "
        f"{result['mistakes_total']} mistakes (offsets and types with --json)",
        highlight=False,
    )


@bench_app.command("model")
def bench_model(
    runs: Annotated[int, typer.Option(min=1, max=50, help="Generations to time.")] = 5,
) -> None:
    """Time to first token and tokens/s of the configured chat model."""
    from bot.bench import bench_model as run_bench

    print_json(run_async(lambda: run_bench(runs)))


@bench_app.command("ask")
def bench_ask(
    question: Annotated[str, typer.Argument(help="Asked twice through the full graph.")] = (
        "How do I iterate over a dict in sorted order?"
    ),
    fresh: Annotated[bool, typer.Option(help="Clear the semantic cache first.")] = True,
) -> None:
    """Uncached vs cached answer latency for one question (clears the cache by default)."""
    from bot.bench import bench_ask as run_bench

    print_json(run_async(lambda: run_bench(question, fresh)))


@bench_app.command("retrieval")
def bench_retrieval(
    docs: Annotated[Path, typer.Option(help="Folder of documents to index (temporarily).")],
    queries: Annotated[
        list[Path],
        typer.Option(
            help='JSON lines {"id", "question", "answer", "source"}; repeat for more query sets '
            "over the same index."
        ),
    ],
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="Results scored per query.")] = 10,
    as_json: JsonOption = False,
) -> None:
    """R@1/5/10, MRR and query latency of every retrieval configuration on a fresh index of
    DOCS (the default is hybrid+rerank)."""
    from knowledge.retrieval_bench import bench_retrieval as run_bench

    first, *more = queries
    result = run_command(
        lambda: run_bench(docs, first, k=k, progress=not as_json, more_queries=tuple(more))
    )
    if as_json:
        print_json(result)
        return
    default = result["default"]
    print_retrieval_table(f"{first}: {result['queries']} queries", result, default)
    for path, extra in result["more"].items():
        print_retrieval_table(f"{path}: {extra['queries']} queries", extra, default)
    out.print(
        f"{result['files']} files, {result['chunks']} chunks, {result['sections']} sections; "
        f"ingest {result['ingest_s']} s ({result['ingest_chunks_per_s']} chunks/s), "
        f"unchanged re-ingest {result['reingest_unchanged_s']} s "
        f"({result['reingest_speedup']}x faster); BM25 build {result['lexical_build_s']} s; "
        f"heading vectors {result['heading_vectors_s']} s"
    )


def print_retrieval_table(title: str, result: dict[str, Any], default: str) -> None:
    """One query set's scores per configuration, and the default's R@5 gains."""
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("configuration", "R@1", "R@5", "R@10", "MRR", "p50 ms", "p95 ms"):
        table.add_column(column)
    for mode, m in result["modes"].items():
        table.add_row(
            f"{mode} (default)" if mode == default else mode,
            *(f"{m[c]:.3f}" for c in ("R@1", "R@5", "R@10", "MRR")),
            f"{m['p50_ms']:.1f}",
            f"{m['p95_ms']:.1f}",
        )
    out.print(table)
    gains = ", ".join(f"{name} {gain:+.3f}" for name, gain in result["default_R@5_gain"].items())
    out.print(f"default R@5 minus: {gains}")
    if result["gold_sources_missing"]:
        err.print(
            f"[yellow]warning:[/] {result['gold_sources_missing']} queries name a source file "
            "that is not in the index: sources are relative to --docs (give the folder they "
            "are relative to)",
            highlight=False,
        )


@bench_app.command("slack")
def bench_slack(
    events: Annotated[int, typer.Option(min=1, help="Questions asked, one after another.")] = 5,
) -> None:
    """Event received → first streamed text → final message, with the configured model."""
    from bot.slack_bench import bench_slack_latency

    print_json(run_async(lambda: bench_slack_latency(events)))


@bench_app.command("slack-load")
def bench_slack_load(
    events: Annotated[int, typer.Option(min=1, help="Distinct events.")] = 2000,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight.")] = 50,
    duplicates: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of events delivered twice.")
    ] = 0.1,
) -> None:
    """Acks/s of the HTTP endpoint under load (answers stubbed); lost and duplicate replies."""
    from bot.slack_bench import bench_slack_load as run_bench

    print_json(run_async(lambda: run_bench(events, concurrency, duplicates)))


def main() -> None:
    """Console-script entry point."""
    app()
