"""``assistant dashboard`` and ``assistant traces tail/search/export``: the trace log for people.

The dashboard listens on 127.0.0.1 without a token; on any other interface it needs one
(``--token``, ``ASSISTANT_DASHBOARD_TOKEN``, or a fresh random one printed at start).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.support import JsonOption, err, out, print_json, run_command

traces_app = typer.Typer(help="Read the trace log: follow it, search it, export it as OTLP.")

TracesOption = Annotated[
    Path | None,
    typer.Option("--traces", help="The live trace file (default: the data dir's traces.jsonl)."),
]


def live_path(traces: Path | None) -> Path:
    """The trace file to read: ``--traces`` or the configured one."""
    if traces is not None:
        return traces
    from graph.settings import load_settings

    return load_settings().traces_path


def dashboard(
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port.")] = 8090,
    host: Annotated[str, typer.Option(help="Interface (0.0.0.0 for all: needs a token).")] = (
        "127.0.0.1"
    ),
    token: Annotated[
        str | None,
        typer.Option(
            help="Required off loopback (default: ASSISTANT_DASHBOARD_TOKEN, else a random one "
            "printed at start); on loopback, given here, it is required too."
        ),
    ] = None,
    traces: TracesOption = None,
) -> None:
    """Serve the ops dashboard over the trace log (DuckDB, refreshed as the log grows)."""
    from aiohttp import web

    from observe.dashboard.queries import Panels
    from observe.dashboard.server import LOOPBACK_HOSTS, dashboard_app, is_loopback
    from observe.dashboard.store import TraceStore

    path = live_path(traces)
    if not is_loopback(host) and not token:
        token = os.environ.get("ASSISTANT_DASHBOARD_TOKEN") or None
    if not is_loopback(host) and not token:
        token = secrets.token_urlsafe(24)
        err.print(f"[yellow]{host} is not loopback: a token is required; generated one.[/]")

    def build() -> web.Application:
        store = TraceStore(path)
        with out.status(f"Loading {path.parent}…"):
            store.refresh(force=True)
        out.print(
            f"{store.loaded_records:,} records loaded"
            + (
                f" ({store.skipped_lines:,} unreadable lines skipped)"
                if store.skipped_lines
                else ""
            )
        )
        # Loopback: open unless a token was given, and only for loopback Host names.
        return dashboard_app(
            Panels(store),
            token=token or None,
            hosts=LOOPBACK_HOSTS if is_loopback(host) else None,
        )

    app = run_command(build)
    shown = "localhost" if is_loopback(host) else host
    query = f"?token={token}" if token else ""
    out.print(f"Dashboard on http://{shown}:{port}/{query} — Ctrl-C stops it.")
    web.run_app(app, host=host, port=port, print=None)


SinceOption = Annotated[
    str | None, typer.Option("--since", help="Only newer records: 30m, 24h, 7d or an ISO time.")
]


def since_ns(value: str | None) -> int:
    """``--since`` as unix nanoseconds (0: everything); a bad value exits with status 2."""
    if not value:
        return 0
    units = {"m": 60, "h": 3600, "d": 86400}
    if value[:-1].isdigit() and value[-1] in units:
        return time.time_ns() - int(value[:-1]) * units[value[-1]] * 1_000_000_000
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        err.print(
            f"--since {value!r} is neither a duration nor a time: try 30m, 24h, 7d, 2026-12-01"
        )
        raise typer.Exit(2) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1e9)


def line_of(record: dict[str, Any]) -> str:
    """One record as a terminal line: time, trace, name, duration, status, key attributes."""
    attrs = record.get("attributes") or {}
    keep = {k: v for k, v in attrs.items() if k in SHOWN and v not in (None, [], "")}
    start = record.get("start_time_unix_nano") or record.get("start_ns")
    when = (
        datetime.fromtimestamp(start / 1e9, UTC).strftime("%m-%d %H:%M:%S.%f")[:-3]
        if isinstance(start, int)
        else str(record.get("ts", ""))[5:23].replace("T", " ")
    )
    ms = record.get("duration_ms")
    took = f"{ms:>9.1f} ms" if isinstance(ms, int | float) else " " * 12
    extra = " ".join(f"{k.removeprefix('app.')}={v}" for k, v in keep.items())
    return (
        f"{when} {str(record.get('trace_id') or '')[:8]} {str(record.get('name') or '?'):<28} "
        f"{took} {str(record.get('status') or record.get('record') or ''):<5} {extra}"
    )


SHOWN = (
    "app.intent",
    "app.cache_hit",
    "app.citations",
    "gen_ai.request.model",
    "error.type",
    "gen_ai.usage.output_tokens",
    "app.slack.first_text_ms",
    "gen_ai.evaluation.name",
    "gen_ai.evaluation.score.label",
    "app.guard.checks",
    "app.retrieval.top_similarity",
)


@traces_app.command("tail")
def tail(
    lines: Annotated[int, typer.Option("-n", "--lines", min=0, help="Records shown first.")] = 20,
    follow: Annotated[bool, typer.Option("-f", "--follow", help="Keep printing new records.")] = (
        False
    ),
    trace: Annotated[str | None, typer.Option(help="Only this trace id (or a prefix).")] = None,
    traces: TracesOption = None,
) -> None:
    """The latest records of the trace log, one line each; ``-f`` follows it (Ctrl-C stops)."""
    from collections import deque

    from observe.tracefile import read_whole_lines, trace_records

    path = live_path(traces)

    def wanted(record: dict[str, Any]) -> bool:
        return trace is None or str(record.get("trace_id", "")).startswith(trace)

    for record in deque(filter(wanted, trace_records(path)), maxlen=lines):
        out.print(line_of(record), highlight=False, markup=False, soft_wrap=True)
    if not follow:
        return
    offset = path.stat().st_size if path.exists() else 0
    try:
        while True:
            time.sleep(0.5)
            if path.exists() and path.stat().st_size < offset:  # rotated: a new live file
                offset = 0
            data = read_whole_lines(path, offset)
            offset += len(data)
            for raw in data.splitlines():
                try:
                    record = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(record, dict) and wanted(record):
                    out.print(line_of(record), highlight=False, markup=False, soft_wrap=True)
    except KeyboardInterrupt:
        return


@traces_app.command("search")
def search(
    name: Annotated[str | None, typer.Option(help="Span name, or a prefix ending in *.")] = None,
    status: Annotated[str | None, typer.Option(help="OK or ERROR.")] = None,
    trace: Annotated[str | None, typer.Option(help="A trace id (or a prefix).")] = None,
    attr: Annotated[
        list[str] | None, typer.Option("--attr", help="key=value on the attributes (repeatable).")
    ] = None,
    since: SinceOption = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
    traces: TracesOption = None,
) -> None:
    """Find spans: by name, status, trace, attribute values and time (DuckDB over the log)."""
    from observe.dashboard.store import TraceStore
    from observe.dashboard.store import attr as attr_sql

    clauses: list[str] = ["start_ns >= ?"]
    params: list[Any] = [since_ns(since)]
    if name:
        clauses.append("name LIKE ?" if name.endswith("*") else "name = ?")
        params.append(name[:-1] + "%" if name.endswith("*") else name)
    if status:
        clauses.append("status = ?")
        params.append(status.upper())
    if trace:
        clauses.append("trace_id LIKE ?")
        params.append(trace + "%")
    for pair in attr or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.replace(".", "").replace("_", "").isalnum():
            err.print(f"--attr {pair!r}: expected key=value (for example app.intent=question)")
            raise typer.Exit(2)
        clauses.append(f"{attr_sql(key)} = ?")
        params.append(value)

    def run() -> list[dict[str, Any]]:
        store = TraceStore(live_path(traces))
        return store.query(
            "SELECT trace_id, span_id, parent_span_id, name, status, duration_ms, start_ns, "
            f"attributes::VARCHAR AS attributes FROM spans WHERE {' AND '.join(clauses)} "
            f"ORDER BY start_ns DESC LIMIT {limit}",
            params,
        )

    rows = run_command(run)
    for row in rows:
        row["attributes"] = json.loads(row["attributes"] or "{}")
    if as_json:
        print_json(rows)
        return
    for row in rows:
        out.print(line_of(row), highlight=False, markup=False, soft_wrap=True)
    if not rows:
        err.print("no span matches")


@traces_app.command("export")
def export_traces(
    otlp: Annotated[str, typer.Option("--otlp", help="Collector URL (OTLP/HTTP protobuf).")],
    header: Annotated[
        list[str] | None,
        typer.Option("--header", help="Name=value sent with each batch (e.g. Authorization)."),
    ] = None,
    since: SinceOption = None,
    traces: TracesOption = None,
) -> None:
    """Send the trace log to Langfuse, Phoenix or any OpenTelemetry collector as OTLP."""
    from rich.progress import Progress

    from observe.otlp import EXPORTED, ExportError, export
    from observe.tracefile import trace_records

    headers = {}
    for pair in header or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or any(c in pair for c in "\r\n"):
            err.print(f"--header {pair!r}: expected Name=value on one line")
            raise typer.Exit(2)
        headers[key.strip()] = value.strip()
    path = live_path(traces)
    start = since_ns(since)
    total = sum(1 for r in trace_records(path, start) if r.get("record") in EXPORTED)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("exporting", total=total)
        try:
            sent = export(
                (r for r in trace_records(path, start)),
                otlp,
                headers=headers,
                progress=lambda n: progress.advance(task, n),
            )
        except ExportError as exc:
            err.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from None
    out.print(f"{sent:,} records exported to {otlp}")


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` and ``traces`` to the ``assistant`` command."""
    app.command("dashboard")(dashboard)
    app.add_typer(traces_app, name="traces")
