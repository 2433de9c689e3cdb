"""The input guard: decide whether a user's message may enter the graph, and redact it.

``check_input`` never raises for bad input; it returns an :class:`InputVerdict`. Cheap structural
checks (empty, unreadable bytes) run first in plain Python; length and personal data go through
guardrails ``AsyncGuard``s built once per ``max_chars`` and reused by every call. A message already
over the limit goes through a length-only guard, so a huge message is never scanned for PII.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from guardrails import AsyncGuard, OnFailAction

from guards.validators import MaxLength, RedactPII, configure_offline, redacted_kinds

EMPTY_REASON = "empty message"
UNREADABLE_REASON = "message is not readable text"
MAX_UNREADABLE_SHARE = 0.05
"""Above this share of control / replacement / surrogate characters a message is garbage."""
READABILITY_SAMPLE = 65_536
"""How many leading characters the share is measured on (bounds the cost on huge input)."""

# C0 controls except tab, newline and carriage return; DEL and C1 controls; U+FFFD (what a failed
# decode leaves); lone surrogates. NUL anywhere is enough to reject.
_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class InputVerdict:
    """The input guard's decision.

    When ``allowed``, ``text`` is the stripped message with personal data replaced by ``<KIND>``
    placeholders and ``pii_kinds`` names the kinds replaced. When refused, ``text`` is empty (a
    refused message is never passed on, so nothing unredacted leaks) and ``reason`` says why.
    """

    allowed: bool
    text: str
    reason: str | None = None
    pii_kinds: tuple[str, ...] = ()


def is_unreadable(text: str) -> bool:
    """True when ``text`` looks like decoded binary rather than something a person wrote."""
    if "\x00" in text:
        return True
    sample = text[:READABILITY_SAMPLE]
    bad = len(_UNREADABLE.findall(sample))
    return bad > 0 and bad / len(sample) > MAX_UNREADABLE_SHARE


@lru_cache(maxsize=8)
def input_guard(max_chars: int) -> AsyncGuard:
    """The shared input ``AsyncGuard`` for ``max_chars``: length check, then PII redaction."""
    guard = AsyncGuard(name=f"assistant-input-{max_chars}", history_max_length=1).use(
        MaxLength(max_chars=max_chars, on_fail=OnFailAction.NOOP),
        RedactPII(on_fail=OnFailAction.FIX),
    )
    return configure_offline(guard)


@lru_cache(maxsize=8)
def length_guard(max_chars: int) -> AsyncGuard:
    """The shared length-only ``AsyncGuard`` for ``max_chars`` (for messages over the limit)."""
    guard = AsyncGuard(name=f"assistant-input-length-{max_chars}", history_max_length=1).use(
        MaxLength(max_chars=max_chars, on_fail=OnFailAction.NOOP)
    )
    return configure_offline(guard)


def _refused(reason: str) -> InputVerdict:
    return InputVerdict(allowed=False, text="", reason=reason)


async def check_input(text: str, *, max_chars: int) -> InputVerdict:
    """Check one user message: refuse empty, unreadable or over-long text; redact personal data."""
    stripped = text.strip()
    if not stripped:
        return _refused(EMPTY_REASON)
    if is_unreadable(stripped):
        return _refused(UNREADABLE_REASON)

    too_long = len(stripped) > max_chars
    guard = length_guard(max_chars) if too_long else input_guard(max_chars)
    outcome = await guard.validate(stripped)
    if not outcome.validation_passed:
        reasons = [
            s.failure_reason
            for s in outcome.validation_summaries or []
            if s.validator_name == MaxLength.__name__ and s.failure_reason
        ]
        return _refused("; ".join(reasons) or outcome.error or "message failed the input guard")

    checked = outcome.validated_output
    if not isinstance(checked, str):  # guardrails gives None only when validation did not pass
        raise RuntimeError(f"input guard returned {type(checked).__name__}, not text")
    return InputVerdict(allowed=True, text=checked, pii_kinds=redacted_kinds(stripped, checked))
