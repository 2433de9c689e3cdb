"""``assistant eval dataset``: the bot on a golden set, scored by exact checks and, optionally,
judges; a regression gate; two configurations compared with paired intervals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.support import JsonOption, err, out, print_json, run_async, run_command
from evals.judge_setup import judge_model, judges_named

if TYPE_CHECKING:
    from evals.judges import Judge


def dataset_command(
    data: Annotated[
        Path, typer.Argument(help='JSON lines {"id", "question", "answer", "source"}.')
    ],
    gate: Annotated[
        Path | None, typer.Option("--gate", help="YAML thresholds; exit 1 when one is missed.")
    ] = None,
    compare: Annotated[
        list[str] | None,
        typer.Option(
            "--compare",
            help="A configuration key=value[,key=value]; give two to compare (e.g. chat_model=…).",
        ),
    ] = None,
    pairwise_judge: Annotated[
        str | None,
        typer.Option(help="With --compare: judge each pair of answers (both orders) with it."),
    ] = None,
    judge_names: Annotated[
        list[str] | None,
        typer.Option("--judge-name", help="Also judge every answer (repeatable, or 'all')."),
    ] = None,
    judge: Annotated[
        str | None, typer.Option("--judge", help="Judge model (default: the configured one).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N rows.")] = None,
    out_path: Annotated[Path | None, typer.Option("--out", help="One JSON line per row.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the bot on a golden set with the configured model and data dir: gold source cited
    and retrieved, gold words, "couldn't find", exact checks (non-empty, citations exist, cited
    text overlaps the answer), latency, tokens and cost; with --judge-name, judge metrics; with
    --gate, a regression gate for CI; with two --compare configurations, both side by side with
    paired 95 % intervals of the differences."""
    from evals.answers import answer_rows, summarise
    from evals.gate import load_gate
    from knowledge.queries import load_queries

    thresholds = run_command(lambda: load_gate(gate)) if gate is not None else None
    rows = run_command(lambda: load_queries(data))[:limit]
    if compare is not None:
        _compare(rows, compare, pairwise_judge, out_path, as_json)
        return
    rubrics = run_command(lambda: judges_named(judge_names)) if judge_names else []
    judged_by = run_command(lambda: judge_model(judge)) if rubrics else None
    scored, settings = run_async(lambda: answer_rows(rows, out=out_path))
    summary = summarise(scored, settings.chat_model)
    if judged_by is not None:
        summary["judges"] = _judge_dataset(rubrics, judged_by, scored, quiet=as_json)
        if out_path is not None:  # again, with each row's verdicts
            out_path.write_text(
                "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in scored),
                encoding="utf-8",
            )
    failures = thresholds.failures(summary) if thresholds is not None else []
    summary["gate"] = {"passed": not failures, "failures": failures} if thresholds else None
    if as_json:
        print_json(summary)
    else:
        s = summary
        out.print(
            f"{s['rows']} questions on {s['model']}: cites gold {s['cites_gold']:.1%}, "
            f"gold words {s['gold_words']}, couldn't find {s['couldnt_find']:.1%}, "
            f"exact checks failed {s['checks_failed']:.1%}, total p95 {s['total_s_p95']} s",
            highlight=False,
        )
        for name, j in (summary.get("judges") or {}).items():
            rate = "–" if j["rate"] is None else f"{j['rate']:.1%}"
            out.print(f"  judge {name}: good {rate} of {j['n']} (unparsed {j['unparsed']})")
        for line in failures:
            err.print(f"[red]gate:[/] {line}", highlight=False)
        if thresholds is not None and not failures:
            out.print("gate passed")
    if failures:
        raise typer.Exit(1)


def _judge_dataset(
    rubrics: list[Judge], judged_by: tuple[Any, str], scored: list[dict[str, Any]], quiet: bool
) -> dict[str, Any]:
    from rich.progress import Progress

    from evals.dataset_judges import judge_answers

    model, name = judged_by
    with Progress(console=err, transient=True, disable=quiet) as progress:
        task = progress.add_task(f"judges on {name}", total=None)
        result = run_async(
            lambda: judge_answers(rubrics, model, scored, progress=lambda: progress.advance(task))
        )
    return {n: {**j, "model": name} for n, j in result.items()}


def _compare(
    rows: list[Any],
    configs: list[str],
    pairwise_judge: str | None,
    out_path: Path | None,
    as_json: bool,
) -> None:
    """``eval dataset --compare A --compare B``."""
    from rich.progress import Progress
    from rich.table import Table

    from evals.answers import answer_rows, summarise
    from evals.compare import PAIRWISE_GRAMMAR, differences, pairwise, parse_config
    from observe.errors import ConfigError

    def prepare() -> list[dict[str, Any]]:
        if len(configs) != 2:
            raise ConfigError("--compare needs exactly two configurations", hint="A and B")
        return [parse_config(c) for c in configs]

    overrides = run_command(prepare)
    judge = (
        run_command(lambda: judge_model(pairwise_judge, PAIRWISE_GRAMMAR))
        if pairwise_judge
        else None
    )
    runs: list[list[dict[str, Any]]] = []
    summaries = []
    judged: dict[str, Any] | None = None
    with Progress(console=err, transient=True, disable=as_json) as progress:
        for label, config, text in zip("AB", overrides, configs, strict=True):
            task = progress.add_task(f"{label}: {text}", total=len(rows))
            sink = out_path.with_suffix(f".{label}.jsonl") if out_path is not None else None

            def step(n: int, _total: int, task: Any = task) -> None:
                progress.update(task, completed=n)

            async def answer(config: dict[str, Any] = config, sink: Path | None = sink) -> Any:
                return await answer_rows(rows, overrides=config, out=sink, progress=step)

            scored, settings = run_async(answer)
            runs.append(scored)
            summaries.append({"config": config, **summarise(scored, settings.chat_model)})
        if judge is not None:
            model, name = judge
            task = progress.add_task(f"pairwise on {name}", total=len(rows))

            async def compare_pairs() -> dict[str, Any]:
                return await pairwise(model, runs[0], runs[1], lambda: progress.advance(task))  # type: ignore[arg-type]

            judged = {"model": name, **run_async(compare_pairs)}
    diffs = differences(*runs)
    report = {"a": summaries[0], "b": summaries[1], "b_minus_a": diffs, "pairwise": judged}
    if as_json:
        print_json(report)
        return
    table = Table(title=f"{len(rows)} questions, A vs B (paired 95 % intervals of B − A)")
    for column in ("", "A", "B", "B − A"):
        table.add_column(column, justify="left" if not column else "right")
    for key, title in (
        ("cites_gold", "gold source cited"),
        ("gold_words", "gold words"),
        ("couldnt_find", "couldn't find"),
        ("total_s_mean", "total s (mean)"),
    ):
        d = diffs.get(key.removesuffix("_mean"))
        delta = f"{d['mean']:+.3f} [{d['low']:+.3f}, {d['high']:+.3f}]" if d else "–"
        table.add_row(title, str(summaries[0].get(key)), str(summaries[1].get(key)), delta)
    for key, title in (
        ("total_s_p50", "total s p50"),
        ("total_s_p95", "total s p95"),
        ("first_text_s_p95", "first text s p95"),
        ("tokens_per_answer", "tokens per answer"),
        ("cost_usd", "cost USD"),
        ("model", "model"),
    ):
        table.add_row(title, str(summaries[0].get(key)), str(summaries[1].get(key)), "")
    out.print(table)
    if judged:
        out.print(
            f"pairwise ({judged['model']}, both orders): A wins {judged['a_wins']}, "
            f"B wins {judged['b_wins']}, position disagreement {judged['position_disagreement']}, "
            f"undecided {judged['undecided']}, identical answers {judged['same_answer']}"
        )
