"""``assistant bench cache`` (the semantic cache's hit rates and lookup latency on pair files),
and ``assistant bench ask`` (cached vs uncached answers through the whole graph)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.support import JsonOption, out, print_json, run_async, run_command

SHIPPED_PAIRS = Path(__file__).parent / "data" / "cache-pairs"
"""Pair sets shipped with the project (``docs/benchmarks.md`` says who wrote which)."""


def bench_cache(
    pairs: Annotated[
        list[Path] | None,
        typer.Option(
            "--pairs",
            help='JSONL rows {"id", "a", "b", "same"} (repeatable; default: the shipped set).',
        ),
    ] = None,
    entries: Annotated[
        int, typer.Option(min=0, max=200_000, help="Other questions to fill the index with first.")
    ] = 0,
    threshold: Annotated[
        float | None,
        typer.Option(min=0.01, max=1.99, help="Cosine distance for candidates (default: setting)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Paraphrase hit rate, false-hit rate, wrong decisions and lookup latency of the cache."""
    from evals.cache_bench import bench_cache as run_bench

    files = pairs or sorted(SHIPPED_PAIRS.glob("*.jsonl"))
    result = run_async(
        lambda: run_bench(files, entries=entries, threshold=threshold, progress=not as_json)
    )
    if as_json:
        print_json(result)
        return
    lookup = result["lookup_ms"]
    out.print(
        f"{result['n']} pairs · paraphrase hit rate {result['paraphrase_hit_rate']:.1%} · "
        f"false-hit rate {result['false_hit_rate']:.1%} · lookup p50 {lookup['p50']} ms, "
        f"p95 {lookup['p95']} ms at {result['entries']:,} entries"
    )
    if result["false_hits"]:
        out.print(f"false hits: {', '.join(result['false_hits'])}")
    out.print(f"verdicts: {result['verdicts']}")


def bench_ask(
    question: Annotated[str, typer.Argument(help="Asked twice through the full graph.")] = (
        "How do I iterate over a dict in sorted order?"
    ),
    fresh: Annotated[bool, typer.Option(help="Clear the semantic cache first.")] = True,
    questions: Annotated[
        Path | None,
        typer.Option("--questions", help='JSONL rows with "question": each asked, then again.'),
    ] = None,
    repeats: Annotated[int, typer.Option(min=1, max=100, help="Asks after the first.")] = 5,
    limit: Annotated[int, typer.Option(min=1, help="Questions read from --questions.")] = 30,
) -> None:
    """Uncached vs cached answer latency: one question asked twice, or with ``--questions``
    each question asked once and then ``--repeats`` times reworded (clears the cache first)."""
    from evals.speed import bench_ask as run_bench
    from evals.speed import bench_ask_many

    if questions is None:
        print_json(run_async(lambda: run_bench(question, fresh)))
        return
    texts = run_command(lambda: question_texts(questions, limit))
    print_json(run_async(lambda: bench_ask_many(texts, repeats, fresh)))


def question_texts(path: Path, limit: int) -> list[str]:
    """The first ``limit`` ``question`` fields of a JSONL file."""
    from observe.errors import InputRejected
    from observe.jsonl import json_rows

    rows = [row for _, row in json_rows(path, hint='check --questions: {"question"} rows')]
    texts = [str(r["question"]) for r in rows if r.get("question")]
    if not texts:
        raise InputRejected(f'{path} has no rows with a "question"')
    return texts[:limit]
