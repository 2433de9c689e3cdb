"""What every ``assistant`` command shares: consoles, options, error handling, JSON output."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

T = TypeVar("T")
err = Console(stderr=True)
out = Console()

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]
TraceOption = Annotated[
    bool, typer.Option("--trace", help="Also print each finished span on stderr.")
]
ConversationOption = Annotated[
    str, typer.Option("--conversation", "-c", help="Conversation id (memory is kept per id).")
]


def _error_log_path() -> Path:
    try:
        from graph.settings import load_settings

        return load_settings().logs_dir / "errors.log"
    except Exception:  # settings are broken: that error was already reported
        return Path(".assistant") / "logs" / "errors.log"


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM / SIGHUP end the command like Ctrl-C does, so clean-up code runs."""
    raise SystemExit(128 + signum)


def run_command(body: Callable[[], T]) -> T:
    """Run a command body; known errors become one line and exit 1, never a traceback."""
    from guards.redaction import REDACTOR, redact_secrets
    from observe.errors import AssistantError
    from observe.logging import configure_logging

    configure_logging(redactor=REDACTOR)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _exit_on_signal)
    try:
        return body()
    except AssistantError as exc:
        hint = f" (hint: {exc.hint})" if exc.hint else ""
        line = redact_secrets(f"{exc.message}{hint}")
        err.print(f"[bold red]error:[/] {escape(line)}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        log_path = _error_log_path()
        try:
            log_path.parent.mkdir(parents=True, exist_ok=True)
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(redact_secrets(traceback.format_exc()) + "\n")
            where = f"details in {log_path}"
        except OSError:
            where = "no error log could be written"
        summary = redact_secrets(f"unexpected {type(exc).__name__}: {exc}")
        err.print(
            f"[bold red]error:[/] {escape(summary)} ({where})",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(1) from None


def run_async(body: Callable[[], Awaitable[T]]) -> T:
    """``run_command`` for a coroutine function."""
    return run_command(lambda: asyncio.run(body()))  # type: ignore[arg-type]


def read_question(question: str) -> str:
    """The question argument, or standard input when it is ``-`` (bytes decoded leniently)."""
    if question == "-":
        return sys.stdin.buffer.read().decode("utf-8", errors="replace")
    # Arguments that are not valid UTF-8 arrive with surrogate escapes; make them visible.
    return question.encode("utf-8", errors="surrogateescape").decode("utf-8", errors="replace")


def print_json(data: Any) -> None:
    """JSON on stdout, one document."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
