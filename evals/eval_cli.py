"""``assistant eval …``: AI judges, validated against human labels.

``eval judges`` lists the rubrics; ``eval traces`` judges logged turns; ``eval report`` writes
the HTML report; ``eval dataset`` (``evals.dataset_cli``) runs a golden set; ``eval
regressions`` exports the 👎 cases.

``eval calibrate --labels F --judge-name refusal [--judge MODEL] [--json]`` runs one judge on
labelled rows and prints accuracy, TPR, TNR, Cohen's κ and the confusion matrix (with
``--json``: one object with ``n``, ``accuracy``, ``kappa``, ``tpr``, ``tnr`` and more), then
stores TPR/TNR in the data dir for bias-corrected pass rates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from bot.cli.support import JsonOption, err, out, print_json, run_async, run_command
from evals.dataset_cli import dataset_command
from evals.judge_setup import judge_model, judges_file, judges_named

if TYPE_CHECKING:
    from evals.judges import Judge
    from evals.trace_eval import TraceEvalReport
    from graph.settings import Settings
    from observe.tracing import Tracer

eval_app = typer.Typer(
    help="AI-judge evaluation, checked against human labels.", no_args_is_help=True
)
eval_app.command("dataset")(dataset_command)


@eval_app.command("regressions")
def regressions_command(
    out_file: Annotated[Path, typer.Option("--out", help="The JSON-lines file to write.")],
) -> None:
    """Write the answers users marked 👎 with a reason as regression cases to review: fill in
    ``answer`` and ``source`` (the right ones), set ``reviewed``, then run ``eval dataset``."""

    def export() -> int:
        import redis

        from bot.records import REGRESSIONS_KEY
        from graph.services.embedded_redis import EmbeddedRedis
        from graph.settings import load_settings

        def queued(url: str) -> list[dict[str, object]]:
            with redis.Redis.from_url(url, socket_timeout=5, decode_responses=True) as client:
                return [json.loads(raw) for raw in client.lrange(REGRESSIONS_KEY, 0, -1)]

        settings = load_settings()
        if settings.redis_url:
            rows = queued(settings.redis_url)
        else:  # the embedded one: started for this, stopped after (left alone if already up)
            with EmbeddedRedis(settings.redis_dir, settings.redis_port) as server:
                rows = queued(server.url)
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
        return len(rows)

    count = run_command(export)
    out.print(f"{count} regression case(s) written to {out_file}; review them before use")


@eval_app.command("traces")
def traces_command(
    judge_names: Annotated[
        list[str],
        typer.Option("--judge-name", help="A judge (repeatable) or 'all'; see `eval judges`."),
    ] = ["refusal"],  # noqa: B006 (typer reads the default; it is never mutated)
    judge: Annotated[
        str | None, typer.Option("--judge", help="Judge model (default: the configured one).")
    ] = None,
    since: Annotated[str | None, typer.Option(help="Only turns newer than 30m, 24h, 7d…")] = None,
    sample: Annotated[int | None, typer.Option(min=1, help="Judge a random sample.")] = None,
    budget: Annotated[
        int | None, typer.Option(min=1, help="At most this many calls per judge.")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Calls in flight.")] = 2,
    as_json: JsonOption = False,
) -> None:
    """Judge logged turns (content capture must have been on) and write the results to the log;
    prints each pass rate, corrected for the judge's calibrated errors when it has one."""
    from bot.cli.traces import since_ns
    from graph.factories import open_index, open_tracer
    from graph.settings import load_settings

    start = since_ns(since)

    def prepare() -> tuple:
        rubrics = judges_named(judge_names)
        model, name = judge_model(judge)
        settings = load_settings()
        index = open_index(settings) if any(j.needs_context for j in rubrics) else None
        return rubrics, model, name, settings, index

    rubrics, model, name, settings, index = run_command(prepare)
    tracer = open_tracer(settings)
    reports = []
    try:
        for rubric in rubrics:
            reports.append(
                _judge_traces(
                    rubric,
                    model,
                    name,
                    settings,
                    tracer,
                    texts=index.texts if index is not None else None,
                    since_ns=start,
                    sample=sample,
                    budget=budget,
                    concurrency=concurrency,
                    quiet=as_json,
                )
            )
    finally:
        tracer.close()
    if as_json:
        print_json(reports[0].to_dict() if len(reports) == 1 else [r.to_dict() for r in reports])
        return
    for report in reports:
        _print_trace_report(report)


def _judge_traces(
    rubric: Judge,
    model: Any,
    name: str,
    settings: Settings,
    tracer: Tracer,
    *,
    quiet: bool,
    **options: Any,
) -> TraceEvalReport:
    """One judge over the log, with a progress bar."""
    from rich.progress import Progress

    from evals.trace_eval import evaluate_traces, load_calibration

    calibration = load_calibration(judges_file(), rubric)
    with Progress(console=err, transient=True, disable=quiet) as progress:
        task = progress.add_task(f"{rubric.name} on {name}", total=None)

        def advance(n: int) -> None:
            if n >= 0:
                progress.update(task, total=n)
            else:
                progress.advance(task)

        return run_async(
            lambda: evaluate_traces(
                rubric,
                model,
                name,
                settings.traces_path,
                tracer,
                calibration=calibration,
                progress=advance,
                **options,
            )
        )


def _print_trace_report(report: TraceEvalReport) -> None:
    from evals.judges import JUDGES

    rubric = JUDGES[report.judge]
    out.print(
        f"[bold]{report.judge}[/] ({report.version}) on {report.model}: {report.judged} "
        f"call(s) now, {report.already_judged} earlier, {report.without_content} turn(s) "
        f"without content, {report.not_applicable} not applicable (of {report.turns_seen})"
    )
    if report.chunks_missing:
        out.print(f"  {report.chunks_missing} cited or retrieved chunk(s) no longer stored")
    if report.without_content and not report.judged:
        out.print("  turns keep their text only with ASSISTANT_TRACE_CONTENT=true")
    rate = report.observed_rate
    if rate is not None:
        out.print(f"  judged {rubric.positive}: {rate:.1%} of {report.judged - report.unparsed}")
    if report.corrected:
        c = report.corrected
        out.print(
            f"  corrected for the judge's errors: {c.corrected:.1%} "
            f"(95% CI {c.low:.1%}–{c.high:.1%})"
        )
    elif rate is not None:
        out.print("  not corrected: calibrate the judge first (assistant eval calibrate)")


@eval_app.command("judges")
def judges_command(as_json: JsonOption = False) -> None:
    """The judges: rubric version, what a YES means, what each reads, and the stored
    calibration (model, κ, TPR, TNR) when there is one for that version."""
    from rich.table import Table

    from evals.judges import JUDGES
    from evals.trace_eval import load_calibration

    rows: list[dict[str, Any]] = []
    for judge in JUDGES.values():
        saved = load_calibration(judges_file(), judge)
        rows.append(
            {
                "name": judge.name,
                "version": judge.version,
                "yes_means": judge.positive,
                "reads": list(judge.fields),
                "rubric": judge.rubric,
                "calibration": saved,
            }
        )
    if as_json:
        print_json(rows)
        return
    table = Table(title="AI judges")
    for column in ("judge", "YES means", "reads", "calibration"):
        table.add_column(column)
    for row in rows:
        c = row["calibration"]
        calibrated = (
            f"{c['model']}: κ {c['kappa']:.2f}, TPR {c['tpr']:.2f}, TNR {c['tnr']:.2f}"
            if c and None not in (c.get("kappa"), c.get("tpr"), c.get("tnr"))
            else "not calibrated"
        )
        table.add_row(
            f"{row['name']} ({row['version']})",
            row["yes_means"],
            ", ".join(row["reads"]),
            calibrated,
        )
    out.print(table)


@eval_app.command("report")
def report_command(
    out_file: Annotated[Path, typer.Option("--out", help="The HTML file to write.")] = Path(
        "eval-report.html"
    ),
    since: Annotated[str | None, typer.Option(help="Only turns newer than 30m, 24h, 7d…")] = None,
    latency_budget: Annotated[
        float, typer.Option("--latency-budget", min=0.1, help="Seconds a turn may take.")
    ] = 10.0,
    dashboard_url: Annotated[
        str | None,
        typer.Option(help="Link traces to this dashboard (e.g. http://127.0.0.1:8090/dashboard/)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """An HTML report of the judges' verdicts and the exact checks in the trace log: pass rates
    with 95 % intervals (corrected for calibrated judges), over time, per intent and channel,
    judge–human agreement and the worst turns."""
    from bot.cli.traces import since_ns
    from evals.report import build_report, stored_calibrations
    from evals.report_html import render
    from graph.settings import load_settings

    start = since_ns(since)

    def build() -> dict[str, Any]:
        return build_report(
            load_settings().traces_path,
            stored_calibrations(judges_file()),
            since_ns=start,
            latency_budget_ms=latency_budget * 1000,
        )

    data = run_command(build)
    if as_json:
        print_json(data)
        return

    def write() -> None:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(render(data, dashboard_url=dashboard_url), encoding="utf-8")

    run_command(write)
    judged = sum(j["overall"]["n"] for j in data["judges"])
    out.print(
        f"{out_file}: {data['turns']} turn(s), {len(data['judges'])} judge(s), {judged} verdict(s)"
    )
    if not data["judges"]:
        out.print("  no verdicts yet: run `assistant eval traces --judge-name all` first")


@eval_app.command("calibrate")
def calibrate_command(
    labels: Annotated[Path, typer.Option("--labels", help="JSONL rows {question, answer, label}.")],
    judge_name: Annotated[str, typer.Option("--judge-name", help="refusal, groundedness, …")],
    judge: Annotated[
        str | None, typer.Option("--judge", help="Judge model (default: the configured one).")
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, max=32, help="Calls in flight.")] = 2,
    timeout: Annotated[float, typer.Option(min=1.0, help="Seconds per call.")] = 60.0,
    positive_at: Annotated[
        float,
        typer.Option(min=0.0, max=1.0, help="Rows with a human_score: positive from this score."),
    ] = 0.5,
    as_json: JsonOption = False,
) -> None:
    """A judge's agreement with human labels: accuracy, TPR, TNR, Cohen's κ, confusion."""
    from rich.progress import Progress

    from evals.calibration import calibrate, load_labels, store
    from evals.judges import JUDGES
    from observe.errors import ConfigError

    def prepare() -> tuple:
        if judge_name not in JUDGES:
            raise ConfigError(f"no judge {judge_name!r}", hint=f"one of {sorted(JUDGES)}")
        rubric = JUDGES[judge_name]
        rows = load_labels(labels, rubric, positive_at)
        model, name = judge_model(judge)
        return rubric, rows, model, name

    rubric, rows, model, name = run_command(prepare)
    with Progress(console=err, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"{judge_name} on {name}", total=len(rows))
        result = run_async(
            lambda: calibrate(
                rubric,
                model,
                name,
                rows,
                concurrency=concurrency,
                timeout_s=timeout,
                progress=lambda: progress.advance(task),
            )
        )
    run_command(lambda: store(judges_file(), result, labels))
    report = result.to_dict()
    if as_json:
        print_json(report)
        return
    a = result.agreement
    out.print(f"[bold]{judge_name}[/] ({rubric.version}) on {name}, {a.n} labelled rows")
    out.print(
        f"  accuracy {report['accuracy']}  TPR {report['tpr']}  TNR {report['tnr']}  "
        f"Cohen's κ {report['kappa']}  unparsed {result.unparsed}"
    )
    out.print(
        f"  confusion: TP {a.tp}  FN {a.fn}  FP {a.fp}  TN {a.tn}  (positive = {rubric.positive!r})"
    )
    if result.errors:
        out.print(f"  model errors: {result.errors}")
    out.print(f"  stored in {judges_file()}")
