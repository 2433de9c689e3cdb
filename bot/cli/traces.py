"""``assistant dashboard`` and ``assistant traces tail/search/export``: the trace log for people.

The dashboard listens on 127.0.0.1 without a token; on any other interface it needs one
(``--token``, ``ASSISTANT_DASHBOARD_TOKEN``, or a fresh random one printed at start).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from bot.cli.support import err, out, run_command

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
        typer.Option(envvar="ASSISTANT_DASHBOARD_TOKEN", help="Required off loopback."),
    ] = None,
    traces: TracesOption = None,
) -> None:
    """Serve the ops dashboard over the trace log (DuckDB, refreshed as the log grows)."""
    from aiohttp import web

    from observe.dashboard.queries import Panels
    from observe.dashboard.server import dashboard_app, is_loopback
    from observe.dashboard.store import TraceStore

    path = live_path(traces)
    if not is_loopback(host) and not token:
        token = secrets.token_urlsafe(24)
        err.print(f"[yellow]{host} is not loopback: a token is required; generated one.[/]")

    def build() -> web.Application:
        store = TraceStore(path)
        with out.status(f"Loading {path.parent}…"):
            store.refresh(force=True)
        out.print(
            f"{store.loaded_records:,} records loaded"
            + (f" ({store.skipped_lines:,} unreadable lines skipped)" if store.skipped_lines else "")
        )
        return dashboard_app(Panels(store), token=None if is_loopback(host) else token)

    app = run_command(build)
    shown = "localhost" if is_loopback(host) else host
    query = "" if is_loopback(host) else f"?token={token}"
    out.print(f"Dashboard on http://{shown}:{port}/{query} — Ctrl-C stops it.")
    web.run_app(app, host=host, port=port, print=None)


def register(app: typer.Typer) -> None:
    """Add ``dashboard`` and ``traces`` to the ``assistant`` command."""
    app.command("dashboard")(dashboard)
    app.add_typer(traces_app, name="traces")
