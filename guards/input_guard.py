"""The input guard: decide whether a user's message may enter the graph, and redact it.

``check_input`` never raises for bad input; it returns an :class:`InputVerdict`. Cheap structural
checks (empty, unreadable bytes) run first in plain Python; length and personal data go through a
guardrails ``AsyncGuard`` built once per ``max_chars`` and reused by every call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from guardrails import AsyncGuard, OnFailAction

from observe.redaction import redact_pii

from guards.validators import MaxLength, RedactPII, configure_offline, redacted_kinds

EMPTY_REASON = "empty message"
UNREADABLE_REASON = "message is not readable text"
MAX_UNREADABLE_SHARE = 0.05
"""Above this share of control / replacement / surrogate characters a message is garbage."""

# C0 controls except tab, newline and carriage return; DEL and C1 controls; U+FFFD (what a failed
# decode leaves); lone surrogates. NUL alone is enough to reject.
_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class InputVerdict:
    """The input guard's decision.

    ``text`` is the stripped message with personal data replaced by ``<KIND>`` placeholders
    (also when refused, so it is safe to log); the graph uses it only when ``allowed``.
    ``reason`` says why a message was refused; ``pii_kinds`` names the kinds that were redacted.
    """

    allowed: bool
    text: str
    reason: str | None = None
    pii_kinds: tuple[str, ...] = ()


def is_unreadable(text: str) -> bool:
    """True when ``text`` looks like decoded binary rather than something a person wrote."""
    if "\x00" in text:
        return True
    bad = len(_UNREADABLE.findall(text))
    return bad > 0 and bad / len(text) > MAX_UNREADABLE_SHARE


@lru_cache(maxsize=8)
def input_guard(max_chars: int) -> AsyncGuard:
    """The shared input ``AsyncGuard`` for ``max_chars`` (built on first use, then cached)."""
    guard = AsyncGuard(name=f"assistant-input-{max_chars}", history_max_length=1).use(
        MaxLength(max_chars=max_chars, on_fail=OnFailAction.NOOP),
        RedactPII(on_fail=OnFailAction.FIX),
    )
    return configure_offline(guard)


async def check_input(text: str, *, max_chars: int) -> InputVerdict:
    """Check one user message: refuse empty, unreadable or over-long text; redact personal data."""
    stripped = text.strip()
    if not stripped:
        return InputVerdict(allowed=False, text="", reason=EMPTY_REASON)
    if is_unreadable(stripped):
        return InputVerdict(allowed=False, text=redact_pii(stripped), reason=UNREADABLE_REASON)

    outcome = await input_guard(max_chars).validate(stripped)
    if not outcome.validation_passed:
        reasons = [
            s.failure_reason
            for s in outcome.validation_summaries or []
            if s.validator_name == MaxLength.__name__ and s.failure_reason
        ]
        reason = "; ".join(reasons) or outcome.error or "message failed the input guard"
        return InputVerdict(allowed=False, text=redact_pii(stripped), reason=reason)

    checked = outcome.validated_output
    if not isinstance(checked, str):  # guardrails returns None only on errors handled above
        raise RuntimeError(f"input guard returned {type(checked).__name__}, not text")
    return InputVerdict(allowed=True, text=checked, pii_kinds=redacted_kinds(stripped, checked))
