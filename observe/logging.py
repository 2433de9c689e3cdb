"""Application logging: structlog, pretty on a terminal, JSON lines otherwise.

``configure_logging`` also routes the standard library's loggers (chromadb, httpx, slack_bolt, …)
through the same processors, quiets the chatty ones, and redacts secrets and personal data from
every line: the event, every field, and exception messages and tracebacks, which exist only once
the exception is rendered (so the processor runs again after that).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog
import structlog.tracebacks

from observe.tracing import EventDict, Redactor, map_strings

NOISY_LOGGERS = (
    "chromadb",
    "httpx",
    "httpcore",
    "urllib3",
    "sentence_transformers",
    "transformers",
    "guardrails",
    "redisvl",
    "langgraph.checkpoint.redis",
    "opentelemetry",
)

NO_LOCALS_TRACEBACKS = structlog.processors.ExceptionRenderer(
    structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
)
"""Tracebacks as data without local variables: locals hold message text and tokens."""


def sensitive_processor(redactor: Redactor) -> structlog.types.Processor:
    """Replace secrets and personal data in every string of a log record; ``exc_info`` is left
    for the renderer (run this again after it)."""

    def redact(text: str) -> str:
        # Secrets first: PII redaction could break a token's shape and hide it from the scrubber.
        return redactor.personal(redactor.secrets(text))

    def process(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
        return {k: v if k == "exc_info" else map_strings(v, redact) for k, v in event_dict.items()}

    return process


def configure_logging(
    *, redactor: Redactor, json: bool | None = None, level: int = logging.WARNING
) -> None:
    """Configure structlog and stdlib logging once per process (stderr only); ``redactor``
    (``guards.redaction.REDACTOR``) scrubs every line."""
    scrub_sensitive = sensitive_processor(redactor)
    as_json = (not sys.stderr.isatty()) if json is None else json
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        scrub_sensitive,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(),
            exception_formatter=structlog.dev.RichTracebackFormatter(show_locals=False),
        )
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            NO_LOCALS_TRACEBACKS if as_json else structlog.processors.format_exc_info,
            scrub_sensitive,  # again: exception messages only exist from here on
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.ERROR))
