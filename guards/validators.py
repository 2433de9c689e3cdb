"""Our own guardrails-ai validators (the Hub is closed; nothing here downloads anything).

Three validators are registered on import:

* ``assistant/max-length`` (:class:`MaxLength`) fails when a text is longer than ``max_chars``;
  it has no fix: the message is rejected.
* ``assistant/redact-pii`` (:class:`RedactPII`) fails when a text holds personal data or a
  secret (card, IBAN, token, key, password…); its ``fix_value`` is the text with ``<KIND>``
  placeholders (``guards.redaction``).
* ``assistant/cited-sources`` (:class:`CitedSources`) checks ``[n]`` citation markers against the
  number of retrieved sources (``metadata["source_count"]``); its fix drops markers that point to
  no source and, when citations are required, appends ``Sources: [1] [2] …``.

Each failure's ``error_message`` is a ``"; "``-joined list of short notes and never quotes the
personal data or secrets it found (only their kinds).
"""

from __future__ import annotations

import re
from typing import Any

from guardrails import settings as guardrails_settings
from guardrails.async_guard import AsyncGuard
from guardrails.utils.hub_telemetry_utils import HubTelemetry
from guardrails.validator_base import (
    ErrorSpan,
    FailResult,
    PassResult,
    ValidationResult,
    Validator,
    register_validator,
)

from guards.redaction import KINDS, redact

PII_KINDS: tuple[str, ...] = KINDS
"""Every kind ``redact_pii`` can report (personal data, then secrets), in report order."""

MAX_CITED_BY_FIX = 3
"""How many sources the missing-citation fix cites (``1..min(source_count, 3)``)."""

NOTE_SEPARATOR = "; "
"""Joins the notes of one failure in ``FailResult.error_message``."""

# A citation marker: ``[3]`` or ``[1, 2]``; at most three digits so "[2024]" is not a citation,
# and not followed by "(" so a Markdown link text "[1](https://…)" is not one either.
_MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\](?!\()")
# Fenced code blocks (an unclosed fence runs to the end) and inline code: `argv[1]` is not a
# citation.
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)


def configure_offline(guard: AsyncGuard) -> AsyncGuard:
    """Switch off everything in guardrails that would send data out or copy raw text; return it.

    * ``configure(allow_metrics_collection=False)``: guardrails-ai 0.11 exports usage spans to a
      remote OTLP endpoint unless metrics are off, and each Guard re-reads ``~/.guardrailsrc``.
    * That switch lives on a process-wide ``HubTelemetry`` singleton which any Guard built later
      without it turns back on (seen: "Failed to export spans" retries). Dropping the singleton's
      tracer (every hub span helper checks it for None) and shutting its exporter down makes the
      opt-out hold for the whole process.
    * ``settings.disable_tracing``: guardrails' own OpenTelemetry spans carry the raw, unredacted
      text as attributes; our traces are ``observe``'s, so guardrails' are off.
    """
    guardrails_settings.disable_tracing = True
    guard.configure(allow_metrics_collection=False)
    hub = HubTelemetry()
    if hub._tracer is not None:
        hub._enabled = False
        hub._tracer = None
        if hub._tracer_provider is not None:
            hub._tracer_provider.shutdown()
    return guard


class _InlineValidator(Validator):
    """A validator cheap enough to run on the event loop.

    ``Validator.async_validate`` hands every call to a thread pool; for a few regular expressions
    that hop costs more than the work, so these validators run inline.
    """

    async def async_validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        return self.validate(value, metadata)


@register_validator(name="assistant/max-length", data_type="string")
class MaxLength(_InlineValidator):
    """Fail (without a fix) when the text has more than ``max_chars`` characters."""

    def __init__(self, max_chars: int, on_fail: Any = None, **kwargs: Any) -> None:
        if max_chars < 1:
            raise ValueError(f"max_chars must be at least 1, got {max_chars!r}")
        super().__init__(on_fail=on_fail, max_chars=max_chars, **kwargs)
        self.max_chars = max_chars

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        size = len(value)
        if size <= self.max_chars:
            return PassResult()
        return FailResult(
            error_message=(
                f"message is {size:,} characters long, over the {self.max_chars:,}-character limit"
            )
        )


def redacted_kinds(before: str, after: str) -> tuple[str, ...]:
    """The PII kinds whose ``<KIND>`` placeholder was added going from ``before`` to ``after``."""
    return tuple(k for k in PII_KINDS if after.count(f"<{k}>") > before.count(f"<{k}>"))


@register_validator(name="assistant/redact-pii", data_type="string")
class RedactPII(_InlineValidator):
    """Fail when the text holds personal data or secrets; ``fix_value`` is the redacted text."""

    def __init__(self, on_fail: Any = None, **kwargs: Any) -> None:
        super().__init__(on_fail=on_fail, **kwargs)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        redaction = redact(value)
        if not redaction.spans:
            return PassResult()
        return FailResult(
            error_message=f"personal data redacted ({', '.join(redaction.kinds)})",
            fix_value=redaction.text,
        )


def find_markers(text: str) -> list[tuple[int, int, list[int]]]:
    """Every citation marker outside code, as ``(start, end, cited numbers)``, in text order."""
    code = [m.span() for m in _CODE.finditer(text)] if "`" in text else []
    markers: list[tuple[int, int, list[int]]] = []
    for m in _MARKER.finditer(text):
        if any(start <= m.start() < end for start, end in code):
            continue
        numbers = [int(n) for n in m.group(1).split(",")]
        markers.append((m.start(), m.end(), numbers))
    return markers


def _drop_invalid(text: str, source_count: int) -> tuple[str, list[int], list[ErrorSpan]]:
    """Remove cited numbers outside ``1..source_count``; return the text, them, and their spans."""
    pieces: list[str] = []
    removed: list[int] = []
    spans: list[ErrorSpan] = []
    cursor = 0
    for start, end, numbers in find_markers(text):
        valid = [n for n in numbers if 1 <= n <= source_count]
        if len(valid) == len(numbers):
            continue
        bad = [n for n in numbers if n not in valid]
        removed.extend(bad)
        spans.append(ErrorSpan(start=start, end=end, reason=f"no source {bad}"))
        before = text[cursor:start]
        if valid:
            pieces.append(before + "[" + ", ".join(str(n) for n in valid) + "]")
        else:  # drop the whole marker and the blank that separated it from the sentence
            pieces.append(before[:-1] if before.endswith((" ", "\t")) else before)
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces), removed, spans


def _valid_numbers(text: str, source_count: int) -> list[int]:
    return [n for _, _, ns in find_markers(text) for n in ns if 1 <= n <= source_count]


@register_validator(name="assistant/cited-sources", data_type="string")
class CitedSources(_InlineValidator):
    """Check an answer's ``[n]`` markers against the retrieved sources, numbered ``1..N``.

    Metadata: ``source_count`` (N, required) and ``require_citations`` (default True).
    Fails when a marker cites a number outside ``1..N`` (fix: drop it) or when citations are
    required, N > 0 and no valid marker is left (fix: append ``Sources: [1] … [min(N, 3)]``).
    """

    required_metadata_keys = ["source_count"]

    def __init__(self, on_fail: Any = None, **kwargs: Any) -> None:
        super().__init__(on_fail=on_fail, **kwargs)

    def _validate(self, value: Any, metadata: dict[str, Any]) -> ValidationResult:
        source_count = metadata["source_count"]
        if not isinstance(source_count, int) or source_count < 0:
            raise ValueError(f"source_count must be an int >= 0, got {source_count!r}")
        require = bool(metadata.get("require_citations", True))

        text, removed, spans = _drop_invalid(value, source_count)
        notes: list[str] = []
        if removed:
            have = f"only {source_count} were retrieved" if source_count else "none were retrieved"
            cited = ", ".join(f"[{n}]" for n in sorted(set(removed)))
            notes.append(f"removed citations to missing sources {cited} ({have})")
        if require and source_count > 0 and not _valid_numbers(text, source_count):
            line = "Sources: " + " ".join(
                f"[{n}]" for n in range(1, min(source_count, MAX_CITED_BY_FIX) + 1)
            )
            text = f"{text.rstrip()}\n\n{line}" if text.strip() else line
            notes.append(f"answer cited no source: appended '{line}'")
            spans.append(ErrorSpan(start=0, end=len(value), reason="no citation"))
        if not notes:
            return PassResult()
        return FailResult(
            error_message=NOTE_SEPARATOR.join(notes), fix_value=text, error_spans=spans
        )
