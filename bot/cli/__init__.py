"""The ``assistant`` command line, one module per command group.

``chat`` (ask, chat), ``knowledge`` (ingest, search), ``ops`` (serve, redis, doctor, stats) and
``guard`` (guard check) are registered here; other packages add groups through the
``assistant.commands`` entry point (the measurement package's ``bench``, ``train`` and ``data``),
so this package never imports them. Every command turns an ``AssistantError`` into one line on
stderr (``error: … (hint: …)``) and exit code 1; an unexpected failure prints one line and writes
the traceback to the data dir's ``logs/errors.log`` (``bot.cli.support``). Heavy imports happen
inside commands so ``--help`` stays instant.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import typer

from bot.cli import chat, guard, knowledge, ops, traces
from bot.cli.support import err

PLUGIN_GROUP = "assistant.commands"

app = typer.Typer(
    help="A Slack assistant teams can trust and ops can see into (terminal edition).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
for group in (chat, knowledge, ops, guard, traces):
    group.register(app)


def load_plugins(target: typer.Typer) -> None:
    """Let each ``assistant.commands`` entry point add its commands; one that fails to load is
    reported on stderr and skipped (the other commands still work)."""
    for plugin in entry_points(group=PLUGIN_GROUP):
        try:
            plugin.load()(target)
        except Exception as exc:  # a broken plugin must not break the whole command line
            err.print(
                f"[yellow]warning:[/] commands {plugin.name!r} unavailable: "
                f"{type(exc).__name__}: {exc}",
                highlight=False,
            )


def main() -> None:
    """Console-script entry point."""
    load_plugins(app)
    app()
