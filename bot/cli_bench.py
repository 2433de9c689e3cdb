"""``assistant bench …`` (benchmarks that print numbers) and ``assistant guard …`` commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli_support import JsonOption, err, out, print_json, run_async, run_command

bench_app = typer.Typer(help="Benchmarks that print numbers.", no_args_is_help=True)
guard_app = typer.Typer(help="Run the guardrails on a text.", no_args_is_help=True)


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

    from bot.answer_bench import bench_answers as run_bench
    from bot.answer_bench import load_golden

    rows = run_command(lambda: load_golden(data))[:limit]
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
        f"{result['cites_gold']:.1%}, gold words {result['gold_words']:.1%}, couldn't find "
        f"{result['couldnt_find']:.1%} ({result['replaced']} replaced, {result['no_sources']} "
        f"with no source); first text p50 {result['first_text_s_p50']} s / p95 "
        f"{result['first_text_s_p95']} s; total p50 {result['total_s_p50']} s / p95 "
        f"{result['total_s_p95']} s",
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
