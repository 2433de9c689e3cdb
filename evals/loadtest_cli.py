"""``assistant loadtest``: the replicas under a set event rate (``evals.loadtest``)."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.support import JsonOption, out, print_json, run_async


def loadtest(
    events: Annotated[int, typer.Option(min=1, max=1_000_000, help="Distinct events.")] = 500,
    replicas: Annotated[int, typer.Option(min=1, max=16, help="assistant serve processes.")] = 2,
    rate: Annotated[float, typer.Option(min=0.1, max=5000, help="Events per second.")] = 10.0,
    duplicates: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share redelivered to another replica.")
    ] = 0.05,
    model_latency_ms: Annotated[
        float, typer.Option(min=0, max=60_000, help="The fake model's answer time.")
    ] = 200.0,
    model_errors: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of model calls that fail (a fault).")
    ] = 0.0,
    model_error_status: Annotated[
        int, typer.Option(help="HTTP status of the failed model calls: 500 or 429.")
    ] = 500,
    as_json: JsonOption = False,
) -> None:
    """Signed Slack events at a set rate against local replicas (shared Redis, the Slack and
    model doubles): acked/s, answer latency, lost and duplicate answers."""
    from evals.loadtest import LoadPlan
    from evals.loadtest import loadtest as run_loadtest

    plan = LoadPlan(
        events,
        replicas,
        rate,
        duplicates,
        model_latency_ms,
        model_errors=model_errors,
        model_error_status=model_error_status,
    )
    say = (lambda _: None) if as_json else (lambda line: out.print(f"[dim]{line}[/]"))
    result = run_async(lambda: run_loadtest(plan, say))
    if as_json:
        print_json(result)
        return
    out.print(
        f"{result['events']} events · {result['replicas']} replica(s) · offered "
        f"{result['rate']:g}/s · acked {result['acked_per_s']}/s · answered "
        f"{result['answered_per_s']}/s · answer p50 {result['p50_answer_ms']:.0f} ms, p95 "
        f"{result['p95_answer_ms']:.0f} ms · lost {result['lost']} · duplicates "
        f"{result['duplicates']} · apologies {result['apologies']}"
    )
