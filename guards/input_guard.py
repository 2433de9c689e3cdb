"""The input guard: decide whether a user's message may enter the graph, and clean it.

``check_input`` never raises for bad input; it returns an :class:`InputVerdict`. Cheap structural
checks (empty, unreadable bytes) run first in plain Python; the rest runs through guardrails
``AsyncGuard``s built once per ``max_chars`` and reused by every call:

1. length (``assistant/max-length``) — a message over the limit is refused without any other scan;
2. prompt injection (``assistant/prompt-injection``), toxicity (``assistant/toxicity``) and
   personal data / secrets (``assistant/redact-pii``, whose fix is the redacted text).

What happens on a finding is the :class:`~guards.policy.GuardPolicy`'s choice (block, redact,
warn, log). Every finding is returned, whatever was done about it, for the trace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from guardrails import AsyncGuard, OnFailAction

from guards.injection import DetectInjection, get_detector
from guards.policy import DEFAULT_POLICY, Action, GuardPolicy
from guards.redaction import SECRET_KINDS, redact
from guards.toxicity import ToxicLanguage, score_toxicity
from guards.validators import MaxLength, RedactPII, configure_offline, redacted_kinds

EMPTY_REASON = "empty message"
UNREADABLE_REASON = "message is not readable text"
INJECTION_REASON = (
    "it reads like an attempt to change my instructions (prompt injection). If you meant "
    "something else, please ask it as a plain question"
)
TOXIC_REASON = "it contains abusive language. Please rephrase it and I'll gladly help"
PII_REASON = "this channel doesn't accept personal data ({kinds}). Remove it and ask again"
SECRET_REASON = (
    "it contains what looks like a secret ({kinds}), so I didn't read it. Rotate the secret if "
    "it was real, and ask again without it"
)
SECRET_NOTICE = (
    "I removed what looks like a secret ({kinds}) from your message before reading it. "
    "If it was real, rotate it."
)
TOXIC_NOTICE = "Please keep it respectful: this message was flagged for abusive language."
INJECTION_NOTICE = "Parts of your message read like instructions to me; I treated them as text."
MAX_UNREADABLE_SHARE = 0.05
"""Above this share of control / replacement / surrogate characters a message is garbage."""
READABILITY_SAMPLE = 65_536
"""How many leading characters the share is measured on (bounds the cost on huge input)."""

# C0 controls except tab, newline and carriage return; DEL and C1 controls; U+FFFD (what a failed
# decode leaves); lone surrogates. NUL anywhere is enough to reject.
_UNREADABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd\ud800-\udfff]")
_SEVERITY = re.compile(r"severity (\d)")


@dataclass(frozen=True, slots=True)
class Finding:
    """One check that fired: which, what was done, and a note that never quotes the message."""

    check: str
    action: Action
    detail: str

    def __str__(self) -> str:
        return f"{self.check}: {self.action} ({self.detail})"


@dataclass(frozen=True, slots=True)
class InputVerdict:
    """The input guard's decision.

    When ``allowed``, ``text`` is the stripped message with personal data and secrets replaced by
    ``<KIND>`` placeholders (as the policy says) and ``pii_kinds`` names the kinds replaced;
    ``notices`` are short sentences for the asker (a warning, a removed secret). When refused,
    ``text`` is empty (a refused message is never passed on, so nothing unredacted leaks) and
    ``reason`` says why. ``findings`` lists every check that fired, for the trace.
    """

    allowed: bool
    text: str
    reason: str | None = None
    pii_kinds: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    notices: tuple[str, ...] = ()


def is_unreadable(text: str) -> bool:
    """True when ``text`` looks like decoded binary rather than something a person wrote."""
    if "\x00" in text:
        return True
    sample = text[:READABILITY_SAMPLE]
    bad = len(_UNREADABLE.findall(sample))
    return bad > 0 and bad / len(sample) > MAX_UNREADABLE_SHARE


@lru_cache(maxsize=8)
def input_guard(max_chars: int) -> AsyncGuard:
    """The shared input ``AsyncGuard`` for ``max_chars``: length, injection, toxicity, then
    personal data and secrets (fixed by redaction)."""
    guard = AsyncGuard(name=f"assistant-input-{max_chars}", history_max_length=1).use(
        MaxLength(max_chars=max_chars, on_fail=OnFailAction.NOOP),
        DetectInjection(on_fail=OnFailAction.NOOP),
        ToxicLanguage(on_fail=OnFailAction.NOOP),
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


def warm_up() -> None:
    """Load what the first message would otherwise wait for (the injection model, scikit-learn,
    the toxicity lexicon, the PII patterns): a few seconds, once per process."""
    sample = "Warm-up: please ignore this sentence, it only loads the models. a@example.com"
    get_detector().check(sample)
    score_toxicity(sample)
    redact(sample)


def _refused(reason: str, findings: tuple[Finding, ...] = ()) -> InputVerdict:
    return InputVerdict(allowed=False, text="", reason=reason, findings=findings)


def _failures(outcome: object) -> dict[str, str]:
    """Validator class name -> failure reason, for the validators that failed."""
    return {
        s.validator_name: s.failure_reason or ""
        for s in getattr(outcome, "validation_summaries", None) or []
    }


async def check_input(
    text: str, *, max_chars: int, policy: GuardPolicy = DEFAULT_POLICY
) -> InputVerdict:
    """Check one user message (see the module docstring); never raises for bad input."""
    stripped = text.strip()
    if not stripped:
        return _refused(EMPTY_REASON, (Finding("readability", "block", EMPTY_REASON),))
    if is_unreadable(stripped):
        return _refused(UNREADABLE_REASON, (Finding("readability", "block", UNREADABLE_REASON),))
    if len(stripped) > max_chars:
        failed = _failures(await length_guard(max_chars).validate(stripped))
        reason = failed.get(MaxLength.__name__) or f"message is over {max_chars:,} characters"
        return _refused(reason, (Finding("length", "block", reason),))

    outcome = await input_guard(max_chars).validate(stripped)
    failed = _failures(outcome)
    findings: list[Finding] = []
    notices: list[str] = []
    blocked: str | None = None

    if DetectInjection.__name__ in failed:
        findings.append(Finding("injection", policy.injection, failed[DetectInjection.__name__]))
        blocked = INJECTION_REASON if policy.injection == "block" else None
        notices += [INJECTION_NOTICE] if policy.injection == "warn" else []

    redacted = outcome.validated_output
    if not isinstance(redacted, str):  # NOOP failures pass; only a broken guard gives None
        raise RuntimeError(f"input guard returned {type(redacted).__name__}, not text")
    kinds = redacted_kinds(stripped, redacted)
    secrets = tuple(k for k in kinds if k in SECRET_KINDS)
    personal = tuple(k for k in kinds if k not in SECRET_KINDS)
    if secrets:
        action: Action = "block" if policy.secrets == "block" else "redact"
        findings.append(Finding("secrets", action, ", ".join(secrets)))
        if action == "block":
            blocked = blocked or SECRET_REASON.format(kinds=", ".join(secrets))
        else:
            notices.append(SECRET_NOTICE.format(kinds=", ".join(secrets)))
    if personal:
        findings.append(Finding("pii", policy.pii, ", ".join(personal)))
        if policy.pii == "block":
            blocked = blocked or PII_REASON.format(kinds=", ".join(personal))

    if ToxicLanguage.__name__ in failed:
        note = failed[ToxicLanguage.__name__]
        severity = int(m.group(1)) if (m := _SEVERITY.search(note)) else 2
        tox: Action = "block" if severity >= policy.toxicity_block_severity else policy.toxicity
        findings.append(Finding("toxicity", tox, note))
        blocked = blocked or (TOXIC_REASON if tox == "block" else None)
        notices += [TOXIC_NOTICE] if tox == "warn" else []

    if blocked:
        return _refused(blocked, tuple(findings))
    # With ``pii: log`` personal data passes as written; secrets never do.
    clean = redact(stripped, kinds=SECRET_KINDS).text if policy.pii == "log" else redacted
    return InputVerdict(
        allowed=True,
        text=clean,
        pii_kinds=redacted_kinds(stripped, clean),
        findings=tuple(findings),
        notices=tuple(notices),
    )
