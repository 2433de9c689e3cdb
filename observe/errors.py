"""The project's error hierarchy.

Every error a person can cause or fix (bad input, missing file, taken port, dead service) is an
``AssistantError`` carrying a one-line ``message`` and, where one exists, a ``hint`` that says
how to fix it. The CLI prints ``message`` (and ``hint``) and exits non-zero; it never shows a
traceback for these. It lives in the bottom layer so every package can raise it without
import cycles.
"""

from __future__ import annotations


class AssistantError(Exception):
    """A failure a person can act on: ``message`` says what happened, ``hint`` how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(AssistantError):
    """Settings are missing or invalid; raised at startup."""


class ServiceError(AssistantError):
    """A backing service (Redis, Chroma, the model) cannot be started or reached."""


class IngestError(AssistantError):
    """A document path cannot be read or ingested."""


class RetrievalError(AssistantError):
    """The knowledge index cannot be searched."""


class InputRejected(AssistantError):
    """A user's message cannot be processed (empty, too large, not text)."""


class ModelCallError(AssistantError):
    """The chat model failed to answer (before any of its answer reached the user; retryable)."""


class ModelStreamBroken(ModelCallError):
    """The chat model failed after part of its answer had streamed; retrying would repeat it."""


class ToolError(AssistantError):
    """A tool failed; ``message`` is safe to show the user."""
