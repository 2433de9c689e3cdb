"""``assistant serve``, ``redis``, ``chroma``, ``doctor`` and ``stats``: running and checking the
service."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from bot.cli.support import JsonOption, out, print_json, run_command


def run_redis_foreground() -> None:
    """Serve the embedded Redis until Ctrl-C / SIGTERM."""
    from graph.services.embedded_redis import EmbeddedRedis
    from graph.settings import load_settings

    settings = load_settings()
    server = EmbeddedRedis(settings.redis_dir, settings.redis_port)
    out.print(f"Embedded Redis on {server.url} (data in {settings.redis_dir}); Ctrl-C stops it.")
    server.run_foreground()


def serve(
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port.")] = 3000,
    host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0 for all).")] = (
        "127.0.0.1"
    ),
) -> None:
    """Run the Slack bot: Socket Mode when an app token is set, else HTTP (/slack/events)."""
    import logging

    from bot.cli.serve import serve as serve_slack
    from guards.redaction import REDACTOR
    from observe.logging import configure_logging

    def body() -> None:
        configure_logging(redactor=REDACTOR, level=logging.INFO)
        asyncio.run(serve_slack(host=host, port=port))

    run_command(body)


def redis() -> None:
    """Run the embedded Redis in the foreground for other processes (Ctrl-C stops it)."""
    run_command(run_redis_foreground)


def chroma(
    port: Annotated[int, typer.Option(min=1, max=65535, help="HTTP port.")] = 8000,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
) -> None:
    """Run a Chroma server on the data dir's chroma-server/ for several processes to share
    (point them at it with ASSISTANT_CHROMA_URL); Ctrl-C stops it."""
    import signal
    import time

    from graph.settings import load_settings
    from knowledge.chroma_server import ChromaServer

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    def body() -> None:
        signal.signal(signal.SIGTERM, interrupt)  # a service manager's stop stops the server too
        settings = load_settings()
        server = ChromaServer(settings.data_dir / "chroma-server", port, host).start()
        out.print(f"Chroma server on {server.url} (data in {server.path}); Ctrl-C stops it.")
        try:
            while server.alive():
                time.sleep(1)
        except KeyboardInterrupt:
            pass
        finally:
            server.stop()

    run_command(body)


def doctor(as_json: JsonOption = False) -> None:
    """Check every part (Redis, Chroma, embeddings, model, Slack) and say how to fix failures."""
    from bot.cli.doctor import render, run_checks

    checks = run_command(lambda: asyncio.run(run_checks()))
    if as_json:
        print_json([c.to_dict() for c in checks])
    else:
        render(checks, out)
    if any(c.required and not c.ok for c in checks):
        raise typer.Exit(1)


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


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``redis``, ``chroma``, ``doctor`` and ``stats`` to ``assistant``."""
    app.command("serve")(serve)
    app.command("redis")(redis)
    app.command("chroma")(chroma)
    app.command("doctor")(doctor)
    app.command("stats")(stats)
