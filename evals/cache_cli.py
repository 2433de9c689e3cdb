"""``assistant bench cache``: the semantic cache's hit rates and lookup latency on pair files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bot.cli.support import JsonOption, out, print_json, run_async

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
